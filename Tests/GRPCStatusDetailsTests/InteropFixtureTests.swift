import Foundation
import GRPCProtos
import GRPCStatusDetails
import RPCCore
import Testing

/// The rich error of Tests/Interop/fixtures/rich_error_invalid_grant.hex, which Python (googleapis-common-protos)
/// writes byte for byte and grpcio-status reads (Tests/Interop/test_status_details.py): we write the same
/// bytes and read Python's.
@Suite("Rich error interop fixture")
struct InteropFixtureTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Interop/fixtures/rich_error_invalid_grant.hex")

    static func fixtureBytes() throws -> [UInt8] {
        let hex = try String(contentsOf: fixture, encoding: .utf8).filter(\.isHexDigit)
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(try #require(UInt8(hex[index..<next], radix: 16)))
            index = next
        }
        return bytes
    }

    static var errorInfo: Google_Rpc_ErrorInfo {
        var info = Google_Rpc_ErrorInfo()
        info.reason = "GRANT_INVALID"
        info.domain = "ledger.healthledger.example"
        info.metadata = ["patientId": "hl1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "violations": "2"]
        return info
    }

    static var error: RPCError {
        let badRequest = RPCError.invalidArgument(
            "the grant request is invalid",
            fieldViolations: [
                (field: "grants[0].grantee", description: "must be a principal id (hl1…, 41 characters)"),
                (field: "valid_until_unix_ms", description: "must be after valid_from_unix_ms"),
            ])
        return RPCError(
            code: .invalidArgument, message: badRequest.message, details: badRequest.details + [.errorInfo(errorInfo)])
    }

    @Test("we write the bytes Python writes")
    func encodesFixture() throws {
        let written = Self.error.metadata[RPCError.statusDetailsMetadataKey]?.binaryValue
        #expect(written == (try Self.fixtureBytes()))
    }

    @Test("we read the bytes Python writes")
    func decodesFixture() throws {
        let received = RPCError(
            code: .invalidArgument, message: "the grant request is invalid",
            metadata: [RPCError.statusDetailsMetadataKey: .binary(try Self.fixtureBytes())])
        #expect(received.details == Self.error.details)
        #expect(received.statusDetails?.message == "the grant request is invalid")
    }
}
