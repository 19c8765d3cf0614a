import RPCCore

/// What a handler served over HTTP/2 can do and know beyond `ServerContext`: response metadata, response
/// compression, each request message's compression, the client's TLS certificate. Reach it as
/// `ServerCallResponse.current` inside the handler.
public struct ServerCallResponse: Sendable {
    /// The call being served by the current task, or nil outside an HTTP/2 handler.
    @TaskLocal public static var current: ServerCallResponse?

    let outbound: OutboundMessages
    let inbound: InboundMessages

    /// The certificate the client presented over TLS (mutual TLS), verified against the trust roots.
    public let peerIdentity: TLSPeerIdentity?

    /// The request's grpc-encoding ("identity", "gzip", "deflate"); messages arrive already decompressed.
    public let requestEncoding: String

    /// Whether the request message the handler read last arrived compressed (its compressed flag set); false
    /// before the first. A call with a grpc-encoding may still send single messages uncompressed, so this is
    /// per message — what gRPC interop's CompressedRequest (expect_compressed) checks. Read it right after
    /// taking a message from the request stream.
    public var lastRequestWasCompressed: Bool { inbound.lastDeliveredWasCompressed }

    /// Adds metadata to the response headers; effective until the first message is written.
    public func addInitialMetadata(_ metadata: Metadata) { outbound.addInitialMetadata(metadata) }

    /// Adds metadata to the trailers sent with the status.
    public func addTrailingMetadata(_ metadata: Metadata) { outbound.addTrailingMetadata(metadata) }

    /// Compresses the following response messages with the negotiated encoding (if the client accepts one).
    public func setCompression(_ enabled: Bool) { outbound.setCompression(enabled) }

    /// The encoding the response uses when compression is on ("identity" when the client accepts none).
    public var encodingName: String { outbound.messageEncoding.rawValue }
}
