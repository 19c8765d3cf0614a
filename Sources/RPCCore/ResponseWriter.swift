/// Where a server handler writes the messages it streams back to the client.
public struct ResponseWriter<Message: Sendable>: Sendable {
    private let sink: @Sendable (Message) async throws -> Void

    /// Creates a writer that hands each message to `sink`, which suspends while the transport is backed up.
    public init(_ sink: @escaping @Sendable (Message) async throws -> Void) {
        self.sink = sink
    }

    /// Sends one message; waits while the client is not reading fast enough, throws when the call has ended.
    public func write(_ message: Message) async throws {
        try await sink(message)
    }

    /// Sends each message of `messages` in order.
    public func write<Messages: Sequence>(contentsOf messages: Messages) async throws
    where Messages.Element == Message {
        for message in messages { try await sink(message) }
    }
}
