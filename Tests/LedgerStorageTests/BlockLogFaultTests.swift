import Glibc
import LedgerStorage
import Synchronization
import Testing

@Suite("Block log under disk faults: a failed append is never acknowledged and never left behind")
struct BlockLogFaultTests {
    @Test(
        "given a full disk (ENOSPC on write), when a block is appended, then it fails as unavailable, the file is back at its durable length, and after the disk frees up appends go on and a reopen sees exactly the acknowledged blocks"
    )
    func noSpaceOnWrite() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let faults = FaultInjector()
            let (log, _, _) = try BlockLog.open(path: path, fileIO: .injectingFaults(into: .system, faults))
            try log.append(testBytes(1000, seed: 1))
            let durable = log.durableLength

            faults.failWrites(errno: ENOSPC)
            let error = storageError { try log.append(testBytes(5000, seed: 2)) }
            #expect(error?.kind == .unavailable)
            #expect(error?.systemError == ENOSPC)
            #expect(error?.description == "unavailable: pwrite \(path): No space left on device (ENOSPC)")
            #expect(log.durableLength == durable)
            #expect(fileSize(path) == durable)

            faults.clear()
            try log.append(testBytes(300, seed: 3))
            log.close()
            let (reopened, records, recovery) = try BlockLog.open(path: path)
            reopened.close()
            #expect(records == [testBytes(1000, seed: 1), testBytes(300, seed: 3)])
            #expect(recovery.truncatedBytes == 0)
        }
    }

    @Test("given a disk that fills part-way through a frame, then the partial frame is cut away")
    func noSpaceAfterPartialWrite() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let faults = FaultInjector()
            var io = FileIO.injectingFaults(into: .system, faults)
            let base = io.pwrite
            // The first pwrite of each append takes only half the bytes; the retry for the rest hits ENOSPC.
            io.pwrite = { fd, bytes, offset throws(FileIOError) in
                try base(fd, UnsafeRawBufferPointer(rebasing: bytes[..<max(1, bytes.count / 2)]), offset)
            }
            let (log, _, _) = try BlockLog.open(path: path, fileIO: io)
            faults.failWrites(errno: ENOSPC, after: 1)
            #expect(storageError { try log.append(testBytes(4096)) }?.kind == .unavailable)
            #expect(fileSize(path) == 8)
            log.close()
        }
    }

    @Test(
        "given a failing device (EIO on fdatasync), when a block is appended, then it does not count as appended; after the device recovers, the log is cut back and the next block is appended correctly"
    )
    func ioErrorOnSync() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let faults = FaultInjector()
            let (log, _, _) = try BlockLog.open(path: path, fileIO: .injectingFaults(into: .system, faults))
            try log.append([1, 1, 1])
            let durable = log.durableLength

            faults.failSyncs(errno: EIO)
            let error = storageError { try log.append(testBytes(2000, seed: 9)) }
            #expect(error?.kind == .unavailable)
            #expect(error?.reason == "fdatasync \(path): Input/output error (EIO)")
            #expect(log.durableLength == durable)
            // The cut-back itself could not be synced while the device failed: a second append fails too.
            #expect(storageError { try log.append([2]) }?.kind == .unavailable)

            faults.clear()
            try log.append([3, 3])
            #expect(log.durableLength == durable + 10)
            log.close()
            let (reopened, records, recovery) = try BlockLog.open(path: path)
            reopened.close()
            #expect(records == [[1, 1, 1], [3, 3]])
            #expect(recovery.truncatedBytes == 0)
        }
    }

    @Test(
        "given a device that drops the dirty pages of a failed fdatasync and then syncs cleanly (fsyncgate), when blocks are appended through the failure, then the reopened log holds exactly the acknowledged blocks: the failed one was cut back and written again, never trusted to a later sync"
    )
    func failedSyncDropsPages() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let disk = ForgetfulDisk()
            let (log, _, _) = try BlockLog.open(path: path, fileIO: disk.fileIO)
            try log.append(testBytes(700, seed: 1))

            disk.failNextSync()
            #expect(storageError { try log.append(testBytes(1500, seed: 2)) }?.systemError == EIO)
            #expect(disk.droppedBytes > 0, "the failed sync dropped nothing, so the test proves nothing")
            // The same block again, as a committer retrying it would: it must be written anew, not synced again.
            try log.append(testBytes(1500, seed: 2))
            try log.append(testBytes(40, seed: 3))
            log.close()

            let (reopened, records, recovery) = try BlockLog.open(path: path)
            reopened.close()
            #expect(records == [testBytes(700, seed: 1), testBytes(1500, seed: 2), testBytes(40, seed: 3)])
            #expect(recovery.truncatedBytes == 0)
        }
    }

    @Test("given a failing device while a new log is created, then open fails as unavailable and leaves no file")
    func ioErrorOnCreate() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let faults = FaultInjector()
            faults.failSyncs(errno: EIO)
            let error = storageError {
                _ = try BlockLog.open(path: path, fileIO: .injectingFaults(into: .system, faults))
            }
            #expect(error?.kind == .unavailable)
            #expect(directoryEntries(directory).isEmpty)
        }
    }

    @Test("given a failing read during recovery, then open fails as unavailable and truncates nothing")
    func ioErrorOnRecoveryRead() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/blocks.log"
            let (log, _, _) = try BlockLog.open(path: path)
            try log.append(testBytes(100))
            log.close()
            let faults = FaultInjector()
            faults.failReads(errno: EIO, after: 1)
            let error = storageError {
                _ = try BlockLog.open(path: path, fileIO: .injectingFaults(into: .system, faults))
            }
            #expect(error?.kind == .unavailable)
            #expect(fileSize(path) == 8 + 108)
        }
    }
}

/// A disk that behaves as Linux does after a failed writeback: the bytes written since the last successful sync
/// are lost (zeroed on "disk") when a sync fails, and the next sync succeeds as if nothing happened. Code that
/// retries the sync instead of writing the data again acknowledges zeros.
final class ForgetfulDisk: Sendable {
    private struct State {
        var unsynced: [Int32: [(offset: UInt64, count: Int)]] = [:]
        var failNext = false
        var dropped = 0
    }

    private let state = Mutex(State())

    /// The next fsync or fdatasync fails with EIO and drops what it should have written.
    func failNextSync() { state.withLock { $0.failNext = true } }

    /// Bytes dropped by failed syncs so far.
    var droppedBytes: Int { state.withLock { $0.dropped } }

    /// The system's file operations, with writes remembered until synced and syncs failing as scheduled.
    var fileIO: FileIO {
        var io = FileIO.system
        io.pwrite = { fd, bytes, offset throws(FileIOError) in
            let written = try FileIO.system.pwrite(fd, bytes, offset)
            self.state.withLock { $0.unsynced[fd, default: []].append((offset, written)) }
            return written
        }
        io.fsync = { fd throws(FileIOError) in try self.sync(fd, FileIO.system.fsync) }
        io.fdatasync = { fd throws(FileIOError) in try self.sync(fd, FileIO.system.fdatasync) }
        return io
    }

    /// `base(fd)`, unless this sync is due to fail: then the bytes written since the last sync are lost.
    private func sync(_ fd: Int32, _ base: @Sendable (Int32) throws(FileIOError) -> Void) throws(FileIOError) {
        let (failing, lost) = state.withLock { state in
            let lost = state.unsynced.removeValue(forKey: fd) ?? []
            let failing = state.failNext
            state.failNext = false
            if failing { state.dropped += lost.reduce(0) { $0 + $1.count } }
            return (failing, lost)
        }
        guard failing else { return try base(fd) }
        for range in lost {
            // The device never got these bytes: what reaches the disk later is what was there before.
            let zeros = [UInt8](repeating: 0, count: range.count)
            _ = zeros.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress, $0.count, off_t(range.offset)) }
        }
        throw FileIOError(EIO)
    }
}
