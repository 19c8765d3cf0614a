import HealthLedgerProtos
import ProtobufWire

/// Every committed block's fixed-width row (time and entry range: what the node looks up often), and the head
/// block's signed header and checkpoint. The signed parts of earlier blocks stay in the block log, where the node
/// reads them back when asked (GetBlocks, old checkpoints): keeping them here would cost about 550 bytes of memory
/// per block, growing with the chain.
public struct BlockTable: Sendable {
    struct Row: Sendable {
        var time: Int64
        var firstEntryIndex: UInt64
        var entryCount: UInt32
    }

    private(set) var rows = ChunkedArray<Row>()
    /// The newest block, whole.
    public private(set) var last: BlockSummary?

    /// An empty table.
    public init() {}

    /// Number of blocks.
    public var count: Int { rows.count }
    /// Whether no block is committed yet.
    public var isEmpty: Bool { rows.count == 0 }

    /// The time of the block at `position` (height `position + 1`).
    public func time(at position: Int) -> Int64 { rows[position].time }

    /// The log indexes of the entries of the block at `position`.
    public func entryRange(at position: Int) -> Range<UInt64> {
        let row = rows[position]
        return row.firstEntryIndex..<(row.firstEntryIndex + UInt64(row.entryCount))
    }

    /// The position of the block holding log entry `entryIndex`, or nil when no committed block does.
    public func position(ofEntry entryIndex: UInt64) -> Int? {
        var low = 0
        var high = rows.count
        while low < high {
            let middle = (low + high) / 2
            let row = rows[middle]
            if row.firstEntryIndex + UInt64(row.entryCount) <= entryIndex { low = middle + 1 } else { high = middle }
        }
        guard low < rows.count, entryRange(at: low).contains(entryIndex) else { return nil }
        return low
    }

    /// The position of the block whose last entry leaves the log at `treeSize` entries: the first block reaching
    /// that size (an empty block after it ends at the same size), or nil when none ends exactly there.
    public func position(endingAt treeSize: UInt64) -> Int? {
        var low = 0
        var high = rows.count
        while low < high {
            let middle = (low + high) / 2
            if entryRange(at: middle).upperBound < treeSize { low = middle + 1 } else { high = middle }
        }
        guard low < rows.count, entryRange(at: low).upperBound == treeSize else { return nil }
        return low
    }

    /// Appends a committed block.
    mutating func append(_ summary: BlockSummary) {
        append(
            time: summary.header.timeUnixMs, firstEntryIndex: summary.header.firstEntryIndex,
            entryCount: summary.header.entryCount)
        last = summary
    }

    /// Appends the row of a block that is not the head (a snapshot's rows before its last block).
    mutating func append(time: Int64, firstEntryIndex: UInt64, entryCount: UInt32) {
        rows.append(Row(time: time, firstEntryIndex: firstEntryIndex, entryCount: entryCount))
    }

    /// Sets the head block after its row was appended with `append(time:firstEntryIndex:entryCount:)`.
    mutating func setLast(_ summary: BlockSummary) { last = summary }

    /// Makes room for `count` blocks' rows.
    mutating func reserveCapacity(_ count: Int) { rows.reserveCapacity(count) }
}
