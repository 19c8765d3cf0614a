import Glibc
import LedgerStorage
import Testing

@Suite("Snapshot files: replaced atomically, a damaged newest falls back")
struct SnapshotFileTests {
    @Test("given no snapshot directory or an empty one, then there is no latest snapshot")
    func none() throws {
        try withTemporaryDirectory { directory throws in
            #expect(try SnapshotFile.readLatest(in: "\(directory)/missing") == nil)
            #expect(try SnapshotFile.readLatest(in: directory) == nil)
        }
    }

    @Test("given snapshots written at rising heights, then the latest is read back and only the newest two are kept")
    func writeAndRead() throws {
        try withTemporaryDirectory { directory in
            let folder = "\(directory)/snapshots"
            for height in [10, 20, 30] as [UInt64] {
                try SnapshotFile.write(testBytes(1000 + Int(height), seed: height), height: height, to: folder)
            }
            let latest = try SnapshotFile.readLatest(in: folder)
            #expect(latest?.height == 30)
            #expect(latest?.bytes == testBytes(1030, seed: 30))
            #expect(directoryEntries(folder) == [SnapshotFile.fileName(20), SnapshotFile.fileName(30)])
            #expect(SnapshotFile.fileName(30) == "snapshot-00000000000000000030.bin")
            #expect(fileSize("\(folder)/\(SnapshotFile.fileName(30))") == 28 + 1030)

            try SnapshotFile.write([], height: 31, to: folder)
            #expect(try SnapshotFile.readLatest(in: folder)?.bytes == [])
        }
    }

    @Test(
        "given a damaged newest snapshot (flipped byte, truncation, wrong header), then the previous one is read and the damage reported",
        arguments: ["flip", "truncate", "magic", "height"])
    func fallback(damage: String) throws {
        try withTemporaryDirectory { directory in
            try SnapshotFile.write(testBytes(500, seed: 1), height: 1, to: directory)
            try SnapshotFile.write(testBytes(600, seed: 2), height: 2, to: directory)
            let path = "\(directory)/\(SnapshotFile.fileName(2))"
            var file = fileBytes(path)
            switch damage {
            case "flip": file[300] ^= 0x04
            case "truncate": file.removeLast()
            case "magic": file[0] = UInt8(ascii: "X")
            default: file[8] = 3
            }
            writeFile(path, file)
            var skipped: [StorageError] = []
            let latest = try SnapshotFile.readLatest(in: directory) { skipped.append($0) }
            #expect(latest?.height == 1)
            #expect(latest?.bytes == testBytes(500, seed: 1))
            #expect(skipped.count == 1)
            #expect(skipped.first?.kind == .dataLoss)
            #expect(skipped.first?.reason.contains(path) == true)

            // Both damaged: nothing.
            writeFile("\(directory)/\(SnapshotFile.fileName(1))", [1, 2, 3])
            #expect(try SnapshotFile.readLatest(in: directory) == nil)
        }
    }

    @Test("given a newest snapshot written in another format version (HLSNAP01), then it is skipped as such, never decoded, for the one before")
    func otherFormatVersion() throws {
        try withTemporaryDirectory { directory in
            try SnapshotFile.write(testBytes(500, seed: 1), height: 1, to: directory)
            try SnapshotFile.write(testBytes(600, seed: 2), height: 2, to: directory)
            let path = "\(directory)/\(SnapshotFile.fileName(2))"
            var file = fileBytes(path)
            file[7] = UInt8(ascii: "1")
            writeFile(path, file)
            var skipped: [StorageError] = []
            let latest = try SnapshotFile.readLatest(in: directory) { skipped.append($0) }
            #expect(latest?.height == 1)
            #expect(skipped.map(\.reason) == ["snapshot \(path): format \"01\", this version reads \"03\" or \"02\" (written by another release; ignored)"])
        }
    }

    @Test("given a newest snapshot in format 02, written by the release before the record columns, then it is read")
    func previousFormatVersionIsRead() throws {
        try withTemporaryDirectory { directory in
            try SnapshotFile.write(testBytes(500, seed: 1), height: 1, to: directory)
            try SnapshotFile.write(testBytes(600, seed: 2), height: 2, to: directory)
            let path = "\(directory)/\(SnapshotFile.fileName(2))"
            var file = fileBytes(path)
            #expect(Array(file[0..<8]) == Array("HLSNAP03".utf8))
            file[7] = UInt8(ascii: "2")
            writeFile(path, file)
            var skipped: [StorageError] = []
            let latest = try SnapshotFile.readLatest(in: directory) { skipped.append($0) }
            #expect(latest?.height == 2)
            #expect(latest?.bytes == testBytes(600, seed: 2))
            #expect(skipped.isEmpty)
        }
    }

    @Test("given a crash that left a temporary snapshot, then it is ignored by reads and removed by the next write")
    func leftoverTemporary() throws {
        try withTemporaryDirectory { directory in
            try SnapshotFile.write([1], height: 5, to: directory)
            writeFile("\(directory)/\(SnapshotFile.fileName(6)).tmp", [9, 9])
            #expect(try SnapshotFile.readLatest(in: directory)?.height == 5)
            try SnapshotFile.write([2], height: 7, to: directory)
            #expect(directoryEntries(directory) == [SnapshotFile.fileName(5), SnapshotFile.fileName(7)])
        }
    }

    @Test(
        "given a disk that fails while a snapshot is written, then the write is unavailable and the previous snapshot stays latest"
    )
    func failedWrite() throws {
        try withTemporaryDirectory { directory in
            try SnapshotFile.write([1, 1], height: 1, to: directory)
            let faults = FaultInjector()
            faults.failWrites(errno: ENOSPC, after: 1)
            let error = storageError {
                try SnapshotFile.write(
                    testBytes(100), height: 2, to: directory, fileIO: .injectingFaults(into: .system, faults))
            }
            #expect(error?.kind == .unavailable)
            #expect(error?.reason.contains("No space left on device") == true)
            #expect(directoryEntries(directory) == [SnapshotFile.fileName(1)])
            #expect(try SnapshotFile.readLatest(in: directory)?.bytes == [1, 1])
        }
    }
}
