/// Embedded messages and other length-delimited bodies, written in a single pass.
extension ProtoWriter {
    /// Writes `m` as an embedded message: tag, length, then `m.encodeFields`.
    @inlinable
    public mutating func writeMessage<M: ProtoMessage>(_ m: M, field: Int) {
        writeTag(field: field, wireType: .lengthDelimited)
        let lengthOffset = beginLengthPrefix()
        m.encodeFields(to: &self)
        endLengthPrefix(at: lengthOffset)
    }

    /// Writes a length-delimited field whose body is produced by `body` (used for map entries).
    @inlinable
    public mutating func writeLengthDelimited(field: Int, _ body: (inout ProtoWriter) -> Void) {
        writeTag(field: field, wireType: .lengthDelimited)
        let lengthOffset = beginLengthPrefix()
        body(&self)
        endLengthPrefix(at: lengthOffset)
    }

    /// Reserves one byte for a length prefix and returns its offset. One byte covers bodies under
    /// 128 bytes, which is most of them; longer bodies are shifted by `endLengthPrefix`.
    @inlinable @inline(__always)
    internal mutating func beginLengthPrefix() -> Int {
        let offset = length
        appendByte(0)
        return offset
    }

    /// Fills in the length prefix reserved at `lengthOffset` for the bytes written since.
    @inlinable @inline(__always)
    internal mutating func endLengthPrefix(at lengthOffset: Int) {
        let bodyLength = length &- lengthOffset &- 1
        if _fastPath(bodyLength < 0x80) {
            storage.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt8(truncatingIfNeeded: bodyLength), toByteOffset: lengthOffset, as: UInt8.self)
            }
        } else {
            widenLengthPrefix(at: lengthOffset, bodyLength: bodyLength)
        }
    }

    /// Moves a body of 128 bytes or more right to make room for its multi-byte length varint.
    @usableFromInline @inline(never)
    internal mutating func widenLengthPrefix(at lengthOffset: Int, bodyLength: Int) {
        let prefixLength = Varint.size(of: UInt64(bodyLength))
        let extra = prefixLength &- 1
        reserveSpace(extra)
        storage.withUnsafeMutableBytes { raw in
            let prefix = raw.baseAddress.unsafelyUnwrapped + lengthOffset
            // copyMemory is memmove: the ranges overlap.
            (prefix + prefixLength).copyMemory(from: prefix + 1, byteCount: bodyLength)
            _ = Varint.store(UInt64(bodyLength), at: prefix)
        }
        length &+= extra
    }
}
