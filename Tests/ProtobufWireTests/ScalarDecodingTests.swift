import ProtobufWire
import Testing

/// Reading singular fields back, including the lenient rules protobuf parsers follow.
@Suite("Decoding singular fields")
struct ScalarDecodingTests {
    @Test("every kind reads back what its writer wrote, at the extremes")
    func roundTrips() throws {
        for value: Int32 in [0, 1, -1, .min, .max] {
            #expect(
                try decodeFirstField(encoded { $0.writeInt32(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readInt32(t, field: "t.int32")
                } == value)
            #expect(
                try decodeFirstField(encoded { $0.writeSInt32(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readSInt32(t, field: "t.sint32")
                } == value)
            #expect(
                try decodeFirstField(encoded { $0.writeSFixed32(value, field: 1) }) {
                    (r, t) throws(ProtoDecodingError) in try r.readSFixed32(t, field: "t.sfixed32")
                } == value)
        }
        for value: Int64 in [0, 1, -1, .min, .max] {
            #expect(
                try decodeFirstField(encoded { $0.writeInt64(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readInt64(t, field: "t.int64")
                } == value)
            #expect(
                try decodeFirstField(encoded { $0.writeSInt64(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readSInt64(t, field: "t.sint64")
                } == value)
            #expect(
                try decodeFirstField(encoded { $0.writeSFixed64(value, field: 1) }) {
                    (r, t) throws(ProtoDecodingError) in try r.readSFixed64(t, field: "t.sfixed64")
                } == value)
        }
        for value: UInt32 in [0, 1, 300, .max] {
            #expect(
                try decodeFirstField(encoded { $0.writeUInt32(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readUInt32(t, field: "t.uint32")
                } == value)
            #expect(
                try decodeFirstField(encoded { $0.writeFixed32(value, field: 1) }) {
                    (r, t) throws(ProtoDecodingError) in try r.readFixed32(t, field: "t.fixed32")
                } == value)
        }
        for value: UInt64 in [0, 1, 300, .max] {
            #expect(
                try decodeFirstField(encoded { $0.writeUInt64(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readUInt64(t, field: "t.uint64")
                } == value)
            #expect(
                try decodeFirstField(encoded { $0.writeFixed64(value, field: 1) }) {
                    (r, t) throws(ProtoDecodingError) in try r.readFixed64(t, field: "t.fixed64")
                } == value)
        }
        for value in [true, false] {
            #expect(
                try decodeFirstField(encoded { $0.writeBool(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readBool(t, field: "t.bool")
                } == value)
        }
        for value: Float in [0, -0.0, 1.5, .infinity, .nan, .leastNonzeroMagnitude] {
            let read = try decodeFirstField(encoded { $0.writeFloat(value, field: 1) }) {
                (r, t) throws(ProtoDecodingError) in try r.readFloat(t, field: "t.float")
            }
            #expect(read.bitPattern == value.bitPattern)
        }
        for value: Double in [0, -0.0, 1.5, -.infinity, .nan, .greatestFiniteMagnitude] {
            let read = try decodeFirstField(encoded { $0.writeDouble(value, field: 1) }) {
                (r, t) throws(ProtoDecodingError) in try r.readDouble(t, field: "t.double")
            }
            #expect(read.bitPattern == value.bitPattern)
        }
        for value in ["", "a", "héllo", "🩺 record", String(repeating: "z", count: 5000)] {
            #expect(
                try decodeFirstField(encoded { $0.writeString(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readString(t, field: "t.string")
                } == value)
        }
        for value: [UInt8] in [[], [0], [0xFF, 0x00, 0x80], [UInt8](repeating: 0xAB, count: 65536)] {
            #expect(
                try decodeFirstField(encoded { $0.writeBytes(value, field: 1) }) { (r, t) throws(ProtoDecodingError) in
                    try r.readBytes(t, field: "t.bytes")
                } == value)
        }
    }

    @Test("an int32 read from a wider varint keeps the low 32 bits, as protobuf does")
    func int32Truncates() throws {
        let wide = hex("08") + referenceVarint(1 << 32 | 5)
        #expect(
            try decodeFirstField(wide) { (r, t) throws(ProtoDecodingError) in try r.readInt32(t, field: "t.int32") }
                == 5)
        #expect(
            try decodeFirstField(wide) { (r, t) throws(ProtoDecodingError) in try r.readUInt32(t, field: "t.uint32") }
                == 5)
        // A negative int32 sent as a 5-byte varint (some old encoders did) still reads as -1.
        #expect(
            try decodeFirstField(hex("08 ff ff ff ff 0f")) { (r, t) throws(ProtoDecodingError) in
                try r.readInt32(t, field: "t.int32")
            } == -1)
        #expect(
            try decodeFirstField(hex("08 ff ff ff ff 0f")) { (r, t) throws(ProtoDecodingError) in
                try r.readSInt32(t, field: "t.sint32")
            } == .min)
    }

    @Test("a bool is true for any non-zero varint, even one with only the 64th bit set")
    func boolIsAnyNonZero() throws {
        #expect(
            try decodeFirstField(hex("08 02")) { (r, t) throws(ProtoDecodingError) in try r.readBool(t, field: "t.bool")
            })
        #expect(
            try decodeFirstField(hex("08 80 80 80 80 80 80 80 80 80 01")) { (r, t) throws(ProtoDecodingError) in
                try r.readBool(t, field: "t.bool")
            })
        #expect(
            try !decodeFirstField(hex("08 80 00")) { (r, t) throws(ProtoDecodingError) in
                try r.readBool(t, field: "t.bool")
            })
    }

    @Test("an enum number the schema doesn't name is kept as UNRECOGNIZED and written back unchanged")
    func openEnums() throws {
        let effect: Effect = try decodeFirstField(hex("28 63")) { (r, t) throws(ProtoDecodingError) in
            try r.readEnum(t, field: "t.effect")
        }
        #expect(effect == .UNRECOGNIZED(99))
        #expect(encoded { $0.writeEnum(effect, field: 5) } == hex("28 63"))
        let negative: Effect = try decodeFirstField(hex("28 fe ff ff ff ff ff ff ff ff 01")) {
            (r, t) throws(ProtoDecodingError) in try r.readEnum(t, field: "t.effect")
        }
        #expect(negative == .UNRECOGNIZED(-2))
    }

    @Test("a non-minimal varint (padded with 0x80 bytes) is still accepted")
    func nonMinimalVarint() throws {
        #expect(
            try decodeFirstField(hex("08 81 80 80 00")) { (r, t) throws(ProtoDecodingError) in
                try r.readUInt64(t, field: "t.uint64")
            } == 1)
    }

    @Test("tags carry the field number and wire type; field 16 and the largest number decode")
    func tags() throws {
        var bytes = encoded { $0.writeTag(field: 536_870_911, wireType: .fixed32) }
        bytes += [0, 0, 0, 0]
        let tag = try decodeFirstField(bytes) { (_, t) throws(ProtoDecodingError) in t }
        #expect(tag == FieldTag(fieldNumber: 536_870_911, wireType: .fixed32))
        let sixteen = try decodeFirstField(hex("80 01 00")) { (_, t) throws(ProtoDecodingError) in t }
        #expect(sixteen == FieldTag(fieldNumber: 16, wireType: .varint))
    }
}
