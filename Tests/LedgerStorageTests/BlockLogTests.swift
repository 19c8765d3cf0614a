import Glibc
import LedgerStorage
import Synchronization
import Testing

@Suite("Block log: framing, recovery of torn tails, refusal of foreign or damaged files")
struct BlockLogTests {
    /// Appends `records` to a new log at `path` and closes it.
    private func writeLog(_ path: String, _ records: [[UInt8]]) throws {
        let (log, _, _) = try BlockLog.open(path: path)
        for record in records { try log.append(record) }
        log.close()
    }

    private func frameSize(_ record: [UInt8]) -> UInt64 { UInt64(BlockLog.frameHeaderSize + record.count) }

    @Test("given a new log, when blocks are appended and the log reopened, then exactly those blocks come back")
    func roundtrip() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = [testBytes(100, seed: 1), [], testBytes(70_000, seed: 2), testBytes(1, seed: 3)]
            let (log, initial, recovery) = try BlockLog.open(path: path)
            #expect(initial.isEmpty)
            #expect(recovery.createdFile)
            #expect(log.durableLength == 8)
            for record in records { try log.append(record) }
            let expectedLength = 8 + records.map(frameSize).reduce(0, +)
            #expect(log.durableLength == expectedLength)
            log.close()

            #expect(Array(fileBytes(path).prefix(8)) == Array("HLBLOCK1".utf8))
            let (reopened, read, second) = try BlockLog.open(path: path)
            defer { reopened.close() }
            #expect(read == records)
            #expect(second.recordCount == 4)
            #expect(second.durableLength == expectedLength)
            #expect(second.truncatedBytes == 0)
            #expect(second.tornTail == nil)
            #expect(!second.createdFile)
            #expect(reopened.durableLength == expectedLength)
        }
    }

    @Test("given a reopened log with more blocks appended, then any block, old or new, reads back by its index, and a damaged one is data loss")
    func readRecordByIndex() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let first = (0..<5).map { testBytes(10 + $0 * 300, seed: UInt64($0)) }
            try writeLog(path, first)
            let (log, _, _) = try BlockLog.open(path: path)
            let later = [testBytes(20_000, seed: 9), []]
            for record in later { try log.append(record) }
            #expect(log.recordCount == 7)
            for (index, record) in (first + later).enumerated() { #expect(try log.readRecord(index) == record) }

            #expect(storageError { _ = try log.readRecord(7) }?.kind == .notFound)

            // A byte of block 2's payload changes on disk under the open log: reading it back is data loss.
            let offset = 8 + first[0...1].map(frameSize).reduce(0, +) + UInt64(BlockLog.frameHeaderSize) + 5
            var byte = fileBytes(path)[Int(offset)] ^ 0x40
            let fd = open(path, O_WRONLY)
            #expect(pwrite(fd, &byte, 1, off_t(offset)) == 1)
            close(fd)
            #expect(storageError { _ = try log.readRecord(2) }?.kind == .dataLoss)
            #expect(try log.readRecord(3) == first[3])
            log.close()
            #expect(storageError { _ = try log.readRecord(3) }?.kind == .unavailable)
        }
    }

    @Test("given records of many sizes read through one buffer, then each payload comes back as written, and the buffer grows only for a larger frame")
    func readRecordIntoOneBuffer() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = [testBytes(5_000, seed: 1), testBytes(10, seed: 2), [], testBytes(20_000, seed: 3)]
            let (log, _, _) = try BlockLog.open(path: path)
            defer { log.close() }
            for record in records { try log.append(record) }
            var buffer: [UInt8] = []
            for (index, record) in (records + records.reversed()).enumerated() {
                let sizeBefore = buffer.count
                let payload = try log.readRecord(index < 4 ? index : 7 - index, into: &buffer)
                #expect(Array(buffer[payload]) == record)
                #expect(payload.lowerBound == BlockLog.frameHeaderSize)
                #expect(buffer.count == max(sizeBefore, BlockLog.frameHeaderSize + record.count))
            }
            #expect(storageError { _ = try log.readRecord(4, into: &buffer) }?.kind == .notFound)
        }
    }

    @Test("given a record, then a prefix of its payload reads back as written, never past the record")
    func readRecordPrefix() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = [testBytes(3_000, seed: 1), testBytes(40, seed: 2)]
            let (log, _, _) = try BlockLog.open(path: path)
            for record in records { try log.append(record) }
            #expect(try log.readRecordPrefix(0, count: 1_024) == Array(records[0].prefix(1_024)))
            #expect(try log.readRecordPrefix(1, count: 1_024) == records[1])
            #expect(try log.readRecordPrefix(1, count: 0) == [])
            #expect(storageError { _ = try log.readRecordPrefix(2, count: 8) }?.kind == .notFound)
            log.close()
            #expect(storageError { _ = try log.readRecordPrefix(0, count: 8) }?.kind == .unavailable)
        }
    }

    @Test("given a reader on another thread while blocks are appended, then every record listed reads back whole and intact")
    func readsBesideAppends() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let (log, _, _) = try BlockLog.open(path: path)
            defer { log.close() }
            let records = (0..<200).map { testBytes(100 + $0 * 53, seed: UInt64($0)) }
            let reader = Task.detached { () throws -> Int in
                var buffer: [UInt8] = []
                var checked = 0
                while checked < records.count {
                    let count = log.recordCount
                    guard count > checked else {
                        await Task.yield()
                        continue
                    }
                    // The newest record, as soon as it is listed, then every one before it not yet checked.
                    for index in (checked..<count).reversed() {
                        let payload = try log.readRecord(index, into: &buffer)
                        guard Array(buffer[payload]) == records[index] else { return index }
                    }
                    checked = count
                }
                return -1
            }
            for record in records { try log.append(record) }
            #expect(try await reader.value == -1)
        }
    }

    @Test("given a read under way when the log is closed, then the read still gets its record, and the file is released once it ends")
    func closeDuringARead() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let record = testBytes(4_000, seed: 5)
            try writeLog(path, [record])
            // The log is closed from inside the read's pread, after the frame was found under the lock.
            let closer = LogCloser()
            var fileIO = FileIO.system
            fileIO.pread = { fd, buffer, offset throws(FileIOError) in
                closer.closeOnce()
                return try FileIO.system.pread(fd, buffer, offset)
            }
            let (log, _, _) = try BlockLog.open(path: path, fileIO: fileIO)
            closer.arm(log)
            #expect(try log.readRecord(0) == record)
            #expect(storageError { _ = try log.readRecord(0) }?.kind == .unavailable)
            let (reopened, records, _) = try BlockLog.open(path: path)
            reopened.close()
            #expect(records == [record])
        }
    }

    @Test("given a log, when it is read through the closure form, then each payload arrives in order, in place")
    func closureForm() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = (0..<50).map { testBytes($0 * 37, seed: UInt64($0)) }
            try writeLog(path, records)
            var seen: [[UInt8]] = []
            let (log, recovery) = try BlockLog.open(path: path) { payload in seen.append(Array(payload)) }
            log.close()
            #expect(seen == records)
            #expect(recovery.recordCount == 50)
        }
    }

    @Test("given a log whose blocks span many 8 MiB read chunks, then every block is read intact")
    func largeRecordsAcrossChunks() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = [
                testBytes(3 << 20, seed: 1), testBytes(9 << 20, seed: 2), testBytes(5, seed: 3),
                testBytes(6 << 20, seed: 4),
            ]
            try writeLog(path, records)
            let (log, read, _) = try BlockLog.open(path: path)
            log.close()
            #expect(read == records)
        }
    }

    @Test(
        "given a crash mid-append, when the last frame is cut at every byte offset, then reopening recovers exactly the complete records and truncates the rest"
    )
    func tornTailAtEveryOffset() throws {
        try withTemporaryDirectory { directory in
            let original = "\(directory)/original.log"
            let complete = [testBytes(40, seed: 1), testBytes(300, seed: 2)]
            let last = testBytes(61, seed: 3)
            try writeLog(original, complete + [last])
            let bytes = fileBytes(original)
            let completeLength = 8 + complete.map(frameSize).reduce(0, +)
            #expect(UInt64(bytes.count) == completeLength + frameSize(last))

            for cut in Int(completeLength)..<bytes.count {
                let copy = "\(directory)/cut-\(cut).log"
                writeFile(copy, Array(bytes[..<cut]))
                let (log, read, recovery) = try BlockLog.open(path: copy)
                #expect(read == complete, "cut at \(cut)")
                #expect(recovery.truncatedBytes == UInt64(cut) - completeLength, "cut at \(cut)")
                #expect((recovery.tornTail != nil) == (UInt64(cut) > completeLength), "cut at \(cut)")
                #expect(fileSize(copy) == completeLength, "cut at \(cut)")
                // The log goes on cleanly after the cut.
                try log.append(last)
                log.close()
                let (again, reread, clean) = try BlockLog.open(path: copy)
                again.close()
                #expect(reread == complete + [last], "cut at \(cut)")
                #expect(clean.truncatedBytes == 0)
                unlink(copy)
            }
        }
    }

    @Test("given a flipped byte in the last frame's payload, then that frame is truncated away and reported")
    func flippedByteInLastFrame() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = [testBytes(100, seed: 1), testBytes(200, seed: 2), testBytes(300, seed: 3)]
            try writeLog(path, records)
            var bytes = fileBytes(path)
            bytes[bytes.count - 150] ^= 0x01
            writeFile(path, bytes)

            let (log, read, recovery) = try BlockLog.open(path: path)
            log.close()
            #expect(read == Array(records.prefix(2)))
            #expect(recovery.truncatedBytes == frameSize(records[2]))
            #expect(recovery.tornTail?.contains("checksum mismatch") == true)
            #expect(fileSize(path) == 8 + frameSize(records[0]) + frameSize(records[1]))
        }
    }

    @Test("given a zero-filled tail (a crash after the length grew but before the data landed), then it is cut")
    func zeroFilledTail() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = [testBytes(100, seed: 1)]
            try writeLog(path, records)
            writeFile(path, fileBytes(path) + [UInt8](repeating: 0, count: 4096))
            let (log, read, recovery) = try BlockLog.open(path: path)
            log.close()
            #expect(read == records)
            #expect(recovery.truncatedBytes == 4096)
        }
    }

    @Test(
        "given a flipped byte in a frame that intact frames follow, then opening refuses with data loss and leaves the file untouched (acknowledged blocks are never truncated)"
    )
    func flippedByteInMiddleFrame() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let records = [testBytes(100, seed: 1), testBytes(200, seed: 2), testBytes(300, seed: 3)]
            try writeLog(path, records)
            var bytes = fileBytes(path)
            bytes[8 + Int(frameSize(records[0])) + 8 + 50] ^= 0x80
            writeFile(path, bytes)

            let error = storageError { _ = try BlockLog.open(path: path) }
            #expect(error?.kind == .dataLoss)
            #expect(error?.reason.contains("frame 1 at offset 116") == true)
            #expect(error?.reason.contains(path) == true)
            #expect(fileBytes(path) == bytes)
        }
    }

    @Test("given a file that is not a block log, then opening fails with corrupt and does not touch it")
    func wrongMagic() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let foreign = Array("SQLite format 3\u{0}".utf8) + testBytes(100)
            writeFile(path, foreign)
            let error = storageError { _ = try BlockLog.open(path: path) }
            #expect(error?.kind == .corrupt)
            #expect(error?.reason.contains("not a HealthLedger block log") == true)
            #expect(fileBytes(path) == foreign)

            writeFile(path, Array("HLX".utf8))
            #expect(storageError { _ = try BlockLog.open(path: path) }?.kind == .corrupt)
        }
    }

    @Test("given a crash while the file was being created (a header prefix), then the log starts afresh")
    func tornHeader() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            for length in 0..<8 {
                writeFile(path, Array(Array("HLBLOCK1".utf8).prefix(length)))
                let (log, read, recovery) = try BlockLog.open(path: path)
                #expect(read.isEmpty)
                #expect(recovery.createdFile)
                try log.append([1, 2, 3])
                log.close()
                #expect(try BlockLog.open(path: path).records == [[1, 2, 3]])
            }
        }
    }

    @Test("given an open log, when it is opened a second time, then that fails until the first is closed")
    func exclusiveLock() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let (log, _, _) = try BlockLog.open(path: path)
            let error = storageError { _ = try BlockLog.open(path: path) }
            #expect(error?.kind == .unavailable)
            #expect(error?.reason.contains("open elsewhere") == true)
            log.close()
            let (again, _, _) = try BlockLog.open(path: path)
            again.close()
            #expect(storageError { try again.append([1]) }?.kind == .unavailable)
        }
    }

    @Test("given a record handler that rejects a block, then opening stops with its error and truncates nothing")
    func handlerErrorStopsRecovery() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            try writeLog(path, [[1], [2], [3]])
            let before = fileBytes(path)
            var seen = 0
            let error = storageError {
                _ = try BlockLog.open(path: path) { payload throws(StorageError) in
                    seen += 1
                    if payload.first == 2 { throw StorageError.corrupt("block 1 does not decode") }
                }
            }
            #expect(error == StorageError.corrupt("block 1 does not decode"))
            #expect(seen == 2)
            #expect(fileBytes(path) == before)
        }
    }
}

/// Closes a block log the first time it is asked to after being armed.
private final class LogCloser: Sendable {
    private let log = Mutex<BlockLog?>(nil)

    func arm(_ log: BlockLog) { self.log.withLock { $0 = log } }

    func closeOnce() {
        let armed = log.withLock { log -> BlockLog? in
            defer { log = nil }
            return log
        }
        armed?.close()
    }
}
