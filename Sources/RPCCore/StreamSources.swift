// The in-module ways to make streams: from a channel another task fills, from one message, or failing at once.

extension RequestStream {
    /// A request stream that reads from `channel`.
    init(receiving channel: MessageChannel<Message>) {
        let receiver = MessageChannelReceiver(channel)
        self.init(makeNext: { { try await receiver.next() } })
    }

    /// A request stream of exactly `message`.
    init(single message: Message) {
        self.init(makeNext: {
            var delivered = false
            return {
                defer { delivered = true }
                return delivered ? nil : message
            }
        })
    }
}

extension ResponseStream {
    /// A response stream that reads from `channel`, carrying `metadata`; a cancelled reader sees CANCELLED.
    init(receiving channel: MessageChannel<Message>, metadata: ResponseMetadata) {
        let receiver = MessageChannelReceiver(channel)
        self.init(metadata: metadata, makeNext: {
            {
                do {
                    return try await receiver.next()
                } catch is CancellationError {
                    throw RPCError(.cancelled, "the call was cancelled")
                }
            }
        })
    }

    /// A response stream that ends at once with `error`, e.g. UNIMPLEMENTED for an unknown method.
    init(failing error: RPCError) {
        self.init(metadata: ResponseMetadata(initial: [:], trailing: error.metadata), makeNext: {
            var thrown = false
            return {
                guard !thrown else { return nil }
                thrown = true
                throw error
            }
        })
    }
}
