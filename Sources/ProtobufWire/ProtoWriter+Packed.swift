/// Packed repeated scalars: one length-delimited field holding the values back to back.
/// Empty arrays write nothing, since a packed field with no values is never emitted.
extension ProtoWriter {
    /// Writes varint values already mapped to their unsigned 64-bit wire form.
    @inlinable @inline(__always)
    internal mutating func writePackedVarints<T>(_ values: [T], field: Int, _ wireValue: (T) -> UInt64) {
        guard !values.isEmpty else { return }
        var bodyLength = 0
        for value in values {
            bodyLength &+= Varint.size(of: wireValue(value))
        }
        let key = Varint.key(field: field, wireType: .lengthDelimited)
        appendUnsafe(maxByteCount: 20 &+ bodyLength) { pointer in
            var written = Varint.store(key, at: pointer)
            written &+= Varint.store(UInt64(bodyLength), at: pointer + written)
            for value in values {
                written &+= Varint.store(wireValue(value), at: pointer + written)
            }
            return written
        }
    }

    /// Writes fixed-width integers; on little-endian hosts the array's memory already is the wire form.
    @inlinable @inline(__always)
    internal mutating func writePackedFixed<T: FixedWidthInteger>(_ values: [T], field: Int) {
        guard !values.isEmpty else { return }
        #if _endian(little)
            values.withUnsafeBytes { writeLengthPrefixedField($0, field: field) }
        #else
            let littleEndian = values.map(\.littleEndian)
            littleEndian.withUnsafeBytes { writeLengthPrefixedField($0, field: field) }
        #endif
    }

    /// Writes packed int32 values (negative ones take 10 bytes each).
    @inlinable
    public mutating func writePackedInt32(_ v: [Int32], field: Int) {
        writePackedVarints(v, field: field) { UInt64(bitPattern: Int64($0)) }
    }

    /// Writes packed int64 values.
    @inlinable
    public mutating func writePackedInt64(_ v: [Int64], field: Int) {
        writePackedVarints(v, field: field) { UInt64(bitPattern: $0) }
    }

    /// Writes packed uint32 values.
    @inlinable
    public mutating func writePackedUInt32(_ v: [UInt32], field: Int) {
        writePackedVarints(v, field: field) { UInt64($0) }
    }

    /// Writes packed uint64 values.
    @inlinable
    public mutating func writePackedUInt64(_ v: [UInt64], field: Int) {
        writePackedVarints(v, field: field) { $0 }
    }

    /// Writes packed sint32 values, zigzag-encoded.
    @inlinable
    public mutating func writePackedSInt32(_ v: [Int32], field: Int) {
        writePackedVarints(v, field: field) { UInt64(Varint.zigzag($0)) }
    }

    /// Writes packed sint64 values, zigzag-encoded.
    @inlinable
    public mutating func writePackedSInt64(_ v: [Int64], field: Int) {
        writePackedVarints(v, field: field) { Varint.zigzag($0) }
    }

    /// Writes packed bool values, one byte each.
    @inlinable
    public mutating func writePackedBool(_ v: [Bool], field: Int) {
        writePackedVarints(v, field: field) { $0 ? 1 : 0 }
    }

    /// Writes packed enum values as int32 varints.
    @inlinable
    public mutating func writePackedEnum<E: ProtoEnum>(_ v: [E], field: Int) {
        writePackedVarints(v, field: field) { UInt64(bitPattern: Int64($0.rawValue)) }
    }

    /// Writes packed fixed32 values.
    @inlinable
    public mutating func writePackedFixed32(_ v: [UInt32], field: Int) {
        writePackedFixed(v, field: field)
    }

    /// Writes packed fixed64 values.
    @inlinable
    public mutating func writePackedFixed64(_ v: [UInt64], field: Int) {
        writePackedFixed(v, field: field)
    }

    /// Writes packed sfixed32 values.
    @inlinable
    public mutating func writePackedSFixed32(_ v: [Int32], field: Int) {
        writePackedFixed(v, field: field)
    }

    /// Writes packed sfixed64 values.
    @inlinable
    public mutating func writePackedSFixed64(_ v: [Int64], field: Int) {
        writePackedFixed(v, field: field)
    }

    /// Writes packed float values (IEEE 754 bits, little-endian).
    @inlinable
    public mutating func writePackedFloat(_ v: [Float], field: Int) {
        #if _endian(little)
            writePackedFixedMemory(v, field: field)
        #else
            writePackedFixed(v.map(\.bitPattern), field: field)
        #endif
    }

    /// Writes packed double values (IEEE 754 bits, little-endian).
    @inlinable
    public mutating func writePackedDouble(_ v: [Double], field: Int) {
        #if _endian(little)
            writePackedFixedMemory(v, field: field)
        #else
            writePackedFixed(v.map(\.bitPattern), field: field)
        #endif
    }

    /// Copies the memory of an array of floating-point values, which is their wire form on little-endian hosts.
    @inlinable @inline(__always)
    internal mutating func writePackedFixedMemory<T: BinaryFloatingPoint>(_ values: [T], field: Int) {
        guard !values.isEmpty else { return }
        values.withUnsafeBytes { raw in
            writeLengthPrefixedField(raw, field: field)
        }
    }
}
