import Foundation
import HealthLedgerClient
import LedgerCrypto
import Testing

/// A record's content streamed from a file: hashed once, then read back in chunks the node accepts.
@Suite("record content from a file")
struct RecordContentFileTests {
    let directory: String

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("hl-content-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Every chunk message of `content`, in order.
    func chunks(of content: RecordContentFile) async throws -> [(offset: UInt64, data: [UInt8])] {
        var chunks: [(UInt64, [UInt8])] = []
        for try await message in content.chunkMessages() {
            guard case .chunk(let chunk)? = message.part else { Issue.record("not a chunk"); continue }
            chunks.append((chunk.offsetBytes, chunk.data))
        }
        return chunks
    }

    @Test("a file of 2.5 MiB is hashed whole and streams as 1 MiB, 1 MiB and the rest, at the right offsets, twice")
    func chunksOfALargeFile() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = SecureRandom.bytes(5 << 19)
        let content = try RecordContentFile(path: try file("scan.bin", bytes))
        #expect(content.sizeBytes == UInt64(bytes.count))
        #expect(content.sha256 == SHA256.hash(bytes))
        for _ in 0..<2 {  // a retried write streams the same bytes again
            let chunks = try await chunks(of: content)
            #expect(chunks.map(\.offset) == [0, 1 << 20, 2 << 20])
            #expect(chunks.map(\.data.count) == [1 << 20, 1 << 20, 1 << 19])
            #expect(chunks.flatMap(\.data) == bytes)
        }
    }

    @Test("an empty file has the empty hash and no chunks")
    func emptyFile() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let content = try RecordContentFile(path: try file("empty", []))
        #expect(content.sizeBytes == 0 && content.sha256 == SHA256.hash([]))
        #expect(try await chunks(of: content).isEmpty)
    }

    @Test("standard input is spooled to a file nobody else can open, and streams back what was read")
    func spoolingAPipe() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = SecureRandom.bytes(1 << 20 | 5)
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(bytes))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let content = try RecordContentFile.spooling(
            from: pipe.fileHandleForReading.fileDescriptor, directory: directory)
        #expect(content.sha256 == SHA256.hash(bytes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)  // unlinked at once
        #expect(try await chunks(of: content).flatMap(\.data) == bytes)
    }

    @Test("a file that shrinks after hashing ends the stream with changedWhileSending")
    func shrinkingFile() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try file("growing.log", SecureRandom.bytes(3 << 20))
        let content = try RecordContentFile(path: path)
        truncate(path, 1 << 20)
        await #expect {
            _ = try await chunks(of: content)
        } throws: { error in
            (error as? RecordContentError)?.kind == .changedWhileSending
        }
        #expect(content.lastReadFailure?.kind == .changedWhileSending)
    }

    @Test("a missing path and a directory are refused with their kind and the path in the message")
    func unreadable() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect {
            _ = try RecordContentFile(path: directory + "/nope.json")
        } throws: { error in
            let error = error as? RecordContentError
            return error?.kind == .notFound && error?.description.contains("nope.json") == true
        }
        #expect {
            _ = try RecordContentFile(path: directory)
        } throws: { error in
            (error as? RecordContentError)?.kind == .notARegularFile
        }
    }
}
