import GRPCProtos
import GRPCStatusDetails
import RPCCore
import Testing

/// The shortcuts for the errors services send most.
@Suite("Common rich errors")
struct CommonDetailsTests {
    @Test("invalidArgument lists each bad field in one BadRequest")
    func invalidArgument() {
        let error = RPCError.invalidArgument(
            "the grant request is invalid",
            fieldViolations: [
                (field: "grantee", description: "must be a principal id"),
                (field: "actions", description: "must not be empty"),
            ],
            metadata: ["x-request-id": "r1"])
        #expect(error.code == .invalidArgument)
        #expect(error.message == "the grant request is invalid")
        #expect(error.metadata["x-request-id"] == "r1")
        guard case .badRequest(let badRequest) = error.details.first, error.details.count == 1 else {
            Issue.record("expected one BadRequest, got \(error.details)")
            return
        }
        #expect(badRequest.fieldViolations.map(\.field) == ["grantee", "actions"])
        #expect(badRequest.fieldViolations.map(\.description) == ["must be a principal id", "must not be empty"])
    }

    @Test("errorInfo: reason, domain and facts in one ErrorInfo")
    func errorInfo() {
        let error = RPCError(
            code: .permissionDenied, message: "the grant has expired", errorInfo: "GRANT_EXPIRED",
            domain: "ledger.healthledger.example", errorInfoMetadata: ["grantId": "9f2c"])
        var expected = Google_Rpc_ErrorInfo()
        expected.reason = "GRANT_EXPIRED"
        expected.domain = "ledger.healthledger.example"
        expected.metadata = ["grantId": "9f2c"]
        #expect(error.code == .permissionDenied)
        #expect(error.details == [.errorInfo(expected)])
    }
}
