import Glibc
import Testing

@testable import LedgerStorage

@Suite("Small files")
struct SmallFileTests {
    @Test("a key written in a new nested directory reads back whole, mode 0600, and a missing file reads as nil")
    func writeAndReadBack() throws {
        try withTemporaryDirectory { directory in
            let folder = directory + "/node/keys"
            try SmallFile.makeDirectories(folder)
            #expect(try SmallFile.read(folder + "/master.key") == nil)
            let key = testBytes(32)
            try SmallFile.write(key, to: folder + "/master.key")
            #expect(try SmallFile.read(folder + "/master.key") == key)
            var info = stat()
            #expect(stat(folder + "/master.key", &info) == 0 && info.st_mode & 0o777 == 0o600)
            #expect(!directoryEntries(folder).contains("master.key.tmp"))
        }
    }

    @Test("a failed write leaves the previous content in place")
    func failedWriteKeepsOldContent() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/chain-id"
            try SmallFile.write(Array("old\n".utf8), to: path)
            let injector = FaultInjector()
            injector.failSyncs(errno: EIO)
            let error = storageError { try SmallFile.write(Array("new\n".utf8), to: path, fileIO: .injectingFaults(into: .system, injector)) }
            #expect(error?.kind == .unavailable)
            #expect(try SmallFile.read(path) == Array("old\n".utf8))
        }
    }
}
