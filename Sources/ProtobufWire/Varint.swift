/// Varint and zigzag arithmetic shared by the writer and the reader.
///
/// https://protobuf.dev/programming-guides/encoding/#varints and #signed-ints .
@usableFromInline
enum Varint {
    /// Number of bytes `value` takes as a varint (1 ... 10).
    @inlinable @inline(__always)
    static func size(of value: UInt64) -> Int {
        // 7 payload bits per byte; `| 1` makes zero take one byte.
        (70 &- (value | 1).leadingZeroBitCount) / 7
    }

    /// Stores `value` as a varint at `pointer` and returns how many bytes it took.
    @inlinable @inline(__always)
    static func store(_ value: UInt64, at pointer: UnsafeMutableRawPointer) -> Int {
        var value = value
        var index = 0
        while value >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: index, as: UInt8.self)
            value >>= 7
            index &+= 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: index, as: UInt8.self)
        return index &+ 1
    }

    /// Zigzag-encodes a sint32 so small magnitudes of either sign stay short.
    @inlinable @inline(__always)
    static func zigzag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value &<< 1) ^ (value &>> 31))
    }

    /// Zigzag-encodes a sint64.
    @inlinable @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value &>> 63))
    }

    /// Reverses `zigzag(_: Int32)`.
    @inlinable @inline(__always)
    static func unzigzag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value &>> 1) ^ (0 &- (value & 1)))
    }

    /// Reverses `zigzag(_: Int64)`.
    @inlinable @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value &>> 1) ^ (0 &- (value & 1)))
    }

    /// The key of a field: field number and wire type packed as `number << 3 | type`.
    @inlinable @inline(__always)
    static func key(field: Int, wireType: WireType) -> UInt64 {
        UInt64(truncatingIfNeeded: field) &<< 3 | UInt64(wireType.rawValue)
    }
}
