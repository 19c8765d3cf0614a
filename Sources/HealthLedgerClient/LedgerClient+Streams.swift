import RPCCore

extension LedgerClient {
    /// Opens a private server stream with `open` and waits for its first message (or its end), opening it again while
    /// that fails with UNAVAILABLE (as `retry` says) and with a new session once after UNAUTHENTICATED: until its first
    /// message a stream has released nothing, so opening it again is safe. A failure after the first message is the
    /// caller's (a following stream resumes from the last sequence it saw).
    func openPrivateStream<Message: Sendable>(
        _ open: @Sendable (CallOptions) async throws -> ResponseStream<Message>
    ) async throws -> ResponseStream<Message> {
        try await withSession { options in
            let stream = try await open(options)
            let opened = OpenedStream(stream)
            try await opened.receiveFirst()
            return ResponseStream(opened, metadata: stream.metadata)
        }
    }
}

/// A server stream whose first message was received on opening: iterating gives that message, then the rest.
///
/// Single-pass, like the `ResponseStream` it continues: one task iterates it, after the one that opened it.
final class OpenedStream<Message: Sendable>: AsyncSequence, @unchecked Sendable {
    // @unchecked: `first` and `rest` are touched by the task that opens the stream, then by the one task that
    // iterates it, never at the same time (a ResponseStream is iterated once).
    typealias Element = Message
    private var first: Message?
    private var ended = false
    private var rest: ResponseStream<Message>.AsyncIterator

    init(_ stream: ResponseStream<Message>) {
        rest = stream.makeAsyncIterator()
    }

    /// Waits for the first message, or the end; throws the stream's error.
    func receiveFirst() async throws {
        first = try await rest.next()
        ended = first == nil
    }

    func makeAsyncIterator() -> Iterator { Iterator(stream: self) }

    /// Gives the first message, then the stream's own.
    struct Iterator: AsyncIteratorProtocol {
        let stream: OpenedStream

        mutating func next() async throws -> Message? {
            if let first = stream.first {
                stream.first = nil
                return first
            }
            if stream.ended { return nil }
            return try await stream.rest.next()
        }
    }
}
