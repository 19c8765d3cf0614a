import ProtobufWire
import Testing

/// Byte-exact encodings of every singular `write...` method, checked against
/// https://protobuf.dev/programming-guides/encoding/ .
@Suite("Encoding singular fields")
struct ScalarEncodingTests {
    @Test("the spec's own example: field 1 = 150 is 08 96 01")
    func specExample150() {
        #expect(encoded { $0.writeInt32(150, field: 1) } == hex("08 96 01"))
    }

    @Test("300 takes two varint bytes: ac 02")
    func threeHundred() {
        #expect(encoded { $0.writeUInt32(300, field: 1) } == hex("08 ac 02"))
    }

    @Test("a negative int32 is sign-extended to a 10-byte varint")
    func negativeInt32() {
        #expect(encoded { $0.writeInt32(-1, field: 1) } == hex("08 ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writeInt32(.min, field: 1) } == hex("08 80 80 80 80 f8 ff ff ff ff 01"))
        #expect(encoded { $0.writeInt32(.max, field: 1) } == hex("08 ff ff ff ff 07"))
    }

    @Test("int64, uint32 and uint64 use plain varints")
    func otherVarints() {
        #expect(encoded { $0.writeInt64(-1, field: 1) } == hex("08 ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writeInt64(.max, field: 1) } == hex("08 ff ff ff ff ff ff ff ff 7f"))
        #expect(encoded { $0.writeUInt32(.max, field: 1) } == hex("08 ff ff ff ff 0f"))
        #expect(encoded { $0.writeUInt64(.max, field: 1) } == hex("08 ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writeUInt64(0, field: 1) } == hex("08 00"))
    }

    @Test("sint32 and sint64 zigzag: -1 is 01, 1 is 02, extremes stay short")
    func zigzag() {
        #expect(encoded { $0.writeSInt32(-1, field: 1) } == hex("08 01"))
        #expect(encoded { $0.writeSInt32(1, field: 1) } == hex("08 02"))
        #expect(encoded { $0.writeSInt32(-2, field: 1) } == hex("08 03"))
        #expect(encoded { $0.writeSInt32(.max, field: 1) } == hex("08 fe ff ff ff 0f"))
        #expect(encoded { $0.writeSInt32(.min, field: 1) } == hex("08 ff ff ff ff 0f"))
        #expect(encoded { $0.writeSInt64(-1, field: 1) } == hex("08 01"))
        #expect(encoded { $0.writeSInt64(.min, field: 1) } == hex("08 ff ff ff ff ff ff ff ff ff 01"))
        #expect(encoded { $0.writeSInt64(.max, field: 1) } == hex("08 fe ff ff ff ff ff ff ff ff 01"))
    }

    @Test("bools are one varint byte")
    func bools() {
        #expect(encoded { $0.writeBool(true, field: 1) } == hex("08 01"))
        #expect(encoded { $0.writeBool(false, field: 1) } == hex("08 00"))
    }

    @Test("enums are int32 varints; an unknown negative number takes 10 bytes")
    func enums() {
        #expect(encoded { $0.writeEnum(Effect.deny, field: 5) } == hex("28 02"))
        #expect(encoded { $0.writeEnum(Effect.UNRECOGNIZED(-1), field: 5) } == hex("28 ff ff ff ff ff ff ff ff ff 01"))
    }

    @Test("fixed-width integers are little-endian")
    func fixedWidth() {
        #expect(encoded { $0.writeFixed32(1, field: 1) } == hex("0d 01 00 00 00"))
        #expect(encoded { $0.writeFixed32(0x0102_0304, field: 1) } == hex("0d 04 03 02 01"))
        #expect(encoded { $0.writeFixed64(1, field: 1) } == hex("09 01 00 00 00 00 00 00 00"))
        #expect(encoded { $0.writeSFixed32(-2, field: 1) } == hex("0d fe ff ff ff"))
        #expect(encoded { $0.writeSFixed64(-2, field: 1) } == hex("09 fe ff ff ff ff ff ff ff"))
    }

    @Test("floats and doubles are IEEE 754 bits, little-endian, with -0.0 and NaN kept exactly")
    func floatingPoint() {
        #expect(encoded { $0.writeFloat(1.0, field: 1) } == hex("0d 00 00 80 3f"))
        #expect(encoded { $0.writeFloat(-0.0, field: 1) } == hex("0d 00 00 00 80"))
        #expect(encoded { $0.writeFloat(.nan, field: 1) } == hex("0d 00 00 c0 7f"))
        #expect(encoded { $0.writeFloat(-.infinity, field: 1) } == hex("0d 00 00 80 ff"))
        #expect(encoded { $0.writeDouble(1.0, field: 1) } == hex("09 00 00 00 00 00 00 f0 3f"))
        #expect(encoded { $0.writeDouble(-0.0, field: 1) } == hex("09 00 00 00 00 00 00 00 80"))
        #expect(encoded { $0.writeDouble(.nan, field: 1) } == hex("09 00 00 00 00 00 00 f8 7f"))
    }

    @Test("the spec's string example: field 2 = \"testing\"")
    func strings() {
        #expect(encoded { $0.writeString("testing", field: 2) } == hex("12 07 74 65 73 74 69 6e 67"))
        #expect(encoded { $0.writeString("é", field: 2) } == hex("12 02 c3 a9"))
        #expect(encoded { $0.writeString("", field: 2) } == hex("12 00"))
    }

    @Test("bytes are length-prefixed as they are")
    func bytes() {
        #expect(encoded { $0.writeBytes([1, 2, 3], field: 3) } == hex("1a 03 01 02 03"))
        #expect(encoded { $0.writeBytes([], field: 3) } == hex("1a 00"))
    }

    @Test("tags: field 16 needs two bytes, the largest field number five")
    func tags() {
        #expect(encoded { $0.writeTag(field: 1, wireType: .varint) } == hex("08"))
        #expect(encoded { $0.writeTag(field: 15, wireType: .lengthDelimited) } == hex("7a"))
        #expect(encoded { $0.writeTag(field: 16, wireType: .varint) } == hex("80 01"))
        #expect(encoded { $0.writeTag(field: 536_870_911, wireType: .fixed32) } == hex("fd ff ff ff 0f"))
        #expect(encoded { $0.writeTag(field: 3, wireType: .startGroup) } == hex("1b"))
        #expect(encoded { $0.writeTag(field: 3, wireType: .endGroup) } == hex("1c"))
    }

    @Test("raw varints and raw bytes carry no tag")
    func rawWrites() {
        #expect(encoded { $0.writeRawVarint(0) } == hex("00"))
        #expect(encoded { $0.writeRawVarint(1 << 63) } == hex("80 80 80 80 80 80 80 80 80 01"))
        #expect(encoded { $0.writeRawBytes([9, 8, 7]) } == [9, 8, 7])
        #expect(encoded { $0.writeUnknown(UnknownFields(bytes: hex("b8 01 05"))) } == hex("b8 01 05"))
    }

    @Test("an embedded message is tag, length, fields")
    func message() {
        let author = Clinician(name: "a", licence: 7)
        #expect(encoded { $0.writeMessage(author, field: 3) } == hex("1a 05 0a 01 61 10 07"))
        #expect(encoded { $0.writeMessage(Clinician(), field: 3) } == hex("1a 00"))
    }

    @Test("a map entry written with writeLengthDelimited holds key 1 and value 2")
    func mapEntry() {
        let entry = encoded { writer in
            writer.writeLengthDelimited(field: 4) { entry in
                entry.writeString("k", field: 1)
                entry.writeInt32(0, field: 2)
            }
        }
        #expect(entry == hex("22 05 0a 01 6b 10 00"))
    }

    @Test("empty versus absent is the caller's choice: proto3 skips \"\", `optional` writes it")
    func emptyVersusAbsent() {
        var note = Note()
        note.text = ""
        #expect(note.serializedBytes() == [])

        var withNickname = Clinician()
        withNickname.nickname = ""
        #expect(withNickname.serializedBytes() == hex("1a 00"))
        #expect(Clinician().serializedBytes() == [])

        let decoded = try? Clinician(serializedBytes: hex("1a 00"))
        #expect(decoded?.nickname == "")
        #expect((try? Clinician(serializedBytes: []))?.nickname == nil)
    }

    @Test("fields written one after another appear in call order; the writer grows as needed")
    func sequencesAndGrowth() {
        var writer = ProtoWriter(reservingCapacity: 2)
        writer.writeInt32(1, field: 1)
        writer.writeString(String(repeating: "x", count: 1000), field: 2)
        writer.writeInt32(2, field: 3)
        let bytes = writer.bytes
        #expect(bytes.count == 2 + 3 + 1000 + 2)
        #expect(Array(bytes.prefix(5)) == hex("08 01 12 e8 07"))
        #expect(Array(bytes.suffix(2)) == hex("18 02"))
        #expect(writer.byteCount == bytes.count)
        #expect(writer.takeBytes() == bytes)
        #expect(writer.bytes == [])
    }
}
