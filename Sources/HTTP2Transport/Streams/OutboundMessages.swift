import GRPCProtocol
import RPCCore
import Synchronization

/// Framed messages one task writes for one HTTP/2 stream, pulled by the loop's nghttp2 data provider.
///
/// The writer frames (and compresses) off the loop and waits while `highWater` bytes are queued, so a slow
/// peer bounds memory per stream. The loop pulls bytes with `read`; when it finds nothing and the writer has
/// not finished it parks (NGHTTP2_ERR_DEFERRED) and the next write calls `onReady` once to resume it.
final class OutboundMessages: Sendable {
    /// How the writer side ended.
    enum Ending: Sendable {
        /// The writer finished normally (client: end of requests; server: handler returned -> OK).
        case finished
        /// The server handler failed with this status.
        case failed(RPCError)
    }

    /// What a `read` produced.
    struct ReadResult {
        /// Bytes copied into the buffer.
        var count: Int
        /// No bytes are queued and the writer has ended this way.
        var ending: Ending?
        /// Nothing was queued and the writer may write more: park until `onReady`.
        var mustWait: Bool
    }

    private struct State {
        var bytes: [UInt8] = []
        var readOffset = 0
        var ending: Ending?
        var closedError: (any Error)?
        var writer: CheckedContinuation<Void, any Error>?
        var readerParked = true
        var compress = false
        var initialMetadata = Metadata()
        var trailingMetadata = Metadata()
        var queuedBytes: Int { bytes.count - readOffset }
    }

    private let state = Mutex(State())
    private let highWater: Int
    private let encoding: MessageEncoding
    private let onReady: @Sendable () -> Void

    /// Creates a queue; `encoding` is used for messages once compression is on; `onReady` wakes the loop.
    init(highWater: Int, encoding: MessageEncoding, compress: Bool, onReady: @escaping @Sendable () -> Void) {
        self.highWater = highWater
        self.encoding = encoding
        self.onReady = onReady
        state.withLock { $0.compress = compress && encoding != .identity }
    }

    /// Writer side: frames `message` and queues it, waiting while the queue is over the high-water mark;
    /// throws once the stream is closed.
    func write(_ message: [UInt8]) async throws {
        let compress = state.withLock { $0.compress }
        let payload = compress ? MessageCompressor.compress(message, encoding: encoding) : message
        let wake = try state.withLock { state throws -> Bool in
            if let error = state.closedError { throw error }
            GRPCMessageFramer.append(payload, compressed: compress, to: &state.bytes)
            defer { state.readerParked = false }
            return state.readerParked
        }
        if wake { onReady() }
        try await waitForRoom()
    }

    private func waitForRoom() async throws {
        guard state.withLock({ $0.queuedBytes >= highWater && $0.closedError == nil }) else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result = state.withLock { state -> Result<Bool, any Error> in
                    if let error = state.closedError { return .failure(error) }
                    if state.queuedBytes < highWater { return .success(true) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.writer = continuation
                    return .success(false)
                }
                switch result {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let writer = state.withLock { state in
                defer { state.writer = nil }
                return state.writer
            }
            writer?.resume(throwing: CancellationError())
        }
    }

    /// Writer side: ends the stream; the loop sends what is queued, then the ending. Later calls do nothing.
    func finish(_ ending: Ending) {
        let wake = state.withLock { state -> Bool in
            guard state.ending == nil, state.closedError == nil else { return false }
            state.ending = ending
            defer { state.readerParked = false }
            return state.readerParked
        }
        if wake { onReady() }
    }

    /// Loop side: ends the stream at once with `ending`, dropping queued bytes (deadline, failed request);
    /// the writer's pending and later writes throw `writerError`.
    func override(with ending: Ending, writerError: any Error) {
        let writer = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.bytes = []
            state.readOffset = 0
            state.ending = ending
            if state.closedError == nil { state.closedError = writerError }
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume(throwing: writerError)
    }

    /// Loop side: the stream is gone; the writer's pending and later writes throw `error`.
    func close(_ error: any Error) {
        let writer = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.closedError == nil { state.closedError = error }
            state.bytes = []
            state.readOffset = 0
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume(throwing: error)
    }

    /// Loop side: copies up to `buffer.count` queued bytes; see `ReadResult`.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        let (result, writer) = state.withLock { state -> (ReadResult, CheckedContinuation<Void, any Error>?) in
            let count = min(buffer.count, state.queuedBytes)
            if count > 0 {
                state.bytes.withUnsafeBytes { bytes in
                    buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + state.readOffset, byteCount: count)
                }
                state.readOffset += count
                if state.readOffset == state.bytes.count {
                    state.bytes.removeAll(keepingCapacity: state.bytes.capacity <= 1 << 20)
                    state.readOffset = 0
                } else if state.readOffset >= 1 << 16 && state.readOffset * 2 >= state.bytes.count {
                    state.bytes.removeFirst(state.readOffset)
                    state.readOffset = 0
                }
            }
            var writer: CheckedContinuation<Void, any Error>?
            if state.queuedBytes < highWater, let waiting = state.writer {
                writer = waiting
                state.writer = nil
            }
            if count == 0 && state.ending == nil { state.readerParked = true }
            let ending = state.queuedBytes == 0 ? state.ending : nil
            return (ReadResult(count: count, ending: ending, mustWait: count == 0 && state.ending == nil), writer)
        }
        writer?.resume()
        return result
    }

    /// Loop side: whether bytes or the ending are ready to be pulled.
    var hasPendingOutput: Bool { state.withLock { $0.queuedBytes > 0 || $0.ending != nil } }

    /// Loop side: whether nothing was ever queued and the writer has ended (a Trailers-Only response).
    var endedWithoutMessages: Ending? {
        state.withLock { $0.queuedBytes == 0 ? $0.ending : nil }
    }

    /// Writer side: turns compression of following messages on or off (only with a negotiated encoding).
    func setCompression(_ enabled: Bool) {
        state.withLock { $0.compress = enabled && encoding != .identity }
    }

    /// Writer side: adds metadata to the response headers (effective before the first message is sent).
    func addInitialMetadata(_ metadata: Metadata) {
        state.withLock { $0.initialMetadata.add(contentsOf: metadata) }
    }

    /// Writer side: adds metadata to the trailers.
    func addTrailingMetadata(_ metadata: Metadata) {
        state.withLock { $0.trailingMetadata.add(contentsOf: metadata) }
    }

    /// Loop side: the metadata for the response headers and the trailers so far.
    var responseMetadata: (initial: Metadata, trailing: Metadata) {
        state.withLock { ($0.initialMetadata, $0.trailingMetadata) }
    }

    /// The encoding messages are compressed with when compression is on.
    var messageEncoding: MessageEncoding { encoding }
}
