import HealthLedgerProtos
import LedgerDomain
import LedgerStorage
import Logging
import RPCCore
import Synchronization

/// Committed blocks read back from the block log, for what the state does not keep in memory: audit events, old
/// block headers and checkpoints, record entries. The newest blocks (as committed) and the most recently read ones
/// stay decoded, up to a byte budget, oldest first out: replays and followers read in log order, so they find most
/// blocks here, and memory stays bounded however long the chain grows.
final class BlockReader: Sendable {
    /// One committed block, decoded.
    struct Block: Sendable {
        var signedHeader: Healthledger_V1_SignedBlockHeader
        var checkpoint: Healthledger_V1_SignedCheckpoint
        var firstEntryIndex: UInt64
        var entries: [[UInt8]]

        /// The bytes of log entry `index`; INTERNAL when the block does not hold it (the state said it does).
        func entry(_ index: UInt64) throws(RPCError) -> [UInt8] {
            guard index >= firstEntryIndex, index - firstEntryIndex < UInt64(entries.count) else {
                let end = firstEntryIndex + UInt64(entries.count)
                throw RPCError(
                    .internalError, "the block of entries \(firstEntryIndex)..<\(end) does not hold entry \(index)")
            }
            return entries[Int(index - firstEntryIndex)]
        }

        /// What the block costs in the cache: its entries' bytes plus a fixed allowance for the rest.
        var byteCount: Int { entries.reduce(1024) { $0 + $1.count + 32 } }
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
            let stored = try StoredBlock(serializedBytes: try blockLog.readRecord(Int(height) - 1))
            guard let signedHeader = stored.header, let checkpoint = stored.checkpoint else {
                throw StorageError.dataLoss("block \(height) has no header or checkpoint")
            }
            let header = try Healthledger_V1_BlockHeader(serializedBytes: signedHeader.header)
            guard header.height == height, Int(header.entryCount) == stored.entries.count else {
                throw StorageError.dataLoss("record \(height - 1) of the block log is not block \(height)")
            }
            block = Block(
                signedHeader: signedHeader, checkpoint: checkpoint, firstEntryIndex: header.firstEntryIndex,
                entries: stored.entries)
        } catch {
            logger.error(
                "could not read a committed block back from the block log",
                metadata: ["block": "\(height)", "error": "\(error)"])
            throw RPCError(.internalError, "block \(height) could not be read back from the block log")
        }
        keep(block, height: height)
        return block
    }

    /// The bytes of committed log entry `entryIndex` in the block at `height`.
    func entry(_ entryIndex: UInt64, inBlock height: UInt64) throws(RPCError) -> [UInt8] {
        try block(height: height).entry(entryIndex)
    }

    /// Keeps a block just committed, so its first readers (followers, receipts) need not read it back.
    func keep(_ block: Block, height: UInt64) {
        let size = block.byteCount
        guard size <= byteBudget else { return }
        cache.withLock { cache in
            guard cache.blocks.updateValue(block, forKey: height) == nil else { return }
            cache.order.append(height)
            cache.bytes += size
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
