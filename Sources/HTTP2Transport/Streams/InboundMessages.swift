import RPCCore
import Synchronization

/// Messages received on one HTTP/2 stream, handed from the loop thread to the task reading them.
///
/// The loop appends whole messages; flow control bounds them, because the loop returns HTTP/2 window only
/// once the reader has taken enough (`bufferedBytes` below `lowWater` calls `onDrained`). The reader ends
/// with nil after `finish()` or throws the error given to `finish(throwing:)`.
final class InboundMessages: Sendable {
    private struct State {
        var messages: [[UInt8]] = []
        /// Indices into `messages` of those that arrived compressed (rare: a set, not a flag per message).
        var compressedIndices: Set<Int> = []
        var head = 0
        var lastDeliveredWasCompressed = false
        var bufferedBytes = 0
        var completion: Result<Void, any Error>?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var drainWanted = false
    }

    private let state = Mutex(State())
    private let lowWater: Int
    private let onDrained: @Sendable () -> Void

    /// Creates a queue that calls `onDrained` (from the reader's thread) after the loop asked with
    /// `requestDrainNotice` and the buffered bytes fell below `lowWater`.
    init(lowWater: Int, onDrained: @escaping @Sendable () -> Void) {
        self.lowWater = lowWater
        self.onDrained = onDrained
    }

    /// Loop side: appends a message (`compressed`: it arrived with the compressed flag); returns the bytes
    /// now buffered.
    @discardableResult
    func append(_ message: [UInt8], compressed: Bool = false) -> Int {
        let (waiter, buffered) = state.withLock { state -> (CheckedContinuation<[UInt8]?, any Error>?, Int) in
            guard state.completion == nil else { return (nil, 0) }
            if let waiter = state.waiter {
                state.waiter = nil
                state.lastDeliveredWasCompressed = compressed
                return (waiter, state.bufferedBytes)
            }
            if compressed { state.compressedIndices.insert(state.messages.count) }
            state.messages.append(message)
            state.bufferedBytes += message.count + 5
            return (nil, state.bufferedBytes)
        }
        waiter?.resume(returning: message)
        return buffered
    }

    /// Reader side: whether the message `next` returned last arrived compressed; false before the first.
    var lastDeliveredWasCompressed: Bool { state.withLock { $0.lastDeliveredWasCompressed } }

    /// Loop side: the bytes waiting for the reader.
    var bufferedBytes: Int { state.withLock { $0.bufferedBytes } }

    /// Loop side: asks for one `onDrained` call once the reader has brought the buffer below the low mark;
    /// returns false (and asks nothing) when it already is.
    func requestDrainNotice() -> Bool {
        state.withLock { state in
            if state.bufferedBytes < lowWater { return false }
            state.drainWanted = true
            return true
        }
    }

    /// Loop side: ends the stream after the buffered messages, normally or with `error`. Later calls do nothing.
    func finish(throwing error: (any Error)? = nil) {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            guard state.completion == nil else { return nil }
            state.completion = error.map { .failure($0) } ?? .success(())
            defer { state.waiter = nil }
            return state.waiter
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    /// Loop side: fails the stream at once, dropping what is buffered (the call is over).
    func abort(_ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            state.messages = []
            state.compressedIndices = []
            state.head = 0
            state.bufferedBytes = 0
            state.completion = .failure(error)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    /// What a reader gets from the queue's state at one moment.
    private enum Poll {
        case deliver([UInt8]?, notify: Bool)
        case fail(any Error)
        case wait
    }

    /// Takes the next message or the ending from `state`, or says the reader must wait.
    private func poll(_ state: inout State) -> Poll {
        if state.head < state.messages.count {
            let message = state.messages[state.head]
            state.lastDeliveredWasCompressed =
                !state.compressedIndices.isEmpty && state.compressedIndices.contains(state.head)
            state.head += 1
            if state.head == state.messages.count {
                state.messages.removeAll(keepingCapacity: true)
                state.compressedIndices = []
                state.head = 0
            }
            state.bufferedBytes -= message.count + 5
            var notify = false
            if state.drainWanted && state.bufferedBytes < lowWater {
                state.drainWanted = false
                notify = true
            }
            return .deliver(message, notify: notify)
        }
        switch state.completion {
        case .success: return .deliver(nil, notify: false)
        case .failure(let error): return .fail(error)
        case nil: return .wait
        }
    }

    /// Reader side: the next message, nil at the end; throws the stream's error or `CancellationError`.
    func next() async throws -> [UInt8]? {
        // Fast path, without a continuation or cancellation handler: the message or the end is already here,
        // as it usually is for a unary request, whose DATA and END_STREAM arrive together.
        switch state.withLock({ poll(&$0) }) {
        case .deliver(let message, let notify):
            if notify { onDrained() }
            return message
        case .fail(let error):
            throw error
        case .wait:
            break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                let action = state.withLock { state -> Poll in
                    let action = poll(&state)
                    guard case .wait = action else { return action }
                    if Task.isCancelled { return .fail(CancellationError()) }
                    state.waiter = continuation
                    return .wait
                }
                switch action {
                case .deliver(let message, let notify):
                    continuation.resume(returning: message)
                    if notify { onDrained() }
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .wait:
                    break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// The messages of an `InboundMessages` queue as an async sequence, for `RequestStream` / `ResponseStream`.
struct InboundMessageSequence: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let messages: InboundMessages
    /// Errors thrown by iteration pass through this (e.g. cancellation -> RPCError CANCELLED on the client).
    let mapError: @Sendable (any Error) -> any Error
    /// Kept alive by every copy and iterator; its deinit tells the transport nobody reads any more.
    let lifetime: (any Sendable & AnyObject)?

    struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: InboundMessageSequence
        mutating func next() async throws -> [UInt8]? {
            do {
                return try await sequence.messages.next()
            } catch {
                throw sequence.mapError(error)
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}
