/// Appends encoded fields to a growable byte buffer.
///
/// All `write...(_:field:)` methods write the tag then the value, unconditionally: the caller decides
/// implicit presence (proto3 skips zero/empty values; floats and doubles are written when their bit
/// pattern is non-zero, so -0.0 is written).
///
/// Encoding is single-pass: nested messages reserve one byte for their length and shift their body
/// only when it turns out to need a longer length prefix, so no size is ever computed recursively.
public struct ProtoWriter {
    /// Allocated space; only the first `length` bytes are output. The tail past `length` is scratch
    /// space that is never read, so growing it skips zero-filling.
    @usableFromInline
    internal var storage: [UInt8]

    /// Number of bytes written so far.
    @usableFromInline
    internal var length: Int

    /// Creates an empty writer, allocating `reservingCapacity` bytes up front when the size is known.
    @inlinable
    public init(reservingCapacity: Int = 0) {
        storage = []
        length = 0
        if reservingCapacity > 0 {
            growStorage(toFit: reservingCapacity)
        }
    }

    /// The encoded output so far.
    @inlinable
    public var bytes: [UInt8] {
        length == storage.count ? storage : Array(storage[0..<length])
    }

    /// How many bytes have been written so far.
    @inlinable
    public var byteCount: Int { length }

    /// Returns the encoded output without copying it and leaves the writer empty.
    @inlinable
    public mutating func takeBytes() -> [UInt8] {
        var output: [UInt8] = []
        swap(&output, &storage)
        // Dropping the scratch tail only moves the end index of a uniquely held buffer.
        output.removeLast(output.count &- length)
        length = 0
        return output
    }

    /// Makes room for at least `byteCount` more bytes.
    @inlinable @inline(__always)
    internal mutating func reserveSpace(_ byteCount: Int) {
        if _slowPath(storage.count &- length < byteCount) {
            growStorage(toFit: byteCount)
        }
    }

    /// Reallocates to the larger of twice the current size and what is needed.
    @usableFromInline @inline(never)
    internal mutating func growStorage(toFit byteCount: Int) {
        let needed = length + byteCount
        // An eighth of slack over what is needed: a large bytes field followed by a few small fields (a content
        // chunk and its offset) then fits without a second grow and copy of the large payload.
        let capacity = Swift.max(needed &+ needed >> 3, storage.count &* 2, 256)
        let used = length
        storage = storage.withUnsafeBytes { old in
            [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initializedCount in
                if used > 0, let source = old.baseAddress {
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: used)
                }
                // Bytes past `used` are scratch space for later writes and are never read before being written.
                initializedCount = capacity
            }
        }
    }

    /// Runs `body` with a pointer to the next free byte (at least `maxByteCount` bytes of room);
    /// `body` returns how many bytes it wrote.
    @inlinable @inline(__always)
    internal mutating func appendUnsafe(maxByteCount: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        reserveSpace(maxByteCount)
        let start = length
        let written = storage.withUnsafeMutableBytes { raw in
            body(raw.baseAddress.unsafelyUnwrapped + start)
        }
        length = start &+ written
    }

    /// Appends one byte.
    @inlinable @inline(__always)
    internal mutating func appendByte(_ byte: UInt8) {
        appendUnsafe(maxByteCount: 1) { pointer in
            pointer.storeBytes(of: byte, as: UInt8.self)
            return 1
        }
    }

    /// Appends raw bytes as they are, with no tag or length.
    @inlinable
    public mutating func writeRawBytes(_ raw: UnsafeRawBufferPointer) {
        let count = raw.count
        guard count > 0, let source = raw.baseAddress else { return }
        appendUnsafe(maxByteCount: count) { pointer in
            pointer.copyMemory(from: source, byteCount: count)
            return count
        }
    }

    /// Appends raw bytes as they are, with no tag or length.
    @inlinable
    public mutating func writeRawBytes(_ raw: [UInt8]) {
        raw.withUnsafeBytes { writeRawBytes($0) }
    }

    /// Writes a field key: `field << 3 | wireType`.
    @inlinable
    public mutating func writeTag(field: Int, wireType: WireType) {
        writeRawVarint(Varint.key(field: field, wireType: wireType))
    }

    /// Writes a bare varint (no tag).
    @inlinable
    public mutating func writeRawVarint(_ value: UInt64) {
        appendUnsafe(maxByteCount: 10) { Varint.store(value, at: $0) }
    }

    /// Writes a key followed by a varint value in one reservation (the shape of most fields).
    @inlinable @inline(__always)
    internal mutating func writeVarintField(_ value: UInt64, field: Int) {
        let key = Varint.key(field: field, wireType: .varint)
        appendUnsafe(maxByteCount: 20) { pointer in
            let keyLength = Varint.store(key, at: pointer)
            return keyLength &+ Varint.store(value, at: pointer + keyLength)
        }
    }

    /// Writes unknown fields back exactly as they arrived.
    @inlinable
    public mutating func writeUnknown(_ unknown: UnknownFields) {
        writeRawBytes(unknown.bytes)
    }
}
