import RPCCore

/// Reassembles Length-Prefixed-Messages from DATA payload pieces of any size (a message may span many
/// frames; a frame may hold many messages). Checks the length prefix against maxMessageSize BEFORE buffering
/// (RESOURCE_EXHAUSTED "received message larger than max (N vs. M)"), decompresses when the flag is set and an
/// encoding was negotiated (flag set with identity -> INTERNAL "compressed flag set without grpc-encoding").
///
/// "DATA frame boundaries have no relation to Length-Prefixed-Message boundaries" (PROTOCOL-HTTP2.md), so
/// `append` is a byte-level state machine: header bytes accumulate in two small fields, and a message body
/// goes straight into the array that becomes the message. Each received byte is copied once: a body lying
/// whole inside one append is copied out of the caller's buffer directly; a body spread over several
/// appends grows in its own buffer, which is then handed out without a copy. Errors are queued behind the
/// messages that preceded them and thrown by `nextMessage`, in stream order; after one, input is ignored.
public struct GRPCMessageDeframer: Sendable {
    private enum Item: Sendable {
        case message([UInt8], compressed: Bool)
        case failure(RPCError)
    }

    private let maxMessageSize: Int
    private let encoding: MessageEncoding

    // Header state: how many of the 5 prefix bytes have arrived, and what they said so far.
    private var headerBytesRead = 0
    private var compressedFlag: UInt8 = 0
    private var declaredLength: UInt32 = 0
    // The body of the message being received, once its header was accepted.
    private var body: [UInt8] = []
    private var inBody = false

    // Complete messages (and at most one final failure) waiting for nextMessage, read from `readyIndex`.
    private var ready: [Item] = []
    private var readyIndex = 0
    private var failed = false

    /// Creates a deframer for one stream's messages; `encoding` is the stream's negotiated grpc-encoding.
    public init(maxMessageSize: Int, encoding: MessageEncoding) {
        self.maxMessageSize = max(0, maxMessageSize)
        self.encoding = encoding
    }

    /// Whether bytes of an unfinished message are buffered; at end of stream that is an INTERNAL error.
    public var hasPartialMessage: Bool { headerBytesRead > 0 }

    /// Feeds the next piece of the stream's DATA payload.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Feeds the next piece of the stream's DATA payload (copied; the caller may reuse its buffer).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        let count = bytes.count
        while offset < count, !failed {
            if !inBody {
                let byte = bytes[offset]
                offset += 1
                if headerBytesRead == 0 {
                    compressedFlag = byte
                    declaredLength = 0
                } else {
                    declaredLength = declaredLength << 8 | UInt32(byte)
                }
                headerBytesRead += 1
                if headerBytesRead == GRPCMessageFramer.prefixLength { acceptHeader() }
                continue
            }
            let needed = Int(declaredLength) - body.count
            let available = count - offset
            if body.isEmpty && available >= needed {
                // The whole body is here: one copy, straight from the caller's bytes.
                let whole = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + needed)]))
                offset += needed
                finishMessage(whole)
            } else {
                let take = min(needed, available)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                if body.count == Int(declaredLength) {
                    let whole = body
                    body = []
                    finishMessage(whole)
                }
            }
        }
    }

    /// The next complete message, decompressed; nil when more bytes are needed. Throws RESOURCE_EXHAUSTED
    /// for a message over the limit and INTERNAL for a malformed frame or undecodable compressed message.
    public mutating func nextMessage() throws(RPCError) -> [UInt8]? {
        try nextMessageAndFlag()?.message
    }

    /// Like `nextMessage`, with whether the message arrived compressed (its prefix's compressed flag set), for
    /// servers that check gRPC interop's CompressedRequest (expect_compressed) per message.
    public mutating func nextMessageAndFlag() throws(RPCError) -> (message: [UInt8], wasCompressed: Bool)? {
        guard readyIndex < ready.count else { return nil }
        let item = ready[readyIndex]
        if case .failure(let error) = item { throw error }  // stays queued: the stream is broken for good
        ready[readyIndex] = .message([], compressed: false)  // drop our reference so the caller owns the bytes
        readyIndex += 1
        if readyIndex == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
        }
        guard case .message(let bytes, let compressed) = item else { return nil }
        guard compressed else { return (bytes, false) }
        return (try MessageCompressor.decompress(bytes, encoding: encoding, limit: maxMessageSize), true)
    }

    // The 5-byte prefix is complete: validate it before a single body byte is buffered.
    private mutating func acceptHeader() {
        switch compressedFlag {
        case 0:
            break
        case 1:
            // compression.md, test case 6: the flag without a grpc-encoding other than identity MUST fail with INTERNAL.
            guard encoding != .identity else {
                return fail(RPCError(.internalError, "compressed flag set without grpc-encoding"))
            }
        default:
            return fail(RPCError(.internalError, "invalid compressed flag \(compressedFlag) in message prefix"))
        }
        guard UInt64(declaredLength) <= UInt64(maxMessageSize) else {
            return fail(
                RPCError(
                    .resourceExhausted, "received message larger than max (\(declaredLength) vs. \(maxMessageSize))"))
        }
        if declaredLength == 0 {
            finishMessage([])
        } else {
            inBody = true
        }
    }

    private mutating func finishMessage(_ bytes: [UInt8]) {
        ready.append(.message(bytes, compressed: compressedFlag == 1))
        headerBytesRead = 0
        inBody = false
    }

    private mutating func fail(_ error: RPCError) {
        ready.append(.failure(error))
        failed = true
        body = []
        inBody = false
    }
}
