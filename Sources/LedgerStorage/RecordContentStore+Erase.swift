import Glibc
import LedgerCrypto

extension RecordContentStore {
    /// Deletes one stored content of `patient` durably (unlink, then fsync of the patient's folder), and its copy in
    /// memory if `smallContent` kept one; the patient's data key stays for their other records. Deleting what is not
    /// there is not an error.
    public func erase(patient: String, sha256: [UInt8]) throws(StorageError) {
        try Self.validate(patient)
        try Self.validate(sha256: sha256)
        let path = recordPath(patient, sha256)
        // Under the patient's lock, so a concurrent commit of the same content cannot report success for a file
        // that this erasure then removes.
        try withPatientState(patient) { (state) throws(StorageError) in
            state.erasures += 1
            contentCache.withLock { $0.remove(patient: patient, sha256: sha256) }
            do throws(FileIOError) {
                try fileIO.unlink(path)
            } catch  where error.code == ENOENT {
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
}
