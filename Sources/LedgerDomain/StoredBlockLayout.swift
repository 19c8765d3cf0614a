import HealthLedgerProtos
import ProtobufWire

/// Where the parts of a `StoredBlock` encoding are, found without decoding them: reads of stored blocks that use only
/// some parts (a replay the entries, GetBlocks the header) decode just those, and leave the entries in place.
public struct StoredBlockLayout: Sendable, Hashable {
    /// Where the signed header's encoding is.
    public var header: Range<Int>
    /// Where the checkpoint's encoding is; nil when the block has none.
    public var checkpoint: Range<Int>?

    /// The layout of the `StoredBlock` encoded at `payload` in `bytes`, with every entry's place appended to
    /// `entryRanges` (emptied first, its capacity kept); all ranges index `bytes`. Nil when the bytes do not decode
    /// or hold no header.
    public init?(_ bytes: UnsafeRawBufferPointer, payload: Range<Int>, entryRanges: inout [Range<Int>]) {
        entryRanges.removeAll(keepingCapacity: true)
        guard payload.lowerBound >= 0, payload.upperBound <= bytes.count else { return nil }
        let base = payload.lowerBound
        var header: Range<Int>?
        var checkpoint: Range<Int>?
        do throws(ProtoDecodingError) {
            var reader = ProtoReader(buffer: UnsafeRawBufferPointer(rebasing: bytes[payload]))
            while let tag = try reader.nextTag() {
                var start = 0
                switch tag.fieldNumber {
                case 1:
                    try reader.readLengthDelimited(tag, field: "StoredBlock.header") { start = $0.offset }
                    header = (base + start)..<(base + reader.offset)
                case 2:
                    try reader.readLengthDelimited(tag, field: "StoredBlock.entries") { start = $0.offset }
                    entryRanges.append((base + start)..<(base + reader.offset))
                case 3:
                    try reader.readLengthDelimited(tag, field: "StoredBlock.checkpoint") { start = $0.offset }
                    checkpoint = (base + start)..<(base + reader.offset)
                default: try reader.skipField(tag)
                }
            }
        } catch {
            return nil
        }
        guard let header else { return nil }
        self.header = header
        self.checkpoint = checkpoint
    }

    /// Where the signed header's encoding is in a `StoredBlock` encoding of which `prefix` holds the first bytes: it
    /// is the first field, so a reader of headers alone reads that much. The range may end past `prefix` (read that
    /// many bytes and ask again); nil when `prefix` does not start with the header's tag and length.
    public static func header(inPrefix prefix: UnsafeRawBufferPointer) -> Range<Int>? {
        // Field 1, length-delimited.
        guard prefix.count > 1, prefix[0] == 0x0A else { return nil }
        var length: UInt64 = 0
        var offset = 1
        while offset < prefix.count, offset <= 10 {
            let byte = prefix[offset]
            length |= UInt64(byte & 0x7F) << (7 * UInt64(offset - 1))
            offset += 1
            if byte & 0x80 == 0 {
                guard length <= UInt64(Int32.max) else { return nil }
                return offset..<(offset + Int(length))
            }
        }
        return nil
    }

    /// The header signed in `signedHeader` when it is that of block `height` with `entryCount` entries; nil for
    /// another block, or one that does not decode.
    public static func header(
        of signedHeader: Healthledger_V1_SignedBlockHeader, height: UInt64, entryCount: Int? = nil
    ) -> Healthledger_V1_BlockHeader? {
        guard let header = try? Healthledger_V1_BlockHeader(serializedBytes: signedHeader.header),
            header.height == height
        else { return nil }
        if let entryCount, Int(header.entryCount) != entryCount { return nil }
        return header
    }
}
