import GRPCProtos
import RPCCore

extension RPCError {
    /// INVALID_ARGUMENT with a google.rpc.BadRequest listing each invalid field of the request, by path
    /// ("grants[2].valid_until_unix_ms") and reason in words.
    public static func invalidArgument(
        _ message: String, fieldViolations: [(field: String, description: String)], metadata: Metadata = [:]
    ) -> RPCError {
        var badRequest = Google_Rpc_BadRequest()
        badRequest.fieldViolations = fieldViolations.map { violation in
            var fieldViolation = Google_Rpc_BadRequest.FieldViolation()
            fieldViolation.field = violation.field
            fieldViolation.description = violation.description
            return fieldViolation
        }
        return RPCError(
            code: .invalidArgument, message: message, details: [.badRequest(badRequest)], metadata: metadata)
    }

    /// An error with a google.rpc.ErrorInfo: a stable UPPER_SNAKE_CASE `reason` ("GRANT_EXPIRED") within
    /// `domain` ("ledger.healthledger.example"), with optional structured facts in `errorInfoMetadata`.
    public init(
        code: Code, message: String, errorInfo reason: String, domain: String,
        errorInfoMetadata: [String: String] = [:], metadata: Metadata = [:]
    ) {
        var errorInfo = Google_Rpc_ErrorInfo()
        errorInfo.reason = reason
        errorInfo.domain = domain
        errorInfo.metadata = errorInfoMetadata
        self.init(code: code, message: message, details: [.errorInfo(errorInfo)], metadata: metadata)
    }
}
