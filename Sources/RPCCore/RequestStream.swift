/// The messages a client sends, as a server handler reads them: `for try await request in requests`.
///
/// Single-pass: iterate it once. Iteration throws when the call fails or is cancelled.
public struct RequestStream<Message: Sendable>: AsyncSequence, Sendable {
    /// A request message.
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

        /// The next message, or nil when the client has finished sending.
        public mutating func next() async throws -> Message? {
            try await nextMessage()
        }
    }
}
