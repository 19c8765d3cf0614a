import GRPCProtos

/// One typed detail of a rich error: a google.rpc error detail message (google/rpc/error_details.proto), or a
/// google.protobuf.Any of a type this module does not know, kept as it arrived.
///
/// Details travel in a `google.rpc.Status` packed as `Any`s; see `ErrorDetail(unpacking:)` and `packed`.
public enum ErrorDetail: Sendable, Hashable {
    /// Why the call failed, as a machine-readable reason within a domain.
    case errorInfo(Google_Rpc_ErrorInfo)
    /// Which fields of the request were invalid (INVALID_ARGUMENT).
    case badRequest(Google_Rpc_BadRequest)
    /// How long to wait before retrying.
    case retryInfo(Google_Rpc_RetryInfo)
    /// Stack entries and other diagnostics for the service's own developers.
    case debugInfo(Google_Rpc_DebugInfo)
    /// Which quota checks failed (RESOURCE_EXHAUSTED).
    case quotaFailure(Google_Rpc_QuotaFailure)
    /// Which preconditions failed (FAILED_PRECONDITION).
    case preconditionFailure(Google_Rpc_PreconditionFailure)
    /// The request's id in the service's logs, for bug reports.
    case requestInfo(Google_Rpc_RequestInfo)
    /// The resource the call was about.
    case resourceInfo(Google_Rpc_ResourceInfo)
    /// Links to documentation about the error.
    case help(Google_Rpc_Help)
    /// The error message translated for the end user.
    case localizedMessage(Google_Rpc_LocalizedMessage)
    /// A detail of another type, or one whose bytes did not decode as its named type, kept verbatim so it
    /// can be passed on or decoded by code that knows it.
    case unknown(Google_Protobuf_Any)
}
