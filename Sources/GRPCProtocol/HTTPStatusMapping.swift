import RPCCore

/// The gRPC code a client reports for an HTTP response without grpc-status (doc/http-grpc-status-mapping.md).
///
/// "This table is to be used only for clients that received a response that did not include grpc-status";
/// servers must not use it to choose an HTTP status.
public enum HTTPStatusMapping {
    /// The code for HTTP status `httpStatus`; 200 is UNKNOWN because a real OK always carries grpc-status.
    public static func code(forHTTPStatus httpStatus: Int) -> RPCError.Code {
        switch httpStatus {
        case 400, 431: .internalError
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .unimplemented
        case 429, 502, 503, 504: .unavailable
        default: .unknown
        }
    }
}
