import Glibc
import LedgerCrypto
import LedgerStorage
import Testing

@Suite("Record content store under disk faults")
struct RecordContentFaultTests {
    @Test(
        "given a disk that fills during an upload, then append fails as unavailable, the temporary file is gone, and after space frees a new upload succeeds"
    )
    func noSpaceDuringUpload() throws {
        try withTemporaryDirectory { directory in
            let faults = FaultInjector()
            let records = try RecordContentStore.open(
                directory: directory, masterKey: testMasterKey, fileIO: .injectingFaults(into: .system, faults))
            try store([0], for: "alice", in: records)
            let upload = try records.beginUpload(patient: "alice")
            faults.failWrites(errno: ENOSPC, after: 1)
            try upload.append(testBytes(1 << 20))
            try upload.append(testBytes(1 << 20))
            let error = storageError { try upload.append(testBytes(1 << 20)) }
            #expect(error?.kind == .unavailable)
            #expect(error?.systemError == ENOSPC)
            #expect(error?.reason.contains("\(directory)/tmp/upload-") == true)
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
            #expect(storageError { _ = try upload.finish() }?.kind == .invalidArgument)

            faults.clear()
            let content = testBytes(3 << 20)
            let sha256 = try store(content, for: "alice", in: records)
            #expect(try readAll(records, patient: "alice", sha256: sha256) == content)
        }
    }

    @Test("given a failing fsync at commit, then commit fails as unavailable and nothing is stored at the address")
    func ioErrorAtCommit() throws {
        try withTemporaryDirectory { directory in
            let faults = FaultInjector()
            let records = try RecordContentStore.open(
                directory: directory, masterKey: testMasterKey, fileIO: .injectingFaults(into: .system, faults))
            let upload = try records.beginUpload(patient: "alice")
            try upload.append(testBytes(1000))
            let (sha256, _) = try upload.finish()
            faults.failSyncs(errno: EIO)
            #expect(storageError { try upload.commit() }?.kind == .unavailable)
            #expect(!records.contains(patient: "alice", sha256: sha256))
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
        }
    }

    @Test(
        "given a failing fsync when a patient's first key is written, then the upload does not begin and no key is left"
    )
    func ioErrorWritingKey() throws {
        try withTemporaryDirectory { directory in
            let faults = FaultInjector()
            let records = try RecordContentStore.open(
                directory: directory, masterKey: testMasterKey, fileIO: .injectingFaults(into: .system, faults))
            faults.failSyncs(errno: EIO)
            #expect(storageError { _ = try records.beginUpload(patient: "alice") }?.kind == .unavailable)
            #expect(directoryEntries("\(directory)/keys").isEmpty)
            #expect(directoryEntries("\(directory)/tmp").isEmpty)
            faults.clear()
            try store([5], for: "alice", in: records)
        }
    }

    @Test("given a failing read mid-record, then reading fails as unavailable, not as data loss")
    func ioErrorWhileReading() throws {
        try withTemporaryDirectory { directory in
            let faults = FaultInjector()
            let records = try RecordContentStore.open(
                directory: directory, masterKey: testMasterKey, fileIO: .injectingFaults(into: .system, faults))
            let sha256 = try store(testBytes(3 << 20), for: "alice", in: records)
            let reader = try records.openContent(patient: "alice", sha256: sha256)
            _ = try reader.next()
            faults.failReads(errno: EIO)
            #expect(storageError { _ = try reader.next() }?.kind == .unavailable)
        }
    }
}
