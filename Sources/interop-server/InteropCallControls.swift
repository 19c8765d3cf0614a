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

    /// Whether the request message the handler took last arrived compressed (its compressed flag set); nil
    /// outside an HTTP/2 handler. Read right after taking the message: it is per message, as a call with
    /// grpc-encoding gzip may send some messages uncompressed (client_compressed_streaming does).
    static func lastRequestWasCompressed() -> Bool? {
        ServerCallResponse.current?.lastRequestWasCompressed
    }
}
