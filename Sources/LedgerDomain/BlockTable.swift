import HealthLedgerProtos
import ProtobufWire

/// Every committed block's signed header and checkpoint, in height order: a collection of `BlockSummary` values
/// that are decoded when read. The signed bytes sit end to end in 1 MiB chunks (about 550 bytes per block, no heap
/// object per block), beside a fixed-width row with what the node looks up often: time and entry range.
public struct BlockTable: RandomAccessCollection, Sendable {
    struct Row: Sendable {
        var time: Int64
        var firstEntryIndex: UInt64
        var entryCount: UInt32
        var chunk: UInt32
        var offset: UInt32
        var headerLength: UInt32
        var checkpointLength: UInt32
    }

    static let chunkSize = 1 << 20

    private(set) var rows = ChunkedArray<Row>()
    /// Encoded SignedBlockHeader then SignedCheckpoint of each block; a block never straddles two chunks.
    private(set) var chunks: [[UInt8]] = []

    /// An empty table.
    public init() {}

    /// Index of the first block (height 1): 0.
    public var startIndex: Int { 0 }
    /// Number of blocks.
    public var endIndex: Int { rows.count }

    /// The block at `position` (height `position + 1`), decoded from its stored bytes.
    public subscript(position: Int) -> BlockSummary {
        let row = rows[position]
        return chunks[Int(row.chunk)].withUnsafeBytes { chunk in
            let start = Int(row.offset)
            let headerEnd = start + Int(row.headerLength)
            let signedHeader = try! Healthledger_V1_SignedBlockHeader(
                serializedBytes: UnsafeRawBufferPointer(rebasing: chunk[start..<headerEnd]))
            let checkpoint = try! Healthledger_V1_SignedCheckpoint(
                serializedBytes: UnsafeRawBufferPointer(
                    rebasing: chunk[headerEnd..<headerEnd + Int(row.checkpointLength)]))
            let header = try! Healthledger_V1_BlockHeader(serializedBytes: signedHeader.header)
            return BlockSummary(header: header, signedHeader: signedHeader, checkpoint: checkpoint)
        }
    }

    /// The signed checkpoint of the block at `position`, decoded alone (without the header `subscript` decodes too).
    public func checkpoint(at position: Int) -> Healthledger_V1_SignedCheckpoint {
        let row = rows[position]
        return chunks[Int(row.chunk)].withUnsafeBytes { chunk in
            let start = Int(row.offset) + Int(row.headerLength)
            return try! Healthledger_V1_SignedCheckpoint(
                serializedBytes: UnsafeRawBufferPointer(rebasing: chunk[start..<start + Int(row.checkpointLength)]))
        }
    }

    /// The time of the block at `position`.
    public func time(at position: Int) -> Int64 { rows[position].time }

    /// The log indexes of the entries of the block at `position`.
    public func entryRange(at position: Int) -> Range<UInt64> {
        let row = rows[position]
        return row.firstEntryIndex..<(row.firstEntryIndex + UInt64(row.entryCount))
    }

    /// Appends a committed block.
    mutating func append(_ summary: BlockSummary) {
        let header = summary.signedHeader.serializedBytes()
        let checkpoint = summary.checkpoint.serializedBytes()
        header.withUnsafeBytes { header in
            checkpoint.withUnsafeBytes { checkpoint in
                append(
                    time: summary.header.timeUnixMs, firstEntryIndex: summary.header.firstEntryIndex,
                    entryCount: summary.header.entryCount, signedHeader: header, checkpoint: checkpoint)
            }
        }
    }

    /// Appends a block from its parts: the encoded SignedBlockHeader and SignedCheckpoint and the header fields the
    /// table keeps at hand (the caller has checked they agree).
    mutating func append(
        time: Int64, firstEntryIndex: UInt64, entryCount: UInt32, signedHeader: UnsafeRawBufferPointer,
        checkpoint: UnsafeRawBufferPointer
    ) {
        let length = signedHeader.count + checkpoint.count
        if chunks.isEmpty || chunks[chunks.count - 1].count + length > Swift.max(Self.chunkSize, length) {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(chunks.isEmpty ? Swift.min(Self.chunkSize, 4096) : Swift.max(Self.chunkSize, length))
            chunks.append(chunk)
        }
        let chunk = chunks.count - 1
        let offset = chunks[chunk].count
        chunks[chunk].append(contentsOf: signedHeader)
        chunks[chunk].append(contentsOf: checkpoint)
        rows.append(
            Row(
                time: time, firstEntryIndex: firstEntryIndex, entryCount: entryCount, chunk: UInt32(chunk),
                offset: UInt32(offset), headerLength: UInt32(signedHeader.count),
                checkpointLength: UInt32(checkpoint.count)))
    }

    /// Calls `body` with each block's encoded SignedBlockHeader and SignedCheckpoint, in height order.
    func forEachEncoded(_ body: (Row, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        for row in rows {
            chunks[Int(row.chunk)].withUnsafeBytes { chunk in
                let start = Int(row.offset)
                let headerEnd = start + Int(row.headerLength)
                body(
                    row, UnsafeRawBufferPointer(rebasing: chunk[start..<headerEnd]),
                    UnsafeRawBufferPointer(rebasing: chunk[headerEnd..<headerEnd + Int(row.checkpointLength)]))
            }
        }
    }

    /// Makes room for `count` blocks' rows.
    mutating func reserveCapacity(_ count: Int) { rows.reserveCapacity(count) }
}
