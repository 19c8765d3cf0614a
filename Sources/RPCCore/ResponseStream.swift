/// The messages a server sends back, as a client reads them: `for try await response in responses`.
///
/// Single-pass: iterate it once. A call that ends with a non-OK status throws that status as `RPCError`
/// from the iteration, after the messages that arrived before it. Dropping the stream before its end cancels
/// the call (for the transports in this module).
public struct ResponseStream<Message: Sendable>: AsyncSequence, Sendable {
    /// A response message.
    public typealias Element = Message

    private let makeNext: @Sendable () -> () async throws -> Message?

    /// Wraps any sendable async sequence of messages (a transport's inbound stream, an `AsyncThrowingStream`).
    public init<Base: AsyncSequence & Sendable>(_ base: Base) where Base.Element == Message {
        self.makeNext = {
            var iterator = base.makeAsyncIterator()
            return { try await iterator.next() }
        }
    }

    /// Wraps a function that makes "next message" functions, one per iteration.
    init(makeNext: @escaping @Sendable () -> () async throws -> Message?) {
        self.makeNext = makeNext
    }

    /// Starts iterating.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(nextMessage: makeNext())
    }

    /// Reads the messages one by one.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let nextMessage: () async throws -> Message?

        /// The next message, nil after an OK status, or the non-OK status thrown as `RPCError`.
        public mutating func next() async throws -> Message? {
            try await nextMessage()
        }
    }
}
