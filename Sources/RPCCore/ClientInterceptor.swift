/// Code that runs around every call a client makes: it can change the call's options (add metadata such as
/// `authorization: Bearer ...`), fail the call before it starts, wrap its message streams and observe how it
/// ended. Installed with `InterceptedClientTransport`, so generated clients need no change.
public protocol ClientInterceptor: Sendable {
    /// Starts one call of `method` by calling `next` — the rest of the chain, ending in the transport — with
    /// the requests and options the rest should see, and returns the responses (possibly wrapped); or fails the
    /// call by throwing an `RPCError` without calling `next`.
    ///
    /// The call's status arrives through the responses, not when `next` returns: wrap them with
    /// `ResponseStream.onCompletion(_:)` to observe it. A wrapper made with `ResponseStream(_:metadata:)` should
    /// pass the responses' `metadata` on, so the caller still sees the response headers and trailers.
    func intercept(
        _ method: MethodDescriptor,
        requests: RequestStream<[UInt8]>,
        options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]>
}
