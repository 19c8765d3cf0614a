import Glibc

/// Small whole files kept beside the logs (the node's keys, the chain id): read whole, and written atomically
/// and durably through the same temporary-file, fsync, rename and directory-fsync steps as snapshots.
public enum SmallFile {
    /// The file's bytes, or nil when it does not exist.
    public static func read(_ path: String, fileIO: FileIO = .system) throws(StorageError) -> [UInt8]? {
        let fd: Int32
        do throws(FileIOError) {
            fd = try fileIO.open(path, O_RDONLY, 0)
        } catch where error.code == ENOENT {
            return nil
        } catch {
            throw StorageError.systemCall("open", path, error)
        }
        defer { fileIO.close(fd) }
        let size = try FileSystem.size(of: fd, path: path)
        do throws(FileIOError) {
            return try fileIO.read(fd, count: Int(size), at: 0)
        } catch {
            throw StorageError.systemCall("pread", path, error)
        }
    }

    /// Replaces `path` with `bytes` (mode 0600): afterwards it durably holds exactly them, or, on error, what it
    /// held before.
    public static func write(_ bytes: [UInt8], to path: String, fileIO: FileIO = .system) throws(StorageError) {
        try fileIO.writeAtomically(
            { fd throws(FileIOError) in try fileIO.writeAll(fd, bytes, at: 0) }, to: path, temporaryPath: path + ".tmp")
    }

    /// Creates directory `path` and any missing parents (mode 0700), each made durable.
    public static func makeDirectories(_ path: String, fileIO: FileIO = .system) throws(StorageError) {
        try fileIO.ensureDirectories(path)
    }
}
