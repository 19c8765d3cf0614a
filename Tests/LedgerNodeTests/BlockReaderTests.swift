import Foundation
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
}
