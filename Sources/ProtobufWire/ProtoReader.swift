/// Reads fields from a bounded region of bytes.
///
/// Every read checks the tag's wire type and throws `.wrongWireType` naming `field` on mismatch;
/// every length is checked against the remaining input before any allocation. `field` is the
/// fully-qualified proto field name used in errors.
///
/// A reader points into memory it doesn't own: use it only inside the closure that provided the
/// buffer (`init(serializedBytes:)` does this for you). Nested messages don't get a reader of their
/// own; the same reader narrows its limit, so positions and error offsets always count from the
/// start of the top-level input. After a read throws, the reader's state is unspecified.
public struct ProtoReader {
    /// Limits applied while decoding.
    public var options: DecodingOptions

    /// Start of the top-level input; nil only when it is empty (and then never dereferenced).
    @usableFromInline
    internal let base: UnsafeRawPointer?

    /// Offset of the next unread byte.
    @usableFromInline
    internal var position: Int

    /// Offset one past the last byte of the message (or packed field) being read.
    @usableFromInline
    internal var limit: Int

    /// How many messages, entries or groups enclose the current position.
    @usableFromInline
    internal var depth: Int

    /// Offset of the key returned by the latest `nextTag()`, so `skipField` can copy it verbatim.
    @usableFromInline
    internal var tagOffset: Int

    /// Creates a reader over `buffer`, which must stay valid while the reader is used.
    public init(buffer: UnsafeRawBufferPointer, options: DecodingOptions = DecodingOptions()) {
        self.options = options
        base = buffer.count > 0 ? buffer.baseAddress : nil
        position = 0
        limit = buffer.count
        depth = 0
        tagOffset = 0
    }

    /// Byte offset of the next unread byte, from the start of the top-level input.
    @inlinable
    public var offset: Int { position }

    /// True when the current message (or length-delimited body) has no more bytes.
    @inlinable
    public var isAtEnd: Bool { position >= limit }

    /// Number of unread bytes before the current limit.
    @inlinable
    internal var remaining: Int { limit &- position }

    /// The byte at `offset`; the caller has checked `offset < limit`.
    @inlinable @inline(__always)
    internal func byte(at offset: Int) -> UInt8 {
        base.unsafelyUnwrapped.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Next field key, or nil at the end of the current message.
    @inlinable
    public mutating func nextTag() throws(ProtoDecodingError) -> FieldTag? {
        guard position < limit else { return nil }
        tagOffset = position
        let first = byte(at: position)
        let key: UInt64
        if _fastPath(first < 0x80) {
            position &+= 1
            key = UInt64(first)
        } else {
            key = try readTagVarintSlow()
        }
        let wireBits = UInt8(truncatingIfNeeded: key) & 7
        let number = key &>> 3
        // One comparison admits the common case: wire types 0, 1, 2, 3, 5 with a valid number.
        guard _fastPath(wireBits != 4 && wireBits < 6 && number != 0 && number <= 536_870_911) else {
            throw invalidKey(key)
        }
        return FieldTag(
            fieldNumber: Int(truncatingIfNeeded: number), wireType: WireType(rawValue: wireBits).unsafelyUnwrapped)
    }

    /// Reads a varint value.
    @inlinable @inline(__always)
    internal mutating func readVarint(field: StaticString?) throws(ProtoDecodingError) -> UInt64 {
        if _fastPath(position < limit) {
            let first = byte(at: position)
            if first < 0x80 {
                position &+= 1
                return UInt64(first)
            }
        }
        return try readVarintSlow(field: field)
    }

    /// Reads a multi-byte varint: at most 10 bytes, the 10th holding only the top bit of 64.
    @usableFromInline
    internal mutating func readVarintSlow(field: StaticString?) throws(ProtoDecodingError) -> UInt64 {
        let start = position
        var cursor = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard cursor < limit else {
                throw makeError(.truncated, field: field, at: start, "input ends inside a varint")
            }
            let byte = byte(at: cursor)
            cursor &+= 1
            if shift == 63 {
                guard byte <= 1 else {
                    throw makeError(.malformedVarint, field: field, at: start, "varint is longer than 64 bits")
                }
                result |= UInt64(byte) &<< 63
                break
            }
            result |= UInt64(byte & 0x7F) &<< shift
            if byte < 0x80 { break }
            shift &+= 7
        }
        position = cursor
        return result
    }

    /// Reads a multi-byte key: a varint of at most 5 bytes, as upb (protobuf's Python and PHP runtimes) reads keys,
    /// so an input with a padded key is refused here as there rather than read as a different message.
    @usableFromInline
    internal mutating func readTagVarintSlow() throws(ProtoDecodingError) -> UInt64 {
        let start = position
        let key = try readVarintSlow(field: nil)
        guard position &- start <= 5 else {
            position = start
            throw makeError(.malformedVarint, field: nil, at: start, "field key is longer than 5 bytes")
        }
        return key
    }

    /// Reads a key without the message-level checks on END_GROUP, for skipping groups.
    @usableFromInline
    internal mutating func readAnyTag() throws(ProtoDecodingError) -> FieldTag {
        tagOffset = position
        let key = try readTagVarintSlow()
        let wireBits = UInt8(truncatingIfNeeded: key) & 7
        let number = key &>> 3
        guard wireBits < 6 else { throw invalidKey(key) }
        guard number != 0, number <= 536_870_911 else { throw invalidKey(key) }
        return FieldTag(fieldNumber: Int(number), wireType: WireType(rawValue: wireBits).unsafelyUnwrapped)
    }

    /// Reads a length prefix and checks it fits in the current limit before anyone allocates.
    @inlinable @inline(__always)
    internal mutating func readLength(field: StaticString?) throws(ProtoDecodingError) -> Int {
        let prefixOffset = position
        let value = try readVarint(field: field)
        guard _fastPath(value <= UInt64(remaining)) else {
            throw lengthExceedsInput(value, prefixOffset: prefixOffset, field: field)
        }
        return Int(truncatingIfNeeded: value)
    }

    /// Checks the tag's wire type, then reads a length prefix; returns the body's start and length.
    @inlinable @inline(__always)
    internal mutating func readLengthDelimitedRange(
        _ tag: FieldTag, field: StaticString
    ) throws(ProtoDecodingError) -> (start: Int, count: Int) {
        guard _fastPath(tag.wireType == .lengthDelimited) else {
            throw wrongWireType(tag, expected: .lengthDelimited, field: field)
        }
        let count = try readLength(field: field)
        return (position, count)
    }

    /// Checks that `byteCount` bytes remain, then returns the offset where they start and skips them.
    @inlinable @inline(__always)
    internal mutating func advance(by byteCount: Int, field: StaticString?) throws(ProtoDecodingError) -> Int {
        let start = position
        guard _fastPath(remaining >= byteCount) else {
            throw makeError(
                .truncated, field: field, at: start,
                "needs \(byteCount) bytes but only \(remaining) remain")
        }
        position = start &+ byteCount
        return start
    }
}
