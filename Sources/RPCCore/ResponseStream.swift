/// The messages a server sends back, as a client reads them: `for try await response in responses`.
///
/// Single-pass: iterate it once. A call that ends with a non-OK status throws that status as `RPCError`
/// from the iteration, after the messages that arrived before it. Dropping the stream before its end cancels
/// the call (for the transports in this module).
///
/// The server's response metadata travels with the stream: `initialMetadata` (the response headers) and,
/// once iteration has ended, `trailingMetadata` (the trailers).
public struct ResponseStream<Message: Sendable>: AsyncSequence, Sendable {
    /// A response message.
    public typealias Element = Message

    private let makeNext: @Sendable () -> () async throws -> Message?

    /// The call's response metadata, as the transport records it; wrappers of this stream pass it on.
    public let metadata: ResponseMetadata

    /// Wraps any sendable async sequence of messages (a transport's inbound stream, an `AsyncThrowingStream`),
    /// with `metadata` as the call's response metadata (by default none: empty, and already complete).
    public init<Base: AsyncSequence & Sendable>(
        _ base: Base, metadata: ResponseMetadata = ResponseMetadata(initial: [:], trailing: [:])
    ) where Base.Element == Message {
        self.makeNext = {
            var iterator = base.makeAsyncIterator()
            return { try await iterator.next() }
        }
        self.metadata = metadata
    }

    /// Wraps a function that makes "next message" functions, one per iteration.
    init(
        metadata: ResponseMetadata = ResponseMetadata(initial: [:], trailing: [:]),
        makeNext: @escaping @Sendable () -> () async throws -> Message?
    ) {
        self.makeNext = makeNext
        self.metadata = metadata
    }

    /// The metadata of the server's response headers; waits for them (or for the call to end without any,
    /// then it is empty). Throws CANCELLED when the waiting task is cancelled.
    public var initialMetadata: Metadata {
        get async throws { try await metadata.initial }
    }

    /// The metadata of the server's trailers, once iteration has ended (nil returned or an error thrown);
    /// empty before. On a failed call it is also the thrown `RPCError`'s `metadata`.
    public var trailingMetadata: Metadata { metadata.trailing }

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
