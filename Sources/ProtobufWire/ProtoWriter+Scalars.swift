/// Singular scalar fields: https://protobuf.dev/programming-guides/encoding/ .
extension ProtoWriter {
    /// Writes an int32; negative values are sign-extended to a 10-byte varint, as the spec requires.
    @inlinable
    public mutating func writeInt32(_ v: Int32, field: Int) {
        writeVarintField(UInt64(bitPattern: Int64(v)), field: field)
    }

    /// Writes an int64 as a varint (negative values take 10 bytes).
    @inlinable
    public mutating func writeInt64(_ v: Int64, field: Int) {
        writeVarintField(UInt64(bitPattern: v), field: field)
    }

    /// Writes a uint32 as a varint.
    @inlinable
    public mutating func writeUInt32(_ v: UInt32, field: Int) {
        writeVarintField(UInt64(v), field: field)
    }

    /// Writes a uint64 as a varint.
    @inlinable
    public mutating func writeUInt64(_ v: UInt64, field: Int) {
        writeVarintField(v, field: field)
    }

    /// Writes a sint32 zigzag-encoded, so -1 takes one byte.
    @inlinable
    public mutating func writeSInt32(_ v: Int32, field: Int) {
        writeVarintField(UInt64(Varint.zigzag(v)), field: field)
    }

    /// Writes a sint64 zigzag-encoded.
    @inlinable
    public mutating func writeSInt64(_ v: Int64, field: Int) {
        writeVarintField(Varint.zigzag(v), field: field)
    }

    /// Writes a bool as a one-byte varint (0 or 1).
    @inlinable
    public mutating func writeBool(_ v: Bool, field: Int) {
        writeVarintField(v ? 1 : 0, field: field)
    }

    /// Writes an enum as its int32 number (negative numbers take 10 bytes).
    @inlinable
    public mutating func writeEnum<E: ProtoEnum>(_ v: E, field: Int) {
        writeInt32(v.rawValue, field: field)
    }

    /// Writes a fixed32: four bytes, little-endian.
    @inlinable
    public mutating func writeFixed32(_ v: UInt32, field: Int) {
        let key = Varint.key(field: field, wireType: .fixed32)
        appendUnsafe(maxByteCount: 14) { pointer in
            let keyLength = Varint.store(key, at: pointer)
            pointer.storeBytes(of: v.littleEndian, toByteOffset: keyLength, as: UInt32.self)
            return keyLength &+ 4
        }
    }

    /// Writes a fixed64: eight bytes, little-endian.
    @inlinable
    public mutating func writeFixed64(_ v: UInt64, field: Int) {
        let key = Varint.key(field: field, wireType: .fixed64)
        appendUnsafe(maxByteCount: 18) { pointer in
            let keyLength = Varint.store(key, at: pointer)
            pointer.storeBytes(of: v.littleEndian, toByteOffset: keyLength, as: UInt64.self)
            return keyLength &+ 8
        }
    }

    /// Writes an sfixed32: the two's-complement bits as a fixed32.
    @inlinable
    public mutating func writeSFixed32(_ v: Int32, field: Int) {
        writeFixed32(UInt32(bitPattern: v), field: field)
    }

    /// Writes an sfixed64: the two's-complement bits as a fixed64.
    @inlinable
    public mutating func writeSFixed64(_ v: Int64, field: Int) {
        writeFixed64(UInt64(bitPattern: v), field: field)
    }

    /// Writes a float as its IEEE 754 bits, little-endian (NaN payloads and -0.0 kept).
    @inlinable
    public mutating func writeFloat(_ v: Float, field: Int) {
        writeFixed32(v.bitPattern, field: field)
    }

    /// Writes a double as its IEEE 754 bits, little-endian (NaN payloads and -0.0 kept).
    @inlinable
    public mutating func writeDouble(_ v: Double, field: Int) {
        writeFixed64(v.bitPattern, field: field)
    }

    /// Writes a string as length-prefixed UTF-8.
    @inlinable
    public mutating func writeString(_ v: String, field: Int) {
        var text = v
        text.withUTF8 { utf8 in
            writeLengthPrefixedField(UnsafeRawBufferPointer(utf8), field: field)
        }
    }

    /// Writes bytes length-prefixed.
    @inlinable
    public mutating func writeBytes(_ v: [UInt8], field: Int) {
        v.withUnsafeBytes { writeLengthPrefixedField($0, field: field) }
    }

    /// Writes key, length and `payload` with a single reservation and one bulk copy.
    @inlinable
    public mutating func writeLengthPrefixedField(_ payload: UnsafeRawBufferPointer, field: Int) {
        let key = Varint.key(field: field, wireType: .lengthDelimited)
        let count = payload.count
        appendUnsafe(maxByteCount: 20 &+ count) { pointer in
            var written = Varint.store(key, at: pointer)
            written &+= Varint.store(UInt64(count), at: pointer + written)
            if count > 0 {
                (pointer + written).copyMemory(from: payload.baseAddress.unsafelyUnwrapped, byteCount: count)
            }
            return written &+ count
        }
    }
}
