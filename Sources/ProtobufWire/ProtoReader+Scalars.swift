/// Singular scalar fields. Each read checks the wire type first and names `field` in any error.
extension ProtoReader {
    /// Reads a varint after checking the tag says varint.
    @inlinable @inline(__always)
    internal mutating func readVarintValue(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> UInt64 {
        guard _fastPath(tag.wireType == .varint) else {
            throw wrongWireType(tag, expected: .varint, field: field)
        }
        return try readVarint(field: field)
    }

    /// Reads four little-endian bytes after checking the tag says fixed32.
    @inlinable @inline(__always)
    internal mutating func readFixed32Value(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> UInt32 {
        guard _fastPath(tag.wireType == .fixed32) else {
            throw wrongWireType(tag, expected: .fixed32, field: field)
        }
        let start = try advance(by: 4, field: field)
        return UInt32(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: start, as: UInt32.self))
    }

    /// Reads eight little-endian bytes after checking the tag says fixed64.
    @inlinable @inline(__always)
    internal mutating func readFixed64Value(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> UInt64 {
        guard _fastPath(tag.wireType == .fixed64) else {
            throw wrongWireType(tag, expected: .fixed64, field: field)
        }
        let start = try advance(by: 8, field: field)
        return UInt64(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: start, as: UInt64.self))
    }

    /// Reads an int32; a 64-bit varint is truncated to its low 32 bits, as protobuf does.
    @inlinable
    public mutating func readInt32(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Int32 {
        Int32(truncatingIfNeeded: try readVarintValue(tag, field: field))
    }

    /// Reads an int64.
    @inlinable
    public mutating func readInt64(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Int64 {
        Int64(bitPattern: try readVarintValue(tag, field: field))
    }

    /// Reads a uint32, keeping the low 32 bits of the varint.
    @inlinable
    public mutating func readUInt32(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readVarintValue(tag, field: field))
    }

    /// Reads a uint64.
    @inlinable
    public mutating func readUInt64(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> UInt64 {
        try readVarintValue(tag, field: field)
    }

    /// Reads a zigzag-encoded sint32 from the low 32 bits of the varint.
    @inlinable
    public mutating func readSInt32(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Int32 {
        Varint.unzigzag(UInt32(truncatingIfNeeded: try readVarintValue(tag, field: field)))
    }

    /// Reads a zigzag-encoded sint64.
    @inlinable
    public mutating func readSInt64(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Int64 {
        Varint.unzigzag(try readVarintValue(tag, field: field))
    }

    /// Reads a bool: any non-zero varint is true.
    @inlinable
    public mutating func readBool(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Bool {
        try readVarintValue(tag, field: field) != 0
    }

    /// Reads an enum number (truncated to int32); unknown numbers are kept by the open enum.
    @inlinable
    public mutating func readEnum<E: ProtoEnum>(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> E {
        E(rawValue: Int32(truncatingIfNeeded: try readVarintValue(tag, field: field)))
    }

    /// Reads a fixed32.
    @inlinable
    public mutating func readFixed32(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> UInt32 {
        try readFixed32Value(tag, field: field)
    }

    /// Reads a fixed64.
    @inlinable
    public mutating func readFixed64(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> UInt64 {
        try readFixed64Value(tag, field: field)
    }

    /// Reads an sfixed32.
    @inlinable
    public mutating func readSFixed32(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Int32 {
        Int32(bitPattern: try readFixed32Value(tag, field: field))
    }

    /// Reads an sfixed64.
    @inlinable
    public mutating func readSFixed64(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Int64 {
        Int64(bitPattern: try readFixed64Value(tag, field: field))
    }

    /// Reads a float from its IEEE 754 bits.
    @inlinable
    public mutating func readFloat(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Float {
        Float(bitPattern: try readFixed32Value(tag, field: field))
    }

    /// Reads a double from its IEEE 754 bits.
    @inlinable
    public mutating func readDouble(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Double {
        Double(bitPattern: try readFixed64Value(tag, field: field))
    }

    /// Reads a string, rejecting bytes that are not valid UTF-8 with `.invalidUTF8`.
    @inlinable
    public mutating func readString(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> String {
        let (start, count) = try readLengthDelimitedRange(tag, field: field)
        guard count > 0 else { return "" }
        let bytes = base.unsafelyUnwrapped + start
        guard UTF8Validation.isValid(bytes, count: count) else {
            throw makeError(.invalidUTF8, field: field, at: start, "string of \(count) bytes is not valid UTF-8")
        }
        position = start &+ count
        // Valid input, so decoding copies it unchanged (no replacement characters).
        return String(
            decoding: UnsafeRawBufferPointer(start: bytes, count: count).assumingMemoryBound(to: UInt8.self),
            as: UTF8.self)
    }

    /// Reads bytes with one bulk copy.
    @inlinable
    public mutating func readBytes(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> [UInt8] {
        let (start, count) = try readLengthDelimitedRange(tag, field: field)
        guard count > 0 else { return [] }
        position = start &+ count
        return copyBytes(from: start, count: count)
    }

    /// Copies `count` input bytes starting at `start` into a new array; the range was checked.
    @inlinable @inline(__always)
    internal func copyBytes(from start: Int, count: Int) -> [UInt8] {
        let source = base.unsafelyUnwrapped + start
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            UnsafeMutableRawPointer(buffer.baseAddress.unsafelyUnwrapped).copyMemory(from: source, byteCount: count)
            initializedCount = count
        }
    }
}
