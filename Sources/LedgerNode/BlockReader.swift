import HealthLedgerProtos
import LedgerDomain
import LedgerStorage
import Logging
import ProtobufWire
import RPCCore
import Synchronization

/// Committed blocks read back from the block log, for what the state does not keep in memory: audit events, old
/// block headers and checkpoints, record entries. The newest blocks (as committed) and those read back at random
/// places (entries, checkpoints) stay decoded, up to a byte budget, oldest first out, so followers and receipts read
/// nothing from disk and memory stays bounded however long the chain grows. Reads in log order past what the cache
/// holds (replays, GetBlocks) go around it: they would evict what followers need, for blocks read once.
final class BlockReader: Sendable {
    /// One committed block: its signed header and checkpoint decoded, its entries in place in one buffer (a block
    /// read back is its frame's bytes, so a reader copies each entry once, into its message, and allocates nothing
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

        /// Block `height` from a block log frame read into `frame`, its payload (a `StoredBlock` encoding) at
        /// `payload`, its entries left in place; nil when the bytes do not decode, lack a header or checkpoint, or
        /// are another block.
        init?(frame: [UInt8], payload: Range<Int>, height: UInt64) {
            var entryRanges: [Range<Int>] = []
            typealias Parts = (Healthledger_V1_SignedBlockHeader, Healthledger_V1_SignedCheckpoint)
            let parts = frame.withUnsafeBytes { bytes -> Parts? in
                guard let layout = StoredBlockLayout(bytes, payload: payload, entryRanges: &entryRanges),
                    let checkpointRange = layout.checkpoint,
                    let signedHeader = try? Healthledger_V1_SignedBlockHeader(
                        serializedBytes: UnsafeRawBufferPointer(rebasing: bytes[layout.header])),
                    let checkpoint = try? Healthledger_V1_SignedCheckpoint(
                        serializedBytes: UnsafeRawBufferPointer(rebasing: bytes[checkpointRange]))
                else { return nil }
                return (signedHeader, checkpoint)
            }
            guard let (signedHeader, checkpoint) = parts,
                let header = StoredBlockLayout.header(of: signedHeader, height: height, entryCount: entryRanges.count)
            else { return nil }
            self.signedHeader = signedHeader
            self.checkpoint = checkpoint
            firstEntryIndex = header.firstEntryIndex
            storage = frame
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

    /// The committed block at `height`, kept in the cache when it is read back: for reads at random places that
    /// come back to the same blocks (record and grant entries, checkpoints). INTERNAL when the log cannot give it
    /// back (the state says it is committed, so it must be there).
    func block(height: UInt64) throws(RPCError) -> Block {
        if let cached = cachedBlock(height: height) { return cached }
        let block: Block
        do {
            var frame: [UInt8] = []
            let payload = try blockLog.readRecord(Int(height) - 1, into: &frame)
            guard let stored = Block(frame: frame, payload: payload, height: height) else {
                throw StorageError.dataLoss("record \(height - 1) of the block log is not block \(height)")
            }
            block = stored
        } catch {
            throw readFailure(height: height, error)
        }
        keep(block, height: height)
        return block
    }

    /// A stream's reads of blocks in log order (a replay): the block it is in and the buffer that blocks the cache
    /// does not hold are read into, one for every block of the scan. Those blocks do not enter the cache: a replay
    /// of old events would only evict the recent blocks that followers and receipts need, and read them again.
    struct Scan {
        /// Frames read back from the block log, the current one at the front; only grows.
        fileprivate var buffer: [UInt8] = []
        /// Where the current block's entries are in `buffer`, when it was read back.
        fileprivate var entryRanges: [Range<Int>] = []
        fileprivate var firstEntryIndex: UInt64 = 0
        /// The block the scan is in, nil before the first.
        fileprivate var height: UInt64?
        /// The current block when the cache held it.
        fileprivate var cached: Block?
        /// Blocks the scan read from the block log, and found in the cache.
        fileprivate(set) var blocksRead = 0
        fileprivate(set) var blocksFromCache = 0

        /// A scan before its first block.
        init() {}
    }

    /// Calls `body` with the offset in `positions` and the bytes in place of each committed entry there, in order;
    /// consecutive entries of one block (as a replay's mostly are) look the block up once. A block the cache does not
    /// hold is read into `scan`'s buffer and left out of the cache.
    func forEachEntry(
        at positions: [EntryPosition], through scan: inout Scan,
        _ body: (Int, UnsafeRawBufferPointer) throws(RPCError) -> Void
    ) throws(RPCError) {
        for (offset, position) in positions.enumerated() {
            if scan.height != position.blockHeight { try move(&scan, toBlock: position.blockHeight) }
            let index = position.entryIndex
            let entryCount = scan.cached?.entryRanges.count ?? scan.entryRanges.count
            let first = scan.cached?.firstEntryIndex ?? scan.firstEntryIndex
            guard index >= first, index - first < UInt64(entryCount) else {
                throw RPCError(
                    .internalError,
                    "the block of entries \(first)..<\(first + UInt64(entryCount)) does not hold entry \(index)")
            }
            if let cached = scan.cached {
                try cached.withEntry(index) { (entry) throws(RPCError) in try body(offset, entry) }
                continue
            }
            let range = scan.entryRanges[Int(index - first)]
            // withUnsafeBytes rethrows untyped errors, so the typed one travels out as a value.
            let result = scan.buffer.withUnsafeBytes { buffer in
                Swift.Result { () throws(RPCError) in
                    try body(offset, UnsafeRawBufferPointer(rebasing: buffer[range]))
                }
            }
            try result.get()
        }
    }

    /// Moves `scan` to block `height`: the cached block, or the frame read into the scan's buffer and checked (CRC,
    /// height, entry count).
    private func move(_ scan: inout Scan, toBlock height: UInt64) throws(RPCError) {
        scan.height = nil
        if let cached = cachedBlock(height: height) {
            scan.cached = cached
            scan.height = height
            scan.blocksFromCache += 1
            return
        }
        scan.cached = nil
        do {
            let payload = try blockLog.readRecord(Int(height) - 1, into: &scan.buffer)
            var entryRanges = scan.entryRanges
            scan.entryRanges = []
            let signedHeader = scan.buffer.withUnsafeBytes { bytes -> Healthledger_V1_SignedBlockHeader? in
                guard let layout = StoredBlockLayout(bytes, payload: payload, entryRanges: &entryRanges),
                    layout.checkpoint != nil
                else { return nil }
                return try? Healthledger_V1_SignedBlockHeader(
                    serializedBytes: UnsafeRawBufferPointer(rebasing: bytes[layout.header]))
            }
            scan.entryRanges = entryRanges
            guard let signedHeader,
                let header = StoredBlockLayout.header(of: signedHeader, height: height, entryCount: entryRanges.count)
            else {
                throw StorageError.dataLoss("record \(height - 1) of the block log is not block \(height)")
            }
            scan.firstEntryIndex = header.firstEntryIndex
        } catch {
            throw readFailure(height: height, error)
        }
        scan.height = height
        scan.blocksRead += 1
    }

    /// The signed header of committed block `height`: the cached block's, or else read from the front of its record
    /// alone (the header is the first field), not through the cache. The frame's checksum covers the whole block, so
    /// it is not checked here; the height is, and the node's signature covers the rest for whoever verifies it.
    func signedHeader(height: UInt64) throws(RPCError) -> Healthledger_V1_SignedBlockHeader {
        if let cached = cachedBlock(height: height) { return cached.signedHeader }
        let index = Int(height) - 1
        do {
            var prefix = try blockLog.readRecordPrefix(index, count: Self.headerPrefixSize)
            let field = prefix.withUnsafeBytes { StoredBlockLayout.header(inPrefix: $0) }
            if let field, field.upperBound > prefix.count, prefix.count == Self.headerPrefixSize {
                // A header longer than what was read: read it whole.
                prefix = try blockLog.readRecordPrefix(index, count: field.upperBound)
            }
            guard let field, field.upperBound <= prefix.count,
                let signedHeader = prefix.withUnsafeBytes({
                    try? Healthledger_V1_SignedBlockHeader(serializedBytes: UnsafeRawBufferPointer(rebasing: $0[field]))
                }),
                StoredBlockLayout.header(of: signedHeader, height: height) != nil
            else {
                throw StorageError.dataLoss(
                    "record \(index) of the block log does not start with block \(height)'s header")
            }
            return signedHeader
        } catch {
            throw readFailure(height: height, error)
        }
    }

    /// Bytes read from the front of a block's record for its header: a signed header is about 250 bytes.
    static let headerPrefixSize = 1024

    /// The bytes of committed log entry `entryIndex` in the block at `height`.
    func entry(_ entryIndex: UInt64, inBlock height: UInt64) throws(RPCError) -> [UInt8] {
        try block(height: height).entry(entryIndex)
    }

    /// Whether the cache holds block `height`.
    func isCached(height: UInt64) -> Bool { cachedBlock(height: height) != nil }

    private func cachedBlock(height: UInt64) -> Block? {
        cache.withLock { $0.blocks[height] }
    }

    /// The error a caller gets when a committed block cannot be read back, logged with its cause.
    private func readFailure(height: UInt64, _ error: any Error) -> RPCError {
        logger.error(
            "could not read a committed block back from the block log",
            metadata: ["block": "\(height)", "error": "\(error)"])
        return RPCError(.internalError, "block \(height) could not be read back from the block log")
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
