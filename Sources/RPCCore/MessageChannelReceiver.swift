/// The consuming end of a `MessageChannel`, owned by the stream a handler or client iterates.
///
/// When the last stream or iterator holding it goes away, the channel is terminated, so a client that drops a
/// `ResponseStream` unread (or a handler that stops reading requests) cancels the rest of the call.
final class MessageChannelReceiver<Element: Sendable>: Sendable {
    private let channel: MessageChannel<Element>

    /// Takes ownership of consuming `channel`.
    init(_ channel: MessageChannel<Element>) {
        self.channel = channel
    }

    deinit {
        channel.terminate()
    }

    /// The next message from the channel.
    func next() async throws -> Element? {
        try await channel.next()
    }
}
