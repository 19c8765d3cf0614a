import RPCCore

/// Why a server refuses a request before any handler runs.
public enum RequestRejection: Error, Hashable, Sendable {
    /// Not a gRPC request: answer with this HTTP status (405, 415, 400) and a one-line reason
    /// (`ResponseHeaders.httpError`).
    case httpStatus(Int, String)
    /// A gRPC request the server cannot serve: answer Trailers-Only with this status
    /// (`ResponseHeaders.trailersOnly`, which also lists our grpc-accept-encoding).
    case grpcStatus(RPCError)
}
