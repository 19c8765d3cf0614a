/// The one response of a unary or client-streaming call together with the metadata the server sent around
/// it, for callers that need the response headers or trailers (`unaryWithMetadata`,
/// `clientStreamingWithMetadata`).
public struct ClientResponse<Message: Sendable>: Sendable {
    /// The response message.
    public var message: Message
    /// The metadata of the response headers.
    public var initialMetadata: Metadata
    /// The metadata of the trailers.
    public var trailingMetadata: Metadata

    /// Creates a response from its parts.
    public init(message: Message, initialMetadata: Metadata, trailingMetadata: Metadata) {
        self.message = message
        self.initialMetadata = initialMetadata
        self.trailingMetadata = trailingMetadata
    }
}
