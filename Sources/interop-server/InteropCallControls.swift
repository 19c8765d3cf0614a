import HTTP2Transport
import RPCCore

/// What the interop handlers do to the response beyond its messages — echoed metadata, per-message
/// compression — and what they need to know about the request beyond its messages, over
/// `ServerCallResponse.current`. Outside an HTTP/2 handler (in-process tests) every control is a no-op.
enum InteropCallControls {
    /// The request header echoed in the response headers ("Echo Metadata" in interop-test-descriptions.md).
    static let echoInitialKey = "x-grpc-test-echo-initial"
    /// The request header echoed in the trailers.
    static let echoTrailingKey = "x-grpc-test-echo-trailing-bin"

    /// Copies the echo keys of the request metadata to the response headers and trailers. Call before the
    /// first message is written: initial metadata goes out with the response HEADERS.
    static func echoMetadata(from context: ServerContext) {
        guard let call = ServerCallResponse.current else { return }
        var initial = Metadata()
        for value in context.metadata.values(forKey: echoInitialKey) { initial.add(value, forKey: echoInitialKey) }
        if !initial.isEmpty { call.addInitialMetadata(initial) }
        var trailing = Metadata()
        for value in context.metadata.values(forKey: echoTrailingKey) { trailing.add(value, forKey: echoTrailingKey) }
        if !trailing.isEmpty { call.addTrailingMetadata(trailing) }
    }

    /// Turns compression of the following response messages on or off (with the encoding the client accepts).
    static func compressResponses(_ enabled: Bool) {
        ServerCallResponse.current?.setCompression(enabled)
    }

    /// Adds metadata to the response headers.
    static func addInitialMetadata(_ metadata: Metadata) {
        ServerCallResponse.current?.addInitialMetadata(metadata)
    }

    /// Whether the request messages of this call may be compressed: false when the call's grpc-encoding is
    /// identity (no message can carry the compressed flag), true otherwise; nil outside an HTTP/2 handler.
    ///
    /// The CompressedRequest feature (expect_compressed) really needs the flag of each message: a call with
    /// grpc-encoding gzip may send some messages uncompressed (client_compressed_streaming does). The transport
    /// decompresses in its deframer and hands the handler plain bytes, and `ServerCallResponse` only carries
    /// the call's encoding, so this is as close as the handler can get.
    static func requestMessagesMayBeCompressed() -> Bool? {
        guard let call = ServerCallResponse.current else { return nil }
        return call.requestEncoding != "identity"
    }
}
