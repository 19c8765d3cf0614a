import Foundation
import Glibc
import HealthLedgerProtos
import LedgerStorage
import LedgerDomain
import Logging
import RPCCore
import Testing

@testable import LedgerNode

/// Blocks read back from a real block log file through a cache smaller than the log.
@Suite("Block reader")
struct BlockReaderTests {
    /// A block log of `count` blocks of three 1,000-byte entries each, entry bytes derived from their index.
    static func makeLog(blocks count: Int) throws -> (BlockLog, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("block-reader-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (log, _, _) = try BlockLog.open(path: directory + "/blocks.log")
        for height in 1...count {
            try log.append(stored(height: UInt64(height)).serializedBytes())
        }
        return (log, directory)
    }

    static func entries(of height: UInt64) -> [[UInt8]] {
        (0..<3).map { offset in
            let index = (height - 1) * 3 + UInt64(offset)
            return [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 1000)
        }
    }

    static func stored(height: UInt64) -> StoredBlock {
        var header = Healthledger_V1_BlockHeader()
        header.height = height
        header.firstEntryIndex = (height - 1) * 3
        header.entryCount = 3
        var signedHeader = Healthledger_V1_SignedBlockHeader()
        signedHeader.header = header.serializedBytes()
        var checkpoint = Healthledger_V1_SignedCheckpoint()
        checkpoint.checkpoint = Array("checkpoint \(height)".utf8)
        return StoredBlock(header: signedHeader, entries: entries(of: height), checkpoint: checkpoint)
    }

    @Test("every block read back in any order holds its own entries, and the cache stays within its budget")
    func readsBackWithinTheBudget() throws {
        let (log, directory) = try Self.makeLog(blocks: 40)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = BlockReader(blockLog: log, byteBudget: 10_000, logger: Logger(label: "test"))
        let heights = Array(1...40).map(UInt64.init)
        for height in heights + heights.reversed() + heights.shuffled() {
            let block = try reader.block(height: height)
            #expect(block.checkpoint.checkpoint == Array("checkpoint \(height)".utf8))
            for (offset, expected) in Self.entries(of: height).enumerated() {
                #expect(try reader.entry((height - 1) * 3 + UInt64(offset), inBlock: height) == expected)
            }
            let footprint = reader.cacheFootprint
            #expect(footprint.accounted == footprint.held && footprint.held <= 10_000)
        }
        #expect(throws: RPCError.self) { try reader.entry(0, inBlock: 2) }
    }

    @Test("a block kept by the committer after a reader kept it from disk is accounted for as it is")
    func keepingTheSameBlockTwice() throws {
        let (log, directory) = try Self.makeLog(blocks: 3)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = BlockReader(blockLog: log, byteBudget: 1 << 20, logger: Logger(label: "test"))
        _ = try reader.block(height: 3)
        let committed = Self.stored(height: 3)
        reader.keep(
            BlockReader.Block(
                signedHeader: committed.header!, checkpoint: committed.checkpoint!, firstEntryIndex: 6,
                entries: committed.entries),
            height: 3)
        let footprint = reader.cacheFootprint
        #expect(footprint.accounted == footprint.held)
        #expect(try reader.entry(7, inBlock: 3) == Self.entries(of: 3)[1])
    }

    /// Every entry of blocks `heights`, in log order.
    static func positions(_ heights: ClosedRange<UInt64>) -> [EntryPosition] {
        heights.flatMap { height in
            (0..<3).map { EntryPosition(blockHeight: height, entryIndex: (height - 1) * 3 + UInt64($0)) }
        }
    }

    /// The block the committer hands the reader for `height`.
    static func committed(height: UInt64) -> BlockReader.Block {
        let stored = Self.stored(height: height)
        return BlockReader.Block(
            signedHeader: stored.header!, checkpoint: stored.checkpoint!, firstEntryIndex: (height - 1) * 3,
            entries: stored.entries)
    }

    @Test("a replay through one reused buffer gives every entry the cached reads give, in order, and fills no cache")
    func scanMatchesCachedReads() throws {
        let (log, directory) = try Self.makeLog(blocks: 40)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scanning = BlockReader(blockLog: log, byteBudget: 1 << 20, logger: Logger(label: "test"))
        let caching = BlockReader(blockLog: log, byteBudget: 1 << 20, logger: Logger(label: "test"))
        let positions = Self.positions(1...40)
        var scan = BlockReader.Scan()
        var seen: [(Int, [UInt8])] = []
        try scanning.forEachEntry(at: positions, through: &scan) { offset, entry in
            seen.append((offset, Array(entry)))
        }
        #expect(seen.map(\.0) == Array(positions.indices))
        for (position, (_, entry)) in zip(positions, seen) {
            #expect(entry == (try caching.entry(position.entryIndex, inBlock: position.blockHeight)))
        }
        #expect(scan.blocksRead == 40 && scan.blocksFromCache == 0)
        #expect(scanning.cacheFootprint.held == 0)
    }

    @Test("given a cache holding only the two newest blocks, when a replay reads the whole log, then they stay cached and are read from the cache")
    func replayKeepsTheHead() throws {
        let (log, directory) = try Self.makeLog(blocks: 40)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let budget = Self.committed(height: 40).byteCount * 2
        let reader = BlockReader(blockLog: log, byteBudget: budget, logger: Logger(label: "test"))
        reader.keep(Self.committed(height: 39), height: 39)
        reader.keep(Self.committed(height: 40), height: 40)
        let footprint = reader.cacheFootprint
        var scan = BlockReader.Scan()
        var count = 0
        try reader.forEachEntry(at: Self.positions(1...40), through: &scan) { _, _ in count += 1 }
        #expect(count == 120)
        #expect(scan.blocksRead == 38 && scan.blocksFromCache == 2)
        #expect(reader.isCached(height: 39) && reader.isCached(height: 40))
        #expect(reader.cacheFootprint.accounted == footprint.accounted)
        #expect(reader.cacheFootprint.held == footprint.held)
    }

    @Test("a replay that meets a damaged block fails with INTERNAL instead of sending its bytes")
    func scanChecksTheFrame() throws {
        let (log, directory) = try Self.makeLog(blocks: 3)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // One byte near the end of block 2 changes on disk: its frame no longer checks out.
        let path = directory + "/blocks.log"
        let fd = open(path, O_RDWR)
        var size = stat()
        fstat(fd, &size)
        let frameSize = (Int(size.st_size) - 8) / 3
        var byte: UInt8 = 0x5A
        #expect(pwrite(fd, &byte, 1, off_t(8 + 2 * frameSize - 10)) == 1)
        close(fd)
        let reader = BlockReader(blockLog: log, byteBudget: 1 << 20, logger: Logger(label: "test"))
        var scan = BlockReader.Scan()
        var seen = 0
        #expect(throws: RPCError.self) {
            try reader.forEachEntry(at: Self.positions(1...3), through: &scan) { _, _ in seen += 1 }
        }
        #expect(seen == 3)
        #expect(throws: RPCError.self) {
            var again = BlockReader.Scan()
            try reader.forEachEntry(at: [EntryPosition(blockHeight: 1, entryIndex: 5)], through: &again) { _, _ in }
        }
    }

    @Test("a block header read on its own matches the stored one, for a long header too, and leaves the cache as it was")
    func headerAlone() throws {
        let (log, directory) = try Self.makeLog(blocks: 3)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var long = Self.stored(height: 4)
        long.header!.signature = [UInt8](repeating: 7, count: 3_000)
        try log.append(long.serializedBytes())
        let reader = BlockReader(blockLog: log, byteBudget: 1 << 20, logger: Logger(label: "test"))
        for height in UInt64(1)...3 {
            #expect(try reader.signedHeader(height: height) == Self.stored(height: height).header)
        }
        #expect(try reader.signedHeader(height: 4) == long.header)
        #expect(reader.cacheFootprint.held == 0)
        // A cached block's header comes from the cache, the same.
        _ = try reader.block(height: 2)
        #expect(try reader.signedHeader(height: 2) == Self.stored(height: 2).header)
    }
}

/// Where a stored block's parts are, found without decoding it.
@Suite("Stored block layout")
struct StoredBlockLayoutTests {
    @Test("the layout of an encoded block finds its header, each entry and its checkpoint where the encoding put them")
    func findsTheParts() throws {
        let stored = BlockReaderTests.stored(height: 7)
        let bytes = [0xEE, 0xEE] + stored.serializedBytes()
        var entryRanges: [Range<Int>] = [0..<1]
        let layout = try #require(
            bytes.withUnsafeBytes { StoredBlockLayout($0, payload: 2..<bytes.count, entryRanges: &entryRanges) })
        #expect(entryRanges.map { Array(bytes[$0]) } == stored.entries)
        #expect(Array(bytes[layout.header]) == stored.header!.serializedBytes())
        #expect(layout.checkpoint.map { Array(bytes[$0]) } == stored.checkpoint!.serializedBytes())
        let prefix = Array(bytes[2...].prefix(40))
        let header = (layout.header.lowerBound - 2)..<(layout.header.upperBound - 2)
        #expect(prefix.withUnsafeBytes { StoredBlockLayout.header(inPrefix: $0) } == header)
    }

    @Test("bytes that are not a stored block have no layout, and a prefix that does not start with a header has none")
    func refusesOtherBytes() {
        var entryRanges: [Range<Int>] = []
        let garbage: [UInt8] = [0x12, 0x05, 1, 2]
        #expect(garbage.withUnsafeBytes { StoredBlockLayout($0, payload: 0..<4, entryRanges: &entryRanges) } == nil)
        let noHeader = StoredBlock(header: .init(), entries: [[1]], checkpoint: .init())
        var headerless = noHeader
        headerless.header = nil
        let encoded = headerless.serializedBytes()
        #expect(
            encoded.withUnsafeBytes { StoredBlockLayout($0, payload: 0..<encoded.count, entryRanges: &entryRanges) }
                == nil)
        #expect(encoded.withUnsafeBytes { StoredBlockLayout.header(inPrefix: $0) } == nil)
        let cutVarint: [UInt8] = [0x0A, 0x80, 0x80]
        #expect(cutVarint.withUnsafeBytes { StoredBlockLayout.header(inPrefix: $0) } == nil)
        let wrongHeight = BlockReaderTests.stored(height: 3).header!
        #expect(StoredBlockLayout.header(of: wrongHeight, height: 4) == nil)
        #expect(StoredBlockLayout.header(of: wrongHeight, height: 3, entryCount: 2) == nil)
        #expect(StoredBlockLayout.header(of: wrongHeight, height: 3, entryCount: 3)?.firstEntryIndex == 6)
    }
}
