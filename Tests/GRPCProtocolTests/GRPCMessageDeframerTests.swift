import GRPCProtocol
import RPCCore
import Testing

/// "DATA frame boundaries have no relation to Length-Prefixed-Message boundaries" (PROTOCOL-HTTP2.md).
@Suite("Message deframer")
struct GRPCMessageDeframerTests {
    static let messages: [[UInt8]] = [
        [], sampleMessage(length: 1), sampleMessage(length: 4), sampleMessage(length: 5), [],
        sampleMessage(length: 300, seed: 2), sampleMessage(length: 70_000, seed: 3), [], sampleMessage(length: 17),
    ]

    static var stream: [UInt8] {
        var bytes: [UInt8] = []
        for message in messages { GRPCMessageFramer.append(message, compressed: false, to: &bytes) }
        return bytes
    }

    @Test("given a stream fed one byte at a time, every message comes out whole and in order")
    func byteByByte() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 1 << 20, encoding: .identity)
        var received: [[UInt8]] = []
        for byte in Self.stream {
            deframer.append([byte])
            received += try deframer.drain()
        }
        #expect(received == Self.messages)
        #expect(!deframer.hasPartialMessage)
    }

    @Test("given random splits, the messages are the same", arguments: 0..<25)
    func randomSplits(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let stream = Self.stream
        var deframer = GRPCMessageDeframer(maxMessageSize: 1 << 20, encoding: .identity)
        var received: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            // Mostly small pieces, sometimes large ones, like DATA frames of a busy connection.
            let limit = Bool.random(using: &generator) ? 16 : 40_000
            let size = min(Int.random(in: 0...limit, using: &generator), stream.count - offset)
            stream[offset..<(offset + size)].withUnsafeBytes { deframer.append($0) }
            offset += size
            if Bool.random(using: &generator) { received += try deframer.drain() }
        }
        received += try deframer.drain()
        #expect(received == Self.messages)
        #expect(!deframer.hasPartialMessage)
    }

    @Test("given many messages in one append, all come out of one append")
    func manyPerAppend() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 1 << 20, encoding: .identity)
        deframer.append(Self.stream)
        #expect(try deframer.drain() == Self.messages)
        #expect(try deframer.nextMessage() == nil)
    }

    @Test("a thousand zero-length messages are a thousand empty messages")
    func zeroLength() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 0, encoding: .identity)
        var stream: [UInt8] = []
        for _ in 0..<1000 { GRPCMessageFramer.append([], compressed: false, to: &stream) }
        deframer.append(stream)
        let received = try deframer.drain()
        #expect(received.count == 1000)
        #expect(received.allSatisfy { $0.isEmpty })
    }

    @Test("an incomplete prefix or body is a partial message and yields nothing yet")
    func partial() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 100, encoding: .identity)
        #expect(!deframer.hasPartialMessage)
        deframer.append(hex("00 0000"))
        #expect(deframer.hasPartialMessage)
        #expect(try deframer.nextMessage() == nil)
        deframer.append(hex("00 03 AABB"))
        #expect(deframer.hasPartialMessage)
        #expect(try deframer.nextMessage() == nil)
        deframer.append(hex("CC"))
        #expect(try deframer.nextMessage() == hex("AABBCC"))
        #expect(!deframer.hasPartialMessage)
    }

    @Test("a message exactly at the limit is accepted; one byte over is RESOURCE_EXHAUSTED")
    func limitBoundary() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 10, encoding: .identity)
        deframer.append(GRPCMessageFramer.frame(sampleMessage(length: 10)))
        #expect(try deframer.nextMessage() == sampleMessage(length: 10))
        deframer.append(GRPCMessageFramer.frame(sampleMessage(length: 11)))
        let error = caughtError { try deframer.nextMessage() }
        #expect(error == RPCError(.resourceExhausted, "received message larger than max (11 vs. 10)"))
    }

    @Test("a 4 GiB length prefix is refused from the prefix alone, before any body byte is buffered")
    func oversizePrefix() throws {
        var deframer = GRPCMessageDeframer(maxMessageSize: 4 * 1024 * 1024, encoding: .identity)
        // A good message first: it is still delivered, then the error.
        deframer.append(GRPCMessageFramer.frame([1, 2, 3]) + hex("00 FFFFFFFF"))
        #expect(try deframer.nextMessage() == [1, 2, 3])
        let error = caughtError { try deframer.nextMessage() }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.message == "received message larger than max (4294967295 vs. 4194304)")
        // The body that follows is ignored, not buffered: the stream is broken for good.
        deframer.append([UInt8](repeating: 0, count: 1 << 16))
        #expect(caughtError { try deframer.nextMessage() } == error)
    }

    @Test("the compressed flag without a grpc-encoding is INTERNAL (compression.md, test case 6)")
    func compressedFlagWithoutEncoding() {
        var deframer = GRPCMessageDeframer(maxMessageSize: 100, encoding: .identity)
        deframer.append(hex("01 00000002 AAAA"))
        let error = caughtError { try deframer.nextMessage() }
        #expect(error == RPCError(.internalError, "compressed flag set without grpc-encoding"))
    }

    @Test("a flag other than 0 or 1 is INTERNAL")
    func invalidFlag() {
        var deframer = GRPCMessageDeframer(maxMessageSize: 100, encoding: .gzip)
        deframer.append(hex("02 00000000"))
        #expect(caughtError { try deframer.nextMessage() }?.code == .internalError)
    }

    @Test("compressed and uncompressed messages mix on one stream", arguments: [MessageEncoding.gzip, .deflate])
    func mixedCompression(encoding: MessageEncoding) throws {
        let messages = [
            sampleMessage(length: 1000), [], sampleMessage(length: 3, seed: 9), sampleMessage(length: 5000),
        ]
        var stream: [UInt8] = []
        for (index, message) in messages.enumerated() {
            GRPCMessageFramer.append(message, encoding: index.isMultiple(of: 2) ? encoding : .identity, to: &stream)
        }
        var deframer = GRPCMessageDeframer(maxMessageSize: 1 << 16, encoding: encoding)
        for byte in stream { deframer.append([byte]) }
        #expect(try deframer.drain() == messages)
    }

    @Test("a compressed message that inflates past the limit is RESOURCE_EXHAUSTED")
    func compressedOverLimit() {
        let message = [UInt8](repeating: 0, count: 100_000)
        var stream: [UInt8] = []
        GRPCMessageFramer.append(message, encoding: .gzip, to: &stream)
        #expect(stream.count < 1000)
        var deframer = GRPCMessageDeframer(maxMessageSize: 50_000, encoding: .gzip)
        deframer.append(stream)
        #expect(caughtError { try deframer.nextMessage() }?.code == .resourceExhausted)
    }

    @Test("a corrupt compressed message is INTERNAL")
    func corruptCompressed() {
        var deframer = GRPCMessageDeframer(maxMessageSize: 100, encoding: .gzip)
        deframer.append(hex("01 00000004 DEADBEEF"))
        #expect(caughtError { try deframer.nextMessage() }?.code == .internalError)
    }
}
