/// Repeated scalars. Parsers must accept both packed and unpacked encodings of any repeated
/// numeric field, whatever the schema says (https://protobuf.dev/programming-guides/encoding/#packed),
/// so each read appends one value (unpacked) or a whole packed run.
extension ProtoReader {
    /// Makes room for `extra` more values, growing geometrically so many small packed runs stay linear.
    @inlinable @inline(__always)
    internal static func reserve<T>(_ extra: Int, in values: inout [T]) {
        let needed = values.count &+ extra
        if needed > values.capacity {
            values.reserveCapacity(Swift.max(needed, values.capacity &* 2))
        }
    }

    /// Appends one unpacked varint or a packed run of them, mapped through `convert`.
    @inlinable @inline(__always)
    internal mutating func readRepeatedVarints<T>(
        _ tag: FieldTag, into values: inout [T], field: StaticString, _ convert: (UInt64) -> T
    ) throws(ProtoDecodingError) {
        switch tag.wireType {
        case .varint:
            values.append(convert(try readVarint(field: field)))
        case .lengthDelimited:
            let count = try readLength(field: field)
            let end = position &+ count
            // Every varint ends with exactly one byte below 0x80, so counting those sizes the array exactly.
            var terminators = 0
            for offset in position..<end where byte(at: offset) < 0x80 {
                terminators &+= 1
            }
            Self.reserve(terminators, in: &values)
            let outerLimit = limit
            limit = end
            while position < end {
                values.append(convert(try readVarint(field: field)))
            }
            limit = outerLimit
        default:
            throw wrongWireType(tag, expected: .lengthDelimited, field: field)
        }
    }

    /// Appends one unpacked fixed-width value or a packed run of them; `load` decodes one
    /// little-endian value from unaligned input.
    @inlinable @inline(__always)
    internal mutating func readRepeatedFixed<T: BitwiseCopyable>(
        _ tag: FieldTag, into values: inout [T], wireType: WireType, field: StaticString,
        _ load: (UnsafeRawPointer) -> T
    ) throws(ProtoDecodingError) {
        let width = MemoryLayout<T>.size
        if tag.wireType == wireType {
            let start = try advance(by: width, field: field)
            values.append(load(base.unsafelyUnwrapped + start))
            return
        }
        guard tag.wireType == .lengthDelimited else {
            throw wrongWireType(tag, expected: .lengthDelimited, field: field)
        }
        let prefixOffset = position
        let byteCount = try readLength(field: field)
        guard byteCount % width == 0 else {
            throw makeError(
                .truncated, field: field, at: prefixOffset,
                "packed field of \(byteCount) bytes is not a whole number of \(width)-byte values")
        }
        let start = position
        position = start &+ byteCount
        let count = byteCount / width
        guard count > 0 else { return }
        let source = base.unsafelyUnwrapped + start
        #if _endian(little)
            // Little-endian integers and IEEE 754 values: the wire form is the in-memory form.
            let run = [T](unsafeUninitializedCapacity: count) { buffer, initializedCount in
                UnsafeMutableRawPointer(buffer.baseAddress.unsafelyUnwrapped).copyMemory(
                    from: source, byteCount: byteCount)
                initializedCount = count
            }
            if values.isEmpty {
                values = run
            } else {
                values.append(contentsOf: run)
            }
        #else
            Self.reserve(count, in: &values)
            for index in 0..<count {
                values.append(load(source + index &* width))
            }
        #endif
    }

    /// Reads repeated int32 values, packed or not.
    @inlinable
    public mutating func readRepeatedInt32(
        _ tag: FieldTag, into values: inout [Int32], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { Int32(truncatingIfNeeded: $0) }
    }

    /// Reads repeated int64 values, packed or not.
    @inlinable
    public mutating func readRepeatedInt64(
        _ tag: FieldTag, into values: inout [Int64], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { Int64(bitPattern: $0) }
    }

    /// Reads repeated uint32 values, packed or not.
    @inlinable
    public mutating func readRepeatedUInt32(
        _ tag: FieldTag, into values: inout [UInt32], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { UInt32(truncatingIfNeeded: $0) }
    }

    /// Reads repeated uint64 values, packed or not.
    @inlinable
    public mutating func readRepeatedUInt64(
        _ tag: FieldTag, into values: inout [UInt64], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { $0 }
    }

    /// Reads repeated sint32 values, packed or not.
    @inlinable
    public mutating func readRepeatedSInt32(
        _ tag: FieldTag, into values: inout [Int32], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { Varint.unzigzag(UInt32(truncatingIfNeeded: $0)) }
    }

    /// Reads repeated sint64 values, packed or not.
    @inlinable
    public mutating func readRepeatedSInt64(
        _ tag: FieldTag, into values: inout [Int64], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { Varint.unzigzag($0) }
    }

    /// Reads repeated bool values, packed or not.
    @inlinable
    public mutating func readRepeatedBool(
        _ tag: FieldTag, into values: inout [Bool], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { $0 != 0 }
    }

    /// Reads repeated enum values, packed or not; unknown numbers are kept.
    @inlinable
    public mutating func readRepeatedEnum<E: ProtoEnum>(
        _ tag: FieldTag, into values: inout [E], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedVarints(tag, into: &values, field: field) { E(rawValue: Int32(truncatingIfNeeded: $0)) }
    }

    /// Loads a little-endian 32-bit pattern from unaligned input.
    @inlinable @inline(__always)
    internal static func loadBits32(_ pointer: UnsafeRawPointer) -> UInt32 {
        UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self))
    }

    /// Loads a little-endian 64-bit pattern from unaligned input.
    @inlinable @inline(__always)
    internal static func loadBits64(_ pointer: UnsafeRawPointer) -> UInt64 {
        UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self))
    }

    /// Reads repeated fixed32 values, packed or not.
    @inlinable
    public mutating func readRepeatedFixed32(
        _ tag: FieldTag, into values: inout [UInt32], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedFixed(tag, into: &values, wireType: .fixed32, field: field) { Self.loadBits32($0) }
    }

    /// Reads repeated fixed64 values, packed or not.
    @inlinable
    public mutating func readRepeatedFixed64(
        _ tag: FieldTag, into values: inout [UInt64], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedFixed(tag, into: &values, wireType: .fixed64, field: field) { Self.loadBits64($0) }
    }

    /// Reads repeated sfixed32 values, packed or not.
    @inlinable
    public mutating func readRepeatedSFixed32(
        _ tag: FieldTag, into values: inout [Int32], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedFixed(tag, into: &values, wireType: .fixed32, field: field) {
            Int32(bitPattern: Self.loadBits32($0))
        }
    }

    /// Reads repeated sfixed64 values, packed or not.
    @inlinable
    public mutating func readRepeatedSFixed64(
        _ tag: FieldTag, into values: inout [Int64], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedFixed(tag, into: &values, wireType: .fixed64, field: field) {
            Int64(bitPattern: Self.loadBits64($0))
        }
    }

    /// Reads repeated float values, packed or not.
    @inlinable
    public mutating func readRepeatedFloat(
        _ tag: FieldTag, into values: inout [Float], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedFixed(tag, into: &values, wireType: .fixed32, field: field) {
            Float(bitPattern: Self.loadBits32($0))
        }
    }

    /// Reads repeated double values, packed or not.
    @inlinable
    public mutating func readRepeatedDouble(
        _ tag: FieldTag, into values: inout [Double], field: StaticString
    ) throws(ProtoDecodingError) {
        try readRepeatedFixed(tag, into: &values, wireType: .fixed64, field: field) {
            Double(bitPattern: Self.loadBits64($0))
        }
    }
}
