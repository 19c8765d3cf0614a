import Glibc
import LedgerCrypto

extension RecordContentStore {
    /// Deletes one stored content of `patient` durably (unlink, then fsync of the patient's folder); the
    /// patient's data key stays for their other records. Deleting what is not there is not an error.
    public func erase(patient: String, sha256: [UInt8]) throws(StorageError) {
        guard sha256.count == SHA256.byteCount else {
            throw StorageError.invalidArgument("content hash must be 32 bytes, got \(sha256.count)")
        }
        let path = recordPath(patient, sha256)
        do throws(FileIOError) {
            try fileIO.unlink(path)
        } catch where error.code == ENOENT {
            return
        } catch {
            throw StorageError.systemCall("unlink", path, error)
        }
        do throws(FileIOError) {
            try fileIO.syncDirectory(recordDirectory(patient))
        } catch {
            throw StorageError.systemCall("fsync directory", recordDirectory(patient), error)
        }
    }
}
