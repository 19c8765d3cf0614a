import HealthLedgerProtos
import LedgerDomain
import LedgerStorage
import Logging
import ProtobufWire
import RPCCore
import Synchronization

/// Committed blocks read back from the block log, for what the state does not keep in memory: audit events, old
/// block headers and checkpoints, record entries. The newest blocks (as committed) and the most recently read ones
/// stay decoded, up to a byte budget, oldest first out: replays and followers read in log order, so they find most
/// blocks here, and memory stays bounded however long the chain grows.
final class BlockReader: Sendable {
    /// One committed block: its signed header and checkpoint decoded, its entries in place in one buffer (a block
    /// read back is its stored bytes, so a replay copies each entry once, into its message, and allocates nothing
    /// per entry).
    struct Block: Sendable {
        var signedHeader: Healthledger_V1_SignedBlockHeader
        var checkpoint: Healthledger_V1_SignedCheckpoint
        var firstEntryIndex: UInt64
        /// The bytes that hold every entry.
        var storage: [UInt8]
        /// Where each entry is in `storage`, in log order.
        var entryRanges: [Range<Int>]

        /// A block just committed, from its parts.
        init(
            signedHeader: Healthledger_V1_SignedBlockHeader, checkpoint: Healthledger_V1_SignedCheckpoint,
            firstEntryIndex: UInt64, entries: [[UInt8]]
        ) {
            self.signedHeader = signedHeader
            self.checkpoint = checkpoint
            self.firstEntryIndex = firstEntryIndex
            storage = []
            storage.reserveCapacity(entries.reduce(0) { $0 + $1.count })
            entryRanges = []
            entryRanges.reserveCapacity(entries.count)
            for entry in entries {
                entryRanges.append(storage.count..<(storage.count + entry.count))
                storage.append(contentsOf: entry)
            }
        }

        /// Block `height` as the block log stores it (a `StoredBlock` encoding), its entries left in place; nil when
        /// the bytes do not decode, lack a header or checkpoint, or are another block.
        init?(stored: [UInt8], height: UInt64) {
            var signedHeader: Healthledger_V1_SignedBlockHeader?
            var checkpoint: Healthledger_V1_SignedCheckpoint?
            var entryRanges: [Range<Int>] = []
            let decoded = stored.withUnsafeBytes { buffer -> Bool in
                var reader = ProtoReader(buffer: buffer)
                do throws(ProtoDecodingError) {
                    while let tag = try reader.nextTag() {
                        switch tag.fieldNumber {
                        case 1: try reader.readMessage(tag, into: &signedHeader, field: "StoredBlock.header")
                        case 2:
                            var start = 0
                            try reader.readLengthDelimited(tag, field: "StoredBlock.entries") { start = $0.offset }
                            entryRanges.append(start..<reader.offset)
                        case 3: try reader.readMessage(tag, into: &checkpoint, field: "StoredBlock.checkpoint")
                        default: try reader.skipField(tag)
                        }
                    }
                    return true
                } catch {
                    return false
                }
            }
            guard decoded, let signedHeader, let checkpoint,
                let header = try? Healthledger_V1_BlockHeader(serializedBytes: signedHeader.header),
                header.height == height, Int(header.entryCount) == entryRanges.count
            else { return nil }
            self.signedHeader = signedHeader
            self.checkpoint = checkpoint
            firstEntryIndex = header.firstEntryIndex
            storage = stored
            self.entryRanges = entryRanges
        }

        /// Calls `body` with the bytes of log entry `index` in place; INTERNAL when the block does not hold it
        /// (the state said it does).
        func withEntry<Result>(_ index: UInt64, _ body: (UnsafeRawBufferPointer) throws(RPCError) -> Result)
            throws(RPCError) -> Result
        {
            guard index >= firstEntryIndex, index - firstEntryIndex < UInt64(entryRanges.count) else {
                let end = firstEntryIndex + UInt64(entryRanges.count)
                throw RPCError(
                    .internalError, "the block of entries \(firstEntryIndex)..<\(end) does not hold entry \(index)")
            }
            let range = entryRanges[Int(index - firstEntryIndex)]
            // withUnsafeBytes rethrows untyped errors, so the typed one travels out as a value.
            let result = storage.withUnsafeBytes { buffer in
                Swift.Result { () throws(RPCError) in try body(UnsafeRawBufferPointer(rebasing: buffer[range])) }
            }
            return try result.get()
        }

        /// A copy of the bytes of log entry `index`.
        func entry(_ index: UInt64) throws(RPCError) -> [UInt8] {
            try withEntry(index) { Array($0) }
        }

        /// What the block costs in the cache: its bytes plus a fixed allowance for the rest.
        var byteCount: Int { storage.count + entryRanges.count * 16 + 1024 }
    }

    private struct Cache {
        var blocks: [UInt64: Block] = [:]
        /// Heights in the order they were added; the front is evicted first.
        var order: [UInt64] = []
        var orderStart = 0
        var bytes = 0
    }

    private let blockLog: BlockLog
    private let byteBudget: Int
    private let logger: Logger
    private let cache = Mutex(Cache())

    /// A reader of `blockLog` keeping up to `byteBudget` bytes of decoded blocks.
    init(blockLog: BlockLog, byteBudget: Int, logger: Logger) {
        self.blockLog = blockLog
        self.byteBudget = byteBudget
        self.logger = logger
    }

    /// The committed block at `height`; INTERNAL when the log cannot give it back (the state says it is committed,
    /// so it must be there).
    func block(height: UInt64) throws(RPCError) -> Block {
        if let cached = cache.withLock({ $0.blocks[height] }) { return cached }
        let block: Block
        do {
            guard let stored = Block(stored: try blockLog.readRecord(Int(height) - 1), height: height) else {
                throw StorageError.dataLoss("record \(height - 1) of the block log is not block \(height)")
            }
            block = stored
        } catch {
            logger.error(
                "could not read a committed block back from the block log",
                metadata: ["block": "\(height)", "error": "\(error)"])
            throw RPCError(.internalError, "block \(height) could not be read back from the block log")
        }
        keep(block, height: height)
        return block
    }

    /// Calls `body` with the offset in `positions` and the bytes in place of each committed entry there, in order;
    /// consecutive entries of one block (as a replay's mostly are) look the block up once.
    func forEachEntry(
        at positions: [EntryPosition], _ body: (Int, UnsafeRawBufferPointer) throws(RPCError) -> Void
    ) throws(RPCError) {
        var current: (height: UInt64, block: Block)?
        for (offset, position) in positions.enumerated() {
            if current?.height != position.blockHeight {
                current = (position.blockHeight, try block(height: position.blockHeight))
            }
            try current!.block.withEntry(position.entryIndex) { (entry) throws(RPCError) in try body(offset, entry) }
        }
    }

    /// The bytes of committed log entry `entryIndex` in the block at `height`.
    func entry(_ entryIndex: UInt64, inBlock height: UInt64) throws(RPCError) -> [UInt8] {
        try block(height: height).entry(entryIndex)
    }

    /// The bytes the cache accounts for and the sum of the blocks it holds (equal unless the accounting drifted).
    var cacheFootprint: (accounted: Int, held: Int) {
        cache.withLock { cache in (cache.bytes, cache.blocks.values.reduce(0) { $0 + $1.byteCount }) }
    }

    /// Keeps `block` decoded, within the budget (the oldest kept go first): a block just committed, so its first
    /// readers (followers, receipts) need not read it back, or one just read.
    func keep(_ block: Block, height: UInt64) {
        let size = block.byteCount
        guard size <= byteBudget else { return }
        cache.withLock { cache in
            if let replaced = cache.blocks.updateValue(block, forKey: height) {
                // Two readers (or a reader and the committer) kept the same block: it keeps its place in the order.
                cache.bytes += size - replaced.byteCount
            } else {
                cache.order.append(height)
                cache.bytes += size
            }
            while cache.bytes > byteBudget, cache.orderStart < cache.order.count {
                let evicted = cache.order[cache.orderStart]
                cache.orderStart += 1
                if let removed = cache.blocks.removeValue(forKey: evicted) { cache.bytes -= removed.byteCount }
            }
            // The evicted front of the order is dropped once it is as long as what is left.
            if cache.orderStart > 1024, cache.orderStart * 2 > cache.order.count {
                cache.order.removeFirst(cache.orderStart)
                cache.orderStart = 0
            }
        }
    }
}
