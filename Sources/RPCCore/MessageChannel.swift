import Synchronization

/// A bounded, multi-producer queue of messages between two tasks, with backpressure and cancellation.
///
/// `send` suspends while `capacity` messages wait, so a fast producer cannot grow memory without bound
/// (records stream at hundreds of MiB). The producer ends the stream with `finish(throwing:)`; the consumer
/// abandons it with `terminate()` (or by being cancelled while it waits), which fails pending and later sends
/// and runs `onTermination` once, so the other side can stop the call.
final class MessageChannel<Element: Sendable>: Sendable {
    /// Thrown by `send` once the stream was finished or the consumer went away.
    struct ClosedError: Error {}

    private enum Completion {
        case finished
        case failed(any Error)
    }

    private struct WaitingSender {
        var id: UInt64
        var element: Element
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct WaitingReceiver {
        var id: UInt64
        var continuation: CheckedContinuation<Element?, any Error>
    }

    // Everyone suspended on the channel, taken out of the state to be resumed outside the lock.
    private struct Waiters {
        var senders: [WaitingSender] = []
        var receivers: [WaitingReceiver] = []
    }

    private struct State {
        var buffer: [Element] = []
        var senders: [WaitingSender] = []
        var receivers: [WaitingReceiver] = []
        // Set once by the producer; `.failed` turns into `.finished` after its error was delivered once.
        var completion: Completion?
        var isTerminated = false
        var onTermination: (@Sendable () -> Void)?
        var nextID: UInt64 = 0

        mutating func takeWaiters() -> Waiters {
            defer {
                senders = []
                receivers = []
            }
            return Waiters(senders: senders, receivers: receivers)
        }
    }

    // What `send` does once it has looked at the state under the lock.
    private enum SendAction {
        case resume
        case fail(any Error)
        case deliver(CheckedContinuation<Element?, any Error>)
        case wait
    }

    // What `next` does once it has looked at the state under the lock.
    private enum ReceiveAction {
        case element(Element, unblocking: CheckedContinuation<Void, any Error>?)
        case end
        case fail(any Error)
        case cancelled
        case wait
    }

    private let capacity: Int
    private let state = Mutex(State())

    /// Creates a channel holding at most `capacity` (at least 1) undelivered messages.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Registers what to do when the consumer abandons the stream; runs at once if it already has.
    func setOnTermination(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            guard !state.isTerminated else { return true }
            state.onTermination = action
            return false
        }
        if runNow { action() }
    }

    /// Enqueues `element`, waiting while the buffer is full; throws `ClosedError` or `CancellationError`.
    func send(_ element: Element) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let action = state.withLock { state -> SendAction in
                    if state.isTerminated || state.completion != nil { return .fail(ClosedError()) }
                    // The cancellation handler may have run before this waiter existed; the flag is already set.
                    if Task.isCancelled { return .fail(CancellationError()) }
                    if !state.receivers.isEmpty { return .deliver(state.receivers.removeFirst().continuation) }
                    if state.buffer.count < capacity {
                        state.buffer.append(element)
                        return .resume
                    }
                    state.senders.append(WaitingSender(id: id, element: element, continuation: continuation))
                    return .wait
                }
                switch action {
                case .resume:
                    continuation.resume()
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .deliver(let receiver):
                    receiver.resume(returning: element)
                    continuation.resume()
                case .wait:
                    break
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> WaitingSender? in
                guard let index = state.senders.firstIndex(where: { $0.id == id }) else { return nil }
                return state.senders.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Ends the stream: the consumer gets what is buffered, then nil, or `error` once. Later calls do nothing.
    func finish(throwing error: (any Error)? = nil) {
        let waiters = state.withLock { state -> Waiters in
            guard state.completion == nil, !state.isTerminated else { return Waiters() }
            // Receivers only wait on an empty buffer, so they can be told the end now; the first one takes
            // the error, which is delivered once.
            if let error, state.receivers.isEmpty {
                state.completion = .failed(error)
            } else {
                state.completion = .finished
            }
            return state.takeWaiters()
        }
        for sender in waiters.senders { sender.continuation.resume(throwing: ClosedError()) }
        for (index, receiver) in waiters.receivers.enumerated() {
            if index == 0, let error {
                receiver.continuation.resume(throwing: error)
            } else {
                receiver.continuation.resume(returning: nil)
            }
        }
    }

    /// The consumer gives up: drops what is buffered, fails senders, and runs `onTermination` if the producer
    /// had not finished yet.
    func terminate() {
        let (waiters, onTermination) = state.withLock { state -> (Waiters, (@Sendable () -> Void)?) in
            guard !state.isTerminated else { return (Waiters(), nil) }
            state.isTerminated = true
            state.buffer = []
            let onTermination = state.completion == nil ? state.onTermination : nil
            state.onTermination = nil
            return (state.takeWaiters(), onTermination)
        }
        for sender in waiters.senders { sender.continuation.resume(throwing: ClosedError()) }
        for receiver in waiters.receivers { receiver.continuation.resume(throwing: CancellationError()) }
        onTermination?()
    }

    /// The next message, waiting for one; nil at the end. A cancelled consumer terminates the stream and gets
    /// `CancellationError`.
    func next() async throws -> Element? {
        if Task.isCancelled {
            terminate()
            throw CancellationError()
        }
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, any Error>) in
                let action = state.withLock { state -> ReceiveAction in
                    if !state.buffer.isEmpty {
                        let element = state.buffer.removeFirst()
                        var unblocked: CheckedContinuation<Void, any Error>?
                        if !state.senders.isEmpty {
                            let sender = state.senders.removeFirst()
                            state.buffer.append(sender.element)
                            unblocked = sender.continuation
                        }
                        return .element(element, unblocking: unblocked)
                    }
                    switch state.completion {
                    case .finished:
                        return .end
                    case .failed(let error):
                        state.completion = .finished
                        return .fail(error)
                    case nil:
                        break
                    }
                    if state.isTerminated { return .fail(CancellationError()) }
                    // The cancellation handler may have run before this waiter existed; the flag is already set.
                    if Task.isCancelled { return .cancelled }
                    state.receivers.append(WaitingReceiver(id: id, continuation: continuation))
                    return .wait
                }
                switch action {
                case .element(let element, let sender):
                    sender?.resume()
                    continuation.resume(returning: element)
                case .end:
                    continuation.resume(returning: nil)
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .cancelled:
                    terminate()
                    continuation.resume(throwing: CancellationError())
                case .wait:
                    break
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> WaitingReceiver? in
                guard let index = state.receivers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.receivers.remove(at: index)
            }
            if let cancelled {
                cancelled.continuation.resume(throwing: CancellationError())
                terminate()
            }
        }
    }
}
