import RPCCore
import Synchronization

/// Counts the messages of one direction of one call (for rpc.*.requests_per_rpc and responses_per_rpc).
final class MessageCounter: Sendable {
    private let count = Atomic(0)

    /// The messages counted so far.
    var value: Int { count.load(ordering: .relaxed) }

    /// Counts one message.
    func increment() {
        count.add(1, ordering: .relaxed)
    }
}

extension RequestStream where Message == [UInt8] {
    /// The same requests, each counted by `counter` as it is read.
    func counted(by counter: MessageCounter) -> RequestStream<[UInt8]> {
        RequestStream(CountedMessages(base: self, counter: counter))
    }
}

extension ResponseStream where Message == [UInt8] {
    /// The same responses, each counted by `counter` as it is read.
    func counted(by counter: MessageCounter) -> ResponseStream<[UInt8]> {
        ResponseStream(CountedMessages(base: self, counter: counter), metadata: metadata)
    }
}

extension ResponseWriter where Message == [UInt8] {
    /// A writer that passes each message on and counts it once it was accepted.
    func counted(by counter: MessageCounter) -> ResponseWriter<[UInt8]> {
        ResponseWriter { message in
            try await self.write(message)
            counter.increment()
        }
    }
}

/// A sequence that counts the messages of `base` as they pass.
private struct CountedMessages<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable {
    typealias Element = Base.Element

    let base: Base
    let counter: MessageCounter

    func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), counter: counter)
    }

    struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let counter: MessageCounter

        mutating func next() async throws -> Base.Element? {
            guard let message = try await base.next() else { return nil }
            counter.increment()
            return message
        }
    }
}
