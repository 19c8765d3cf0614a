import Glibc
import LedgerCrypto
import LedgerStorage
import Testing

/// The master key the tests' stores use.
let testMasterKey = [UInt8](repeating: 0x42, count: 32)

/// Uploads `content` for `patient` in `chunkSize` pieces and commits it; the address.
@discardableResult
func store(_ content: [UInt8], for patient: String, in store: RecordContentStore, chunkSize: Int = 64 * 1024)
    throws -> [UInt8]
{
    let upload = try store.beginUpload(patient: patient)
    var offset = 0
    while offset < content.count {
        let end = min(content.count, offset + chunkSize)
        try upload.append(Array(content[offset..<end]))
        offset = end
    }
    let (sha256, size) = try upload.finish()
    #expect(sha256 == SHA256.hash(content))
    #expect(size == UInt64(content.count))
    try upload.commit()
    return sha256
}

/// Every plaintext segment of the record, checking each is at most 1 MiB.
func readAll(_ store: RecordContentStore, patient: String, sha256: [UInt8]) throws -> [UInt8] {
    let reader = try store.openContent(patient: patient, sha256: sha256)
    var content: [UInt8] = []
    while let segment = try reader.next() {
        #expect(!segment.isEmpty && segment.count <= 1 << 20)
        content += segment
    }
    #expect(try reader.next() == nil)
    return content
}

@Suite("Record content store: encrypted, content-addressed, durable before commit")
struct RecordContentStoreTests {
    @Test(
        "given contents at and around the 1 MiB segment size, when each is uploaded and read back, then the bytes, hash and size match",
        arguments: [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 5 * (1 << 20) + 7])
    func roundtrip(size: Int) throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let content = testBytes(size, seed: UInt64(size))
            let sha256 = try store(content, for: "alice", in: records, chunkSize: 300_000)
            #expect(records.contains(patient: "alice", sha256: sha256))
            let reader = try records.openContent(patient: "alice", sha256: sha256)
            #expect(reader.size == UInt64(size))
            #expect(try readAll(records, patient: "alice", sha256: sha256) == content)

            // On disk: the file is at its address, encrypted, sized as documented.
            let path = "\(directory)/records/alice/\(Hex.encode(sha256))"
            let file = fileBytes(path)
            let segments = max(1, (size + (1 << 20) - 1) >> 20)
            #expect(file.count == 73 + size + 16 * segments)
            #expect(Array(file.prefix(8)) == Array("HLREC001".utf8))
            if size >= 16 {
                let shown = min(size, 4096)
                #expect(Array(file[73..<73 + shown]) != Array(content[..<shown]))
            }
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
        }
    }

    @Test("given a reopened store, then content written before is still readable (the key is on disk, wrapped)")
    func survivesReopen() throws {
        try withTemporaryDirectory { directory in
            let content = testBytes(3 << 20, seed: 5)
            let sha256 = try store(
                content, for: "alice", in: RecordContentStore.open(directory: directory, masterKey: testMasterKey))
            let reopened = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            #expect(try readAll(reopened, patient: "alice", sha256: sha256) == content)
            #expect(fileSize("\(directory)/keys/alice.key") == 68)
            var info = stat()
            stat("\(directory)/keys/alice.key", &info)
            #expect(info.st_mode & 0o777 == 0o600)
            stat("\(directory)/records", &info)
            #expect(info.st_mode & 0o777 == 0o700)
        }
    }

    @Test("given the same content uploaded twice for a patient, then the second commit keeps the stored copy")
    func duplicateUpload() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let content = testBytes(100_000, seed: 8)
            let first = try store(content, for: "alice", in: records)
            let path = "\(directory)/records/alice/\(Hex.encode(first))"
            let stored = fileBytes(path)
            let second = try store(content, for: "alice", in: records)
            #expect(second == first)
            #expect(fileBytes(path) == stored)
            #expect(directoryEntries("\(directory)/records/alice") == [Hex.encode(first)])
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
            #expect(try readAll(records, patient: "alice", sha256: first) == content)
        }
    }

    @Test("given two patients with the same content, then each has their own copy under their own key")
    func sameContentTwoPatients() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let content = testBytes(5000, seed: 2)
            let sha256 = try store(content, for: "alice", in: records)
            try store(content, for: "bob", in: records)
            let name = Hex.encode(sha256)
            #expect(fileBytes("\(directory)/records/alice/\(name)") != fileBytes("\(directory)/records/bob/\(name)"))
            #expect(try readAll(records, patient: "bob", sha256: sha256) == content)
        }
    }

    @Test(
        "given a patient who erases everything, then their records are not found, their files and key are gone, and other patients are untouched"
    )
    func eraseAll() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let labs = try store(testBytes(2000, seed: 1), for: "alice", in: records)
            let notes = try store(testBytes(3000, seed: 2), for: "alice", in: records)
            let bobs = try store(testBytes(1000, seed: 3), for: "bob", in: records)

            #expect(try records.eraseAll(patient: "alice") == 2)
            for sha256 in [labs, notes] {
                #expect(
                    storageError { _ = try records.openContent(patient: "alice", sha256: sha256) }?.kind == .notFound)
                #expect(!records.contains(patient: "alice", sha256: sha256))
            }
            #expect(!FileSystemProbe.exists("\(directory)/keys/alice.key"))
            #expect(!FileSystemProbe.exists("\(directory)/records/alice"))
            #expect(try readAll(records, patient: "bob", sha256: bobs) == testBytes(1000, seed: 3))

            // A reopened store agrees; a new upload starts over with a new key.
            let reopened = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            #expect(storageError { _ = try reopened.openContent(patient: "alice", sha256: labs) }?.kind == .notFound)
            let again = try store(testBytes(2000, seed: 1), for: "alice", in: reopened)
            #expect(try readAll(reopened, patient: "alice", sha256: again) == testBytes(2000, seed: 1))
        }
    }

    @Test("given a patient with two records, when one is erased, then only it is gone and the key stays")
    func eraseOne() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let labs = try store(testBytes(2000, seed: 1), for: "alice", in: records)
            let notes = try store(testBytes(3000, seed: 2), for: "alice", in: records)
            try records.erase(patient: "alice", sha256: labs)
            try records.erase(patient: "alice", sha256: labs)
            #expect(storageError { _ = try records.openContent(patient: "alice", sha256: labs) }?.kind == .notFound)
            #expect(try readAll(records, patient: "alice", sha256: notes) == testBytes(3000, seed: 2))
            #expect(FileSystemProbe.exists("\(directory)/keys/alice.key"))
            #expect(storageError { try records.erase(patient: "../keys", sha256: labs) }?.kind == .invalidArgument)
            #expect(storageError { try records.erase(patient: "alice", sha256: [1]) }?.kind == .invalidArgument)
        }
    }

    @Test(
        "given an upload in progress when its patient is erased, then its commit fails as not found and stores nothing")
    func eraseDuringUpload() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let upload = try records.beginUpload(patient: "alice")
            try upload.append(testBytes(5000))
            _ = try upload.finish()
            try records.eraseAll(patient: "alice")
            #expect(storageError { try upload.commit() }?.kind == .notFound)
            #expect(!FileSystemProbe.exists("\(directory)/records/alice"))
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
        }
    }

    @Test(
        "given a crash that left temporary files and a half-erased patient, when the store opens, then both are cleaned up"
    )
    func cleanupAtOpen() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let sha256 = try store(testBytes(100), for: "alice", in: records)
            try store(testBytes(100), for: "bob", in: records)
            writeFile("\(directory)/tmp/upload-0123456789abcdef", testBytes(4096))
            writeFile("\(directory)/tmp/key-0123", testBytes(68))
            // An erasure that removed the key but crashed before the content files.
            unlink("\(directory)/keys/bob.key")

            let reopened = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
            #expect(directoryEntries("\(directory)/records") == ["alice"])
            #expect(try readAll(reopened, patient: "alice", sha256: sha256) == testBytes(100))
        }
    }

    @Test("given an upload that is aborted or dropped, then its temporary file is deleted and nothing is stored")
    func abortAndDrop() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let aborted = try records.beginUpload(patient: "alice")
            try aborted.append(testBytes(3 << 20))
            #expect(directoryEntries("\(directory)/tmp").count == 1)
            aborted.abort()
            aborted.abort()
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
            #expect(storageError { try aborted.append([1]) }?.kind == .invalidArgument)
            #expect(storageError { try aborted.commit() }?.kind == .invalidArgument)

            do {
                let dropped = try records.beginUpload(patient: "alice")
                try dropped.append(testBytes(1000))
                _ = try dropped.finish()
            }
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
            #expect(directoryEntries("\(directory)/records/alice").isEmpty)
        }
    }

    @Test("given an unknown record or a patient without data, then reading is not found")
    func notFound() throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let missing = SHA256.hash([1, 2, 3])
            let never = storageError { _ = try records.openContent(patient: "carol", sha256: missing) }
            #expect(never?.kind == .notFound)
            #expect(never?.reason.contains("record \(Hex.encode(missing)) of carol") == true)
            try store([9], for: "carol", in: records)
            #expect(storageError { _ = try records.openContent(patient: "carol", sha256: missing) }?.kind == .notFound)
            #expect(!records.contains(patient: "carol", sha256: missing))
        }
    }

    @Test(
        "given patient ids that are not safe file names, then every operation refuses them as invalid arguments",
        arguments: ["", ".", "..", "../etc", "a/b", "alice\u{0}", ".hidden", String(repeating: "x", count: 129), "é"])
    func unsafePatientIDs(patient: String) throws {
        try withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            #expect(storageError { _ = try records.beginUpload(patient: patient) }?.kind == .invalidArgument)
            #expect(
                storageError { _ = try records.openContent(patient: patient, sha256: SHA256.hash([])) }?.kind
                    == .invalidArgument)
            #expect(storageError { try records.eraseAll(patient: patient) }?.kind == .invalidArgument)
            #expect(!records.contains(patient: patient, sha256: SHA256.hash([])))
        }
    }

    @Test("given a store opened with another master key, then it refuses to start rather than report every record lost")
    func wrongMasterKey() throws {
        try withTemporaryDirectory { directory in
            try store(
                [1, 2, 3], for: "alice", in: RecordContentStore.open(directory: directory, masterKey: testMasterKey))
            let error = storageError {
                _ = try RecordContentStore.open(directory: directory, masterKey: [UInt8](repeating: 7, count: 32))
            }
            #expect(error?.kind == .invalidArgument)
            #expect(error?.reason.contains("wrong master key") == true)
            #expect(
                storageError { _ = try RecordContentStore.open(directory: directory, masterKey: [1]) }?.kind
                    == .invalidArgument)
        }
    }

    @Test("given many uploads and reads at once from different tasks, then every record reads back intact")
    func concurrentUse() async throws {
        try await withTemporaryDirectory { directory in
            let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            let patients = ["alice", "bob", "carol"]
            let addresses = try await withThrowingTaskGroup(of: (String, [UInt8], [UInt8]).self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let patient = patients[index % 3]
                        let content = testBytes(200_000 + index * 1000, seed: UInt64(index))
                        return (patient, try store(content, for: patient, in: records), content)
                    }
                }
                var all: [(String, [UInt8], [UInt8])] = []
                for try await result in group { all.append(result) }
                return all
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (patient, sha256, content) in addresses {
                    group.addTask { () throws in
                        #expect(try readAll(records, patient: patient, sha256: sha256) == content)
                    }
                }
                try await group.waitForAll()
            }
            #expect(directoryEntries("\(directory)/keys") == ["alice.key", "bob.key", "carol.key"])
        }
    }
}

/// Existence checks for the tests.
enum FileSystemProbe {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}
