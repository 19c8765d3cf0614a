import GRPCProtocol
import RPCCore

/// One gRPC call on a server connection, as the loop thread tracks it: the lifecycle decisions in `lifecycle`,
/// the things they act on beside it.
final class ServerStream {
    let id: Int32
    var lifecycle = ServerStreamStateMachine()
    var headers: [HeaderField] = []
    var deframer: GRPCMessageDeframer?
    var inbound: InboundMessages?
    var outbound: OutboundMessages?
    var task: Task<Void, Never>?
    var deadlineTimer: TimerID?
    /// DATA bytes received but not yet returned to flow control.
    var unconsumedBytes = 0
    /// A response that is not gRPC over HTTP/2 (gRPC-Web, or a fixed HTTP body); nil for gRPC, so its path
    /// tests one optional where it would otherwise differ.
    var alternate: AlternateResponse?

    init(id: Int32) {
        self.id = id
    }
}

/// How a stream's response differs from gRPC's: the body carries a gRPC-Web trailer frame (base64 throughout for
/// the text format), or it is a complete body known up front (a static file, an HTTP error's text, a gRPC-Web
/// call refused before its handler ran).
final class AlternateResponse {
    /// The gRPC-Web format, or nil for a plain HTTP body.
    let webFormat: GRPCWebFormat?
    /// The text format's request decoder.
    var textDecoder: GRPCWebTextDecoder?
    /// The request's Origin, for the CORS headers of a gRPC-Web response.
    let origin: String?
    /// The bytes that end the body, then END_STREAM: the trailer frame (set when the writer ends) or the
    /// whole fixed body.
    private(set) var tail: [UInt8]?
    private var tailOffset = 0

    /// A gRPC-Web call in `format`.
    init(webFormat: GRPCWebFormat, origin: String?) {
        self.webFormat = webFormat
        self.origin = origin
        self.textDecoder = webFormat == .text ? GRPCWebTextDecoder() : nil
    }

    /// A response whose whole body is `body`.
    init(fixedBody body: [UInt8]) {
        self.webFormat = nil
        self.origin = nil
        self.tail = body
    }

    /// Encoded response bytes of the text format not yet handed to nghttp2: each chunk read from the call's
    /// queue is base64-encoded whole (padded), then sent in as many DATA frames as flow control needs.
    private var pendingText: [UInt8] = []
    private var pendingTextOffset = 0

    /// Whether encoded text waits to be sent.
    var hasPendingText: Bool { pendingTextOffset < pendingText.count }

    /// Encodes `bytes` as one padded base64 chunk to send next.
    func queueText(_ bytes: UnsafeRawBufferPointer) {
        pendingText = [UInt8](unsafeUninitializedCapacity: GRPCWebText.encodedCount(bytes.count)) { output, count in
            count = GRPCWebText.encode(bytes, into: UnsafeMutableRawBufferPointer(output))
        }
        pendingTextOffset = 0
    }

    /// Copies what fits of the pending text into `buffer`; returns the count.
    func readPendingText(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, pendingText.count - pendingTextOffset)
        pendingText.withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + pendingTextOffset, byteCount: count)
        }
        pendingTextOffset += count
        return count
    }

    /// Ends the body with `bytes` (a trailer frame), base64 first in the text format.
    func setTail(_ bytes: [UInt8]) {
        tail = webFormat == .text ? GRPCWebText.encode(bytes) : bytes
        tailOffset = 0
    }

    /// Copies what fits of the tail into `buffer`; returns the count and whether the tail is all sent.
    func readTail(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, done: Bool) {
        guard let tail else { return (0, true) }
        let count = min(buffer.count, tail.count - tailOffset)
        if count > 0 {
            tail.withUnsafeBytes { bytes in
                buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + tailOffset, byteCount: count)
            }
        }
        tailOffset += count
        return (count, tailOffset == tail.count)
    }
}
