import ProtobufWire
import Testing

/// Nested bodies reserve one length byte and are shifted right when the length needs more;
/// these stories pin the boundaries where the varint grows (128 and 16384 bytes).
@Suite("Length prefixes of nested messages")
struct LengthPrefixTests {
    /// A body of `count` bytes whose contents show where each byte moved.
    static func body(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test(
        "a message body of n bytes is written after a varint of n, even when the varint needs more than the one reserved byte",
        arguments: [0, 1, 127, 128, 129, 300, 16383, 16384, 16385, 2_097_151, 2_097_152])
    func messageBody(size: Int) {
        let body = Self.body(size)
        let bytes = encoded { writer in
            writer.writeString("before", field: 2)
            writer.writeMessage(Opaque(body: body), field: 1)
            writer.writeString("after", field: 2)
        }
        let expected =
            referenceLengthDelimited(field: 2, Array("before".utf8))
            + referenceLengthDelimited(field: 1, body)
            + referenceLengthDelimited(field: 2, Array("after".utf8))
        #expect(bytes.count == expected.count)
        #expect(bytes == expected)
    }

    @Test("writeLengthDelimited shifts its body the same way", arguments: [127, 128, 16383, 16384])
    func lengthDelimitedBody(size: Int) {
        let body = Self.body(size)
        let bytes = encoded { writer in
            writer.writeLengthDelimited(field: 7) { $0.writeRawBytes(body) }
        }
        #expect(bytes == referenceLengthDelimited(field: 7, body))
    }

    @Test("when both an inner and an outer body cross 128 bytes, both lengths grow")
    func nestedShifts() {
        let innerBody = Self.body(200)
        var outer = Note()
        outer.author = Clinician(name: String(repeating: "n", count: 130))
        let bytes = encoded { writer in
            writer.writeLengthDelimited(field: 1) { middle in
                middle.writeMessage(Opaque(body: innerBody), field: 2)
                middle.writeMessage(outer, field: 3)
            }
        }
        let authorBody = referenceLengthDelimited(field: 1, Array(String(repeating: "n", count: 130).utf8))
        let noteBody = referenceLengthDelimited(field: 3, authorBody)
        let expected = referenceLengthDelimited(
            field: 1, referenceLengthDelimited(field: 2, innerBody) + referenceLengthDelimited(field: 3, noteBody))
        #expect(bytes == expected)
    }

    @Test("a recursive message 300 levels deep encodes every level's length correctly")
    func deepRecursion() throws {
        let tree = Tree.chain(depth: 300)
        let bytes = tree.serializedBytes()
        let decoded = try Tree(serializedBytes: bytes, options: DecodingOptions(maxDepth: 1000))
        #expect(decoded == tree)
        #expect(decoded.depth == 300)
    }
}
