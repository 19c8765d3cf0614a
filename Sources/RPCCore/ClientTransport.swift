/// Carries calls from a client to a server as encoded messages; the typed `unary`, `serverStreaming`,
/// `clientStreaming` and `bidirectionalStreaming` helpers that generated clients call sit on this one primitive.
public protocol ClientTransport: Sendable {
    /// Starts a call of `method`, sending each of `requests` (encoded messages) and ending the request stream
    /// when `requests` ends.
    ///
    /// Returns the encoded responses. The call's final status arrives through them: they end after an OK
    /// status and throw a non-OK one as `RPCError`. Throws directly only when the call cannot start (invalid
    /// metadata, transport closed). If `requests` throws, the call is cancelled and the responses throw
    /// CANCELLED. Cancelling the task iterating the responses, or dropping them unread, cancels the call.
    ///
    /// The responses carry the server's response metadata (`ResponseStream.metadata`: headers, then trailers
    /// recorded before the messages end). A transport that frames messages honours `CallOptions.compression`.
    func call(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions
    ) async throws -> ResponseStream<[UInt8]>
}
