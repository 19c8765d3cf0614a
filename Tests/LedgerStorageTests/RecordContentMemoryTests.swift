import LedgerCrypto
import LedgerStorage
import Synchronization
import Testing

@Suite("Record content store: small contents read again come from memory, and erasure clears it")
struct RecordContentMemoryTests {
    private func path(_ directory: String, _ patient: String, _ sha256: [UInt8]) -> String {
        "\(directory)/records/\(patient)/\(Hex.encode(sha256))"
    }

    /// Breaks the stored file so that any read from disk is data loss.
    private func damage(_ path: String) {
        var file = fileBytes(path)
        file[file.count - 1] ^= 0x01
        writeFile(path, file)
    }

    @Test("given a small record read once, when its file is damaged, then it is read again intact from memory")
    func readAgainFromMemory() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let content = testBytes(3000, seed: 7)
            let sha256 = try store(content, for: "alice", in: records)
            #expect(try records.smallContent(patient: "alice", sha256: sha256) == content)
            damage(path(directory, "alice", sha256))
            #expect(try records.smallContent(patient: "alice", sha256: sha256) == content)
            // Reading through a reader always goes to the disk.
            #expect(storageError { _ = try readAll(records, patient: "alice", sha256: sha256) }?.kind == .dataLoss)
        }
    }

    @Test("given a store that keeps nothing in memory, or content over the limit, then every read checks the disk")
    func notKept() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(
                directory: directory, masterKey: testMasterKey, contentCacheBytes: 0)
            let content = testBytes(3000, seed: 7)
            let sha256 = try store(content, for: "alice", in: records)
            #expect(try records.smallContent(patient: "alice", sha256: sha256) == content)
            damage(path(directory, "alice", sha256))
            #expect(storageError { _ = try records.smallContent(patient: "alice", sha256: sha256) }?.kind == .dataLoss)
        }
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let content = testBytes(RecordContentStore.smallContentLimit + 1, seed: 8)
            let sha256 = try store(content, for: "alice", in: records)
            #expect(try records.smallContent(patient: "alice", sha256: sha256) == content)
            damage(path(directory, "alice", sha256))
            #expect(storageError { _ = try records.smallContent(patient: "alice", sha256: sha256) }?.kind == .dataLoss)
        }
    }

    @Test("given small records read once, when one is erased and then all of the patient's, then none is served")
    func erasureClearsMemory() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let labs = try store(testBytes(2000, seed: 1), for: "alice", in: records)
            let notes = try store(testBytes(1000, seed: 2), for: "alice", in: records)
            let bobs = try store(testBytes(1000, seed: 2), for: "bob", in: records)
            for (patient, sha256) in [("alice", labs), ("alice", notes), ("bob", bobs)] {
                _ = try records.smallContent(patient: patient, sha256: sha256)
            }
            try records.erase(patient: "alice", sha256: labs)
            #expect(storageError { _ = try records.smallContent(patient: "alice", sha256: labs) }?.kind == .notFound)
            #expect(try records.smallContent(patient: "alice", sha256: notes) == testBytes(1000, seed: 2))
            try records.eraseAll(patient: "alice")
            #expect(storageError { _ = try records.smallContent(patient: "alice", sha256: notes) }?.kind == .notFound)
            #expect(try records.smallContent(patient: "bob", sha256: bobs) == testBytes(1000, seed: 2))
        }
    }

    @Test(
        "given a read under way when its record is erased (one record, or all of the patient's), then what it read is not kept",
        arguments: [false, true])
    func erasureDuringRead(eraseAll: Bool) throws {
        try withTemporaryDirectory { directory in
            // The store under test, reachable from the disk's pread so the erasure lands between two of its reads.
            let storeBox = Mutex<RecordContentStore?>(nil)
            let erasing = Mutex<(patient: String, sha256: [UInt8])?>(nil)
            var disk = FileIO.system
            disk.pread = { fd, buffer, offset throws(FileIOError) in
                let count = try FileIO.system.pread(fd, buffer, offset)
                // Only the first read of a segment (offset past the header) erases, and only once.
                let target = offset > 0 ? erasing.withLock { $0.take() } : nil
                if let target, let records = storeBox.withLock({ $0 }) {
                    // The segment is read (the file is still open); now the record is erased.
                    if eraseAll {
                        _ = try? records.eraseAll(patient: target.patient)
                    } else {
                        try? records.erase(patient: target.patient, sha256: target.sha256)
                    }
                }
                return count
            }
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey, fileIO: disk)
            storeBox.withLock { $0 = records }
            // The store holds the disk whose pread holds the store: emptied at the end, or neither is ever freed.
            defer { storeBox.withLock { $0 = nil } }
            let content = testBytes(4000, seed: 3)
            let sha256 = try store(content, for: "alice", in: records)
            erasing.withLock { $0 = ("alice", sha256) }
            // The read that was under way still returns what it read, as a reader open before an erasure does...
            #expect(try records.smallContent(patient: "alice", sha256: sha256) == content)
            #expect(erasing.withLock { $0 } == nil)
            // ...but nothing of it stays: the next read finds the record erased.
            #expect(storageError { _ = try records.smallContent(patient: "alice", sha256: sha256) }?.kind == .notFound)
        }
    }
}
