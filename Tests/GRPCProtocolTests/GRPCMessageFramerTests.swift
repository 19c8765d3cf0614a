import GRPCProtocol
import Testing

/// Length-Prefixed-Message: Compressed-Flag (1 byte), Message-Length (4 bytes, big endian), Message.
@Suite("Message framer")
struct GRPCMessageFramerTests {
    @Test("a message is prefixed with its flag and big-endian length")
    func prefix() {
        var buffer: [UInt8] = []
        GRPCMessageFramer.append([0x0A, 0x01, 0x41], compressed: false, to: &buffer)
        #expect(buffer == hex("00 00000003 0A0141"))
        GRPCMessageFramer.append([], compressed: true, to: &buffer)
        #expect(buffer == hex("00 00000003 0A0141  01 00000000"))
    }

    @Test("lengths use all four bytes, most significant first")
    func bigEndianLength() {
        let message = [UInt8](repeating: 7, count: 0x01_02_03)
        let frame = GRPCMessageFramer.frame(message)
        #expect(Array(frame.prefix(5)) == hex("00 00010203"))
        #expect(frame.count == 5 + 0x01_02_03)
    }

    @Test("framing many messages into one buffer stays linear", .timeLimit(.minutes(1)))
    func manyMessagesIntoOneBuffer() {
        var buffer: [UInt8] = []
        let message = sampleMessage(length: 20)
        for _ in 0..<200_000 { GRPCMessageFramer.append(message, compressed: false, to: &buffer) }
        #expect(buffer.count == 200_000 * 25)
        #expect(buffer.capacity < 2 * buffer.count + 64)
    }

    @Test("framing with an encoding compresses and sets the flag; identity leaves both alone")
    func framingWithEncoding() throws {
        let message = Array(String(repeating: "consent ", count: 100).utf8)
        var plain: [UInt8] = []
        GRPCMessageFramer.append(message, encoding: .identity, to: &plain)
        #expect(plain == GRPCMessageFramer.frame(message))

        var zipped: [UInt8] = []
        GRPCMessageFramer.append(message, encoding: .gzip, to: &zipped)
        #expect(zipped[0] == 1)
        #expect(zipped.count < plain.count)
        var deframer = GRPCMessageDeframer(maxMessageSize: 4096, encoding: .gzip)
        deframer.append(zipped)
        #expect(try deframer.drain() == [message])
    }
}
