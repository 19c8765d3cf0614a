/// Header names that carry the protocol rather than an application's custom metadata.
enum ReservedHeaders {
    /// Call-Definition, Response-Headers and Trailers fields (PROTOCOL-HTTP2.md) read by the protocol layer,
    /// plus HTTP/1 connection-specific fields that HTTP/2 forbids (RFC 9113 §8.2.2).
    ///
    /// Not here: grpc-status-details-bin, which applications read and write as metadata (rich error
    /// details), and user-agent, which stays visible to server applications (see `isReservedOnReceive`).
    static let protocolFields: Set<String> = [
        "content-type", "te", "grpc-status", "grpc-message", "grpc-encoding", "grpc-accept-encoding",
        "grpc-timeout", "grpc-message-type", "connection", "keep-alive", "proxy-connection", "transfer-encoding",
        "upgrade", "host",
    ]

    /// Whether a received field is left out of the application's metadata.
    ///
    /// user-agent is kept: grpc-go and grpc-core hand it to server applications with the request metadata,
    /// and a service may want it for diagnostics. RequestHead.userAgent has it too.
    static func isReservedOnReceive(_ name: String) -> Bool {
        name.hasPrefix(":") || protocolFields.contains(name)
    }

    /// Whether a metadata entry is left out when sending: the transport writes these fields itself, and a
    /// second user-agent (echoed from request metadata, say) would be a duplicate.
    static func isReservedOnSend(_ name: String) -> Bool {
        isReservedOnReceive(name) || name == "user-agent"
    }
}
