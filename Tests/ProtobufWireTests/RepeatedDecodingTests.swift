import ProtobufWire
import Testing

/// Parsers must accept packed and unpacked encodings of every repeated numeric kind, whatever the
/// schema declares (https://protobuf.dev/programming-guides/encoding/#packed).
@Suite("Decoding repeated fields")
struct RepeatedDecodingTests {
    /// Every packable kind, with sample values including the awkward ones.
    enum Kind: String, CaseIterable, Sendable {
        case int32, int64, uint32, uint64, sint32, sint64, fixed32, fixed64, sfixed32, sfixed64, float, double, bool,
            enumeration
    }

    /// Encodes `values` unpacked, packed, and as a packed run followed by an unpacked value, decodes
    /// all three, and checks each against what was written.
    func check<T: Equatable>(
        _ values: [T],
        writeOne: (inout ProtoWriter, T) -> Void,
        writePacked: (inout ProtoWriter, [T]) -> Void,
        read: (inout ProtoReader, FieldTag, inout [T]) throws(ProtoDecodingError) -> Void
    ) throws {
        func decodeAll(_ bytes: [UInt8]) throws -> [T] {
            let outcome = bytes.withUnsafeBytes { buffer -> Result<[T], ProtoDecodingError> in
                var reader = ProtoReader(buffer: buffer)
                var decoded: [T] = []
                do throws(ProtoDecodingError) {
                    while let tag = try reader.nextTag() {
                        try read(&reader, tag, &decoded)
                    }
                    return .success(decoded)
                } catch {
                    return .failure(error)
                }
            }
            return try outcome.get()
        }
        let unpacked = encoded { writer in values.forEach { writeOne(&writer, $0) } }
        let packed = encoded { writePacked(&$0, values) }
        let mixed = encoded { writer in
            writePacked(&writer, values)
            writeOne(&writer, values[0])
            writePacked(&writer, values)
        }
        #expect(unpacked != packed)
        #expect(try decodeAll(unpacked) == values, "unpacked")
        #expect(try decodeAll(packed) == values, "packed")
        #expect(try decodeAll(mixed) == values + [values[0]] + values, "packed, unpacked, packed")
    }

    @Test("packed and unpacked encodings both decode, and runs append", arguments: Kind.allCases)
    func bothEncodingsAccepted(kind: Kind) throws {
        switch kind {
        case .int32:
            try check(
                [1, -1, .max, .min, 0], writeOne: { $0.writeInt32($1, field: 1) },
                writePacked: { $0.writePackedInt32($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedInt32(t, into: &v, field: "t.v") })
        case .int64:
            try check(
                [1, -1, .max, .min, 0], writeOne: { $0.writeInt64($1, field: 1) },
                writePacked: { $0.writePackedInt64($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedInt64(t, into: &v, field: "t.v") })
        case .uint32:
            try check(
                [1, 300, .max, 0], writeOne: { $0.writeUInt32($1, field: 1) },
                writePacked: { $0.writePackedUInt32($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedUInt32(t, into: &v, field: "t.v") })
        case .uint64:
            try check(
                [1, 300, .max, 0], writeOne: { $0.writeUInt64($1, field: 1) },
                writePacked: { $0.writePackedUInt64($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedUInt64(t, into: &v, field: "t.v") })
        case .sint32:
            try check(
                [1, -1, .max, .min, 0], writeOne: { $0.writeSInt32($1, field: 1) },
                writePacked: { $0.writePackedSInt32($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedSInt32(t, into: &v, field: "t.v") })
        case .sint64:
            try check(
                [1, -1, .max, .min, 0], writeOne: { $0.writeSInt64($1, field: 1) },
                writePacked: { $0.writePackedSInt64($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedSInt64(t, into: &v, field: "t.v") })
        case .fixed32:
            try check(
                [1, .max, 0], writeOne: { $0.writeFixed32($1, field: 1) },
                writePacked: { $0.writePackedFixed32($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedFixed32(t, into: &v, field: "t.v") })
        case .fixed64:
            try check(
                [1, .max, 0], writeOne: { $0.writeFixed64($1, field: 1) },
                writePacked: { $0.writePackedFixed64($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedFixed64(t, into: &v, field: "t.v") })
        case .sfixed32:
            try check(
                [1, -1, .min, .max], writeOne: { $0.writeSFixed32($1, field: 1) },
                writePacked: { $0.writePackedSFixed32($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedSFixed32(t, into: &v, field: "t.v") })
        case .sfixed64:
            try check(
                [1, -1, .min, .max], writeOne: { $0.writeSFixed64($1, field: 1) },
                writePacked: { $0.writePackedSFixed64($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedSFixed64(t, into: &v, field: "t.v") })
        case .float:
            try check(
                [1.5, -0.0, .infinity, 3], writeOne: { $0.writeFloat($1, field: 1) },
                writePacked: { $0.writePackedFloat($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedFloat(t, into: &v, field: "t.v") })
        case .double:
            try check(
                [1.5, -0.0, -.infinity, 3], writeOne: { $0.writeDouble($1, field: 1) },
                writePacked: { $0.writePackedDouble($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedDouble(t, into: &v, field: "t.v") })
        case .bool:
            try check(
                [true, false, true], writeOne: { $0.writeBool($1, field: 1) },
                writePacked: { $0.writePackedBool($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedBool(t, into: &v, field: "t.v") })
        case .enumeration:
            try check(
                [Effect.permit, .deny, .UNRECOGNIZED(-5), .unspecified], writeOne: { $0.writeEnum($1, field: 1) },
                writePacked: { $0.writePackedEnum($1, field: 1) },
                read: { (r, t, v) throws(ProtoDecodingError) in try r.readRepeatedEnum(t, into: &v, field: "t.v") })
        }
    }

    @Test("an empty packed run adds nothing")
    func emptyPackedRun() throws {
        var values: [Int32] = [4]
        try decodeFirstField(hex("0a 00")) { (r, t) throws(ProtoDecodingError) in
            try r.readRepeatedInt32(t, into: &values, field: "t.v")
        }
        #expect(values == [4])
    }

    @Test("a packed fixed32 run whose length isn't a multiple of 4 is rejected")
    func raggedPackedFixed() {
        var values: [UInt32] = []
        #expect(
            throws: ProtoDecodingError(
                kind: .truncated, field: "t.v", offset: 1,
                problem: "packed field of 7 bytes is not a whole number of 4-byte values")
        ) {
            try decodeFirstField(hex("0a 07 01 00 00 00 02 00 00")) { (r, t) throws(ProtoDecodingError) in
                try r.readRepeatedFixed32(t, into: &values, field: "t.v")
            }
        }
    }

    @Test("a varint cut off by the end of its packed run is truncated, not read from the next field")
    func varintStraddlingPackedEnd() {
        var values: [UInt64] = []
        let error = #expect(throws: ProtoDecodingError.self) {
            try decodeFirstField(hex("0a 02 01 96 01 08 01")) { (r, t) throws(ProtoDecodingError) in
                try r.readRepeatedUInt64(t, into: &values, field: "t.v")
            }
        }
        #expect(error?.kind == .truncated)
        #expect(error?.field == "t.v")
        #expect(error?.offset == 3)
    }

    @Test("a repeated fixed kind rejects a varint-typed element")
    func repeatedWrongWireType() {
        var values: [Double] = []
        let error = #expect(throws: ProtoDecodingError.self) {
            try decodeFirstField(hex("08 01")) { (r, t) throws(ProtoDecodingError) in
                try r.readRepeatedDouble(t, into: &values, field: "t.v")
            }
        }
        #expect(error?.kind == .wrongWireType)
        #expect(error?.field == "t.v")
    }
}
