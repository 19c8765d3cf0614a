import ProtobufWire
import Testing

/// Packed repeated fields: one length-delimited field holding the values back to back.
@Suite("Encoding packed repeated fields")
struct PackedEncodingTests {
    @Test("the spec's packed example: field 4 = [3, 270, 86942]")
    func specExample() {
        #expect(encoded { $0.writePackedInt32([3, 270, 86942], field: 4) } == hex("22 06 03 8e 02 9e a7 05"))
    }

    @Test("an empty array writes nothing at all")
    func emptyWritesNothing() {
        let nothing = encoded { writer in
            writer.writePackedInt32([], field: 1)
            writer.writePackedInt64([], field: 1)
            writer.writePackedUInt32([], field: 1)
            writer.writePackedUInt64([], field: 1)
            writer.writePackedSInt32([], field: 1)
            writer.writePackedSInt64([], field: 1)
            writer.writePackedFixed32([], field: 1)
            writer.writePackedFixed64([], field: 1)
            writer.writePackedSFixed32([], field: 1)
            writer.writePackedSFixed64([], field: 1)
            writer.writePackedFloat([], field: 1)
            writer.writePackedDouble([], field: 1)
            writer.writePackedBool([], field: 1)
            writer.writePackedEnum([Effect](), field: 1)
        }
        #expect(nothing == [])
    }

    @Test("varint kinds: negative int32 and enums take 10 bytes each, sint zigzags")
    func varintKinds() {
        #expect(encoded { $0.writePackedInt32([-1], field: 1) } == hex("0a 0a ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writePackedInt64([1, -1], field: 1) } == hex("0a 0b 01 ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writePackedUInt32([1, 300], field: 1) } == hex("0a 03 01 ac 02"))
        #expect(encoded { $0.writePackedUInt64([.max], field: 1) } == hex("0a 0a ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writePackedSInt32([-1, 1, -2], field: 1) } == hex("0a 03 01 02 03"))
        #expect(
            encoded { $0.writePackedSInt64([-1, .min], field: 1) } == hex("0a 0b 01 ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writePackedBool([true, false, true], field: 1) } == hex("0a 03 01 00 01"))
        #expect(
            encoded { $0.writePackedEnum([Effect.permit, .UNRECOGNIZED(-2)], field: 1) }
                == hex("0a 0b 01 fe ff ff ff ff ff ff ff ff 01"))
    }

    @Test("fixed kinds are little-endian values back to back")
    func fixedKinds() {
        #expect(encoded { $0.writePackedFixed32([1, 2], field: 1) } == hex("0a 08 01 00 00 00 02 00 00 00"))
        #expect(encoded { $0.writePackedFixed64([1], field: 1) } == hex("0a 08 01 00 00 00 00 00 00 00"))
        #expect(encoded { $0.writePackedSFixed32([-1], field: 1) } == hex("0a 04 ff ff ff ff"))
        #expect(encoded { $0.writePackedSFixed64([-2], field: 1) } == hex("0a 08 fe ff ff ff ff ff ff ff"))
        #expect(encoded { $0.writePackedFloat([1.0, -0.0], field: 1) } == hex("0a 08 00 00 80 3f 00 00 00 80"))
        #expect(encoded { $0.writePackedDouble([1.0], field: 1) } == hex("0a 08 00 00 00 00 00 00 f0 3f"))
    }

    @Test("a packed run longer than 127 bytes gets a two-byte length")
    func longRun() {
        let values = [UInt32](repeating: 7, count: 200)
        let bytes = encoded { $0.writePackedUInt32(values, field: 1) }
        #expect(bytes == referenceLengthDelimited(field: 1, [UInt8](repeating: 7, count: 200)))
    }
}
