/// Code that runs around every call a server serves: it can read or change the call's context (metadata),
/// reject the call, wrap its message streams and observe how it ended. Authentication, logging and metrics
/// are written as interceptors and passed to `ServiceRouter(services:interceptors:)` (or a server built on it).
///
/// Interceptors run only for methods the router knows, as in grpc-swift 2: a call of an unknown method is
/// answered UNIMPLEMENTED by the router before any interceptor sees it.
public protocol ServerInterceptor: Sendable {
    /// Serves one call by calling `next` — the rest of the chain, ending in the method's handler — with the
    /// requests, response writer and context the rest should see; or rejects the call by throwing an
    /// `RPCError` without calling `next`, so the handler never runs.
    ///
    /// Returning ends the call with OK; throwing ends it with that error, converted as
    /// `RPCError(convertingHandlerError:)` describes. The context's `method` says which method is called.
    func intercept(
        requests: RequestStream<[UInt8]>,
        responses: ResponseWriter<[UInt8]>,
        context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws
}
