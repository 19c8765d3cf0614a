import Glibc
import LedgerCrypto
import LedgerStorage
import Testing

@Suite("Record content store: damage and tampering are data loss, never wrong bytes")
struct RecordContentTamperTests {
    /// A store holding a 2.5 MiB record of alice (three segments); the store, the address and the file's path.
    private func fixture(_ directory: String) throws -> (RecordContentStore, [UInt8], String) {
        let records = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
        let sha256 = try store(testBytes(5 << 19, seed: 4), for: "alice", in: records)
        try store([1], for: "bob", in: records)
        return (records, sha256, "\(directory)/records/alice/\(Hex.encode(sha256))")
    }

    /// The error reading the whole record throws, whether at open or at some segment.
    private func readError(_ records: RecordContentStore, _ patient: String, _ sha256: [UInt8]) -> StorageError? {
        storageError { _ = try readAll(records, patient: patient, sha256: sha256) }
    }

    @Test(
        "given a flipped ciphertext byte in the second segment, then the first segment reads and the second is data loss",
        arguments: [73 + (1 << 20) + 16, 73 + (1 << 20) + 16 + 500_000, 73 + 2 * ((1 << 20) + 16) - 1])
    func tamperedByte(offset: Int) throws {
        try withTemporaryDirectory { directory in
            let (records, sha256, path) = try fixture(directory)
            var file = fileBytes(path)
            file[offset] ^= 0x20
            writeFile(path, file)
            let reader = try records.openContent(patient: "alice", sha256: sha256)
            #expect(try reader.next()?.count == 1 << 20)
            let error = storageError { _ = try reader.next() }
            #expect(error?.kind == .dataLoss)
            #expect(error?.reason.hasPrefix("record \(Hex.encode(sha256)) of alice: segment 1 of 3") == true)
            #expect(storageError { _ = try reader.next() } == error)
        }
    }

    @Test(
        "given a tampered header byte, then opening is data loss before any byte is released",
        arguments: [0, 8, 9, 16, 17, 40, 72])
    func tamperedHeader(offset: Int) throws {
        try withTemporaryDirectory { directory in
            let (records, sha256, path) = try fixture(directory)
            var file = fileBytes(path)
            file[offset] ^= 0x01
            writeFile(path, file)
            #expect(storageError { _ = try records.openContent(patient: "alice", sha256: sha256) }?.kind == .dataLoss)
        }
    }

    @Test(
        "given a file truncated anywhere (inside a segment, at a segment boundary, inside the header), then reading is data loss",
        arguments: [1, 16, (1 << 20) + 16, (1 << 20) + 17, 2 * ((1 << 20) + 16) + 100])
    func truncated(removed: Int) throws {
        try withTemporaryDirectory { directory in
            let (records, sha256, path) = try fixture(directory)
            let file = fileBytes(path)
            writeFile(path, Array(file.dropLast(removed)))
            let error = readError(records, "alice", sha256)
            #expect(error?.kind == .dataLoss)
            #expect(error?.reason.contains("truncated") == true)
        }
    }

    @Test("given two segments swapped in place, then reading is data loss at the first of them")
    func swappedSegments() throws {
        try withTemporaryDirectory { directory in
            let (records, sha256, path) = try fixture(directory)
            let file = fileBytes(path)
            let sealed = (1 << 20) + 16
            let first = file[73..<73 + sealed]
            let second = file[73 + sealed..<73 + 2 * sealed]
            writeFile(path, Array(file[..<73]) + second + first + file[(73 + 2 * sealed)...])
            let reader = try records.openContent(patient: "alice", sha256: sha256)
            let error = storageError { _ = try reader.next() }
            #expect(error?.kind == .dataLoss)
            #expect(error?.reason.contains("segment 0 of 3") == true)
        }
    }

    @Test("given a record file copied into another patient's folder, then reading it as theirs is data loss")
    func copiedToAnotherPatient() throws {
        try withTemporaryDirectory { directory in
            let (records, sha256, path) = try fixture(directory)
            writeFile("\(directory)/records/bob/\(Hex.encode(sha256))", fileBytes(path))
            #expect(records.contains(patient: "bob", sha256: sha256))
            let error = readError(records, "bob", sha256)
            #expect(error?.kind == .dataLoss)
            #expect(error?.reason.hasPrefix("record \(Hex.encode(sha256)) of bob: header fails authentication") == true)
        }
    }

    @Test(
        "given one of a patient's records renamed to another address of theirs, then reading is data loss before any byte"
    )
    func renamedWithinPatient() throws {
        try withTemporaryDirectory { directory in
            let (records, sha256, path) = try fixture(directory)
            let other = try store(testBytes(10, seed: 77), for: "alice", in: records)
            let otherPath = "\(directory)/records/alice/\(Hex.encode(other))"
            rename(path, otherPath)
            let error = readError(records, "alice", other)
            #expect(error?.kind == .dataLoss)
            #expect(error?.reason.contains("the file holds record \(Hex.encode(sha256))") == true)
        }
    }

    @Test("given a damaged key file, then the patient's records are data loss, not silently empty")
    func damagedKeyFile() throws {
        try withTemporaryDirectory { directory in
            let (_, sha256, _) = try fixture(directory)
            var key = fileBytes("\(directory)/keys/alice.key")
            key[30] ^= 1
            writeFile("\(directory)/keys/alice.key", key)
            let reopened = try RecordContentStore.open(directory: directory, masterKey: testMasterKey)
            #expect(readError(reopened, "alice", sha256)?.kind == .dataLoss)
        }
    }
}
