import HTTP2Transport
import RPCCore
import Synchronization
import Testing

/// Flow control end to end: a reader that stops reading stops the writer on the other side, so memory stays
/// bounded however much the writer has to send.
@Suite("Backpressure")
struct BackpressureTests {
    static let chunk = 64 * 1024
    static let chunks = 512  // 32 MiB in all

    @Test("a client that stops reading a 32 MiB response stream holds the server handler to a few MiB ahead")
    func slowReaderBoundsServer() async throws {
        let writtenBox = WrittenCounter()
        let descriptor = MethodDescriptor(service: "test.Flood", method: "Download", kind: .serverStreaming)
        let method = ServerMethod(descriptor: descriptor) { requests, responses, _ in
            for try await _ in requests {}
            let message = [UInt8](repeating: 7, count: Self.chunk)
            for _ in 0..<Self.chunks {
                try await responses.write(message)
                writtenBox.add(Self.chunk)
            }
        }
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        let server = GRPCServer(configuration: configuration, services: [ServiceDefinition(name: "test.Flood", methods: [method])])
        let port = try server.start()
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        let responses = try await transport.call(descriptor, requests: RequestStream([[UInt8]()].async), options: CallOptions())
        var iterator = responses.makeAsyncIterator()
        #expect(try await iterator.next()?.count == Self.chunk)
        try await Task.sleep(for: .milliseconds(500))
        let aheadWhileStalled = writtenBox.value
        #expect(aheadWhileStalled < 8 * 1024 * 1024, "the handler wrote \(aheadWhileStalled) bytes ahead of the reader")
        var received = 1
        while let message = try await iterator.next() {
            #expect(message.count == Self.chunk)
            received += 1
        }
        #expect(received == Self.chunks)
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test("a server handler that stops reading a 32 MiB request stream holds the client's writer back")
    func slowHandlerBoundsClient() async throws {
        let gate = CallEvents()
        let descriptor = MethodDescriptor(service: "test.Flood", method: "Upload", kind: .clientStreaming)
        let method = ServerMethod(descriptor: descriptor) { requests, responses, _ in
            var iterator = requests.makeAsyncIterator()
            var count = try await iterator.next() == nil ? 0 : 1
            while !gate.all.contains("go") { try await Task.sleep(for: .milliseconds(10)) }
            while try await iterator.next() != nil { count += 1 }
            try await responses.write(Array(String(count).utf8))
        }
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        let server = GRPCServer(configuration: configuration, services: [ServiceDefinition(name: "test.Flood", methods: [method])])
        let port = try server.start()
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        let producedBox = WrittenCounter()
        let source = CountingSource(total: Self.chunks, size: Self.chunk, counter: producedBox)
        let responses = try await transport.call(descriptor, requests: RequestStream(source), options: CallOptions())
        try await Task.sleep(for: .milliseconds(500))
        let aheadWhileStalled = producedBox.value
        #expect(aheadWhileStalled < 8 * 1024 * 1024, "the client produced \(aheadWhileStalled) bytes ahead of the handler")
        gate.record("go")
        var answer: [UInt8] = []
        for try await message in responses { answer = message }
        #expect(String(decoding: answer, as: UTF8.self) == String(Self.chunks))
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }
}

/// Counts bytes across tasks.
final class WrittenCounter: Sendable {
    private let counter = Atomic<Int>(0)
    func add(_ count: Int) { counter.wrappingAdd(count, ordering: .relaxed) }
    var value: Int { counter.load(ordering: .relaxed) }
}

/// `total` messages of `size` bytes, made on demand, counting the bytes handed out.
struct CountingSource: AsyncSequence, Sendable {
    let total: Int
    let size: Int
    let counter: WrittenCounter

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: Int
        let size: Int
        let counter: WrittenCounter
        mutating func next() async -> [UInt8]? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            counter.add(size)
            return [UInt8](repeating: 1, count: size)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: total, size: size, counter: counter) }
}
