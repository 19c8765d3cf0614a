import Glibc

/// File operations the storage layer performs, so tests (and the fault suite) can make writes and syncs fail with
/// ENOSPC or EIO.
///
/// Each operation is one system call (retried on EINTR) that throws the errno it set. Replace a closure, or wrap
/// the whole value with `injectingFaults(into:_:)`, to change what the disk does. Listing a directory and asking
/// whether a path exists are not part of the seam: they neither write nor make anything durable.
public struct FileIO: Sendable {
    /// open(2) with O_CLOEXEC added: the file descriptor.
    public var open: @Sendable (_ path: String, _ flags: Int32, _ mode: mode_t) throws(FileIOError) -> Int32
    /// close(2); errors are ignored (the data was made durable, or not, by an earlier sync).
    public var close: @Sendable (_ fd: Int32) -> Void
    /// pread(2): bytes read into `buffer` from `offset`, 0 at end of file.
    public var pread:
        @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ offset: UInt64) throws(FileIOError) -> Int
    /// pwrite(2): bytes of `bytes` written at `offset` (possibly fewer than all).
    public var pwrite:
        @Sendable (_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ offset: UInt64) throws(FileIOError) -> Int
    /// fsync(2): the file's data and metadata reach the disk.
    public var fsync: @Sendable (_ fd: Int32) throws(FileIOError) -> Void
    /// fdatasync(2): the file's data, and the metadata needed to read it (its length), reach the disk.
    public var fdatasync: @Sendable (_ fd: Int32) throws(FileIOError) -> Void
    /// ftruncate(2): the file is cut (or extended) to `length` bytes.
    public var ftruncate: @Sendable (_ fd: Int32, _ length: UInt64) throws(FileIOError) -> Void
    /// rename(2): `from` atomically replaces `to`.
    public var rename: @Sendable (_ from: String, _ to: String) throws(FileIOError) -> Void
    /// unlink(2).
    public var unlink: @Sendable (_ path: String) throws(FileIOError) -> Void
    /// mkdir(2) with `mode`.
    public var makeDirectory: @Sendable (_ path: String, _ mode: mode_t) throws(FileIOError) -> Void
    /// rmdir(2).
    public var removeDirectory: @Sendable (_ path: String) throws(FileIOError) -> Void
    /// Opens the directory at `path` and fsyncs it, so names created, renamed or removed in it are durable.
    public var syncDirectory: @Sendable (_ path: String) throws(FileIOError) -> Void

    /// The operating system's file operations.
    public static let system = FileIO(
        open: { path, flags, mode throws(FileIOError) in
            try retryingOnInterrupt { Glibc.open(path, flags | O_CLOEXEC, mode) }
        },
        close: { fd in _ = Glibc.close(fd) },
        pread: { fd, buffer, offset throws(FileIOError) in
            try retryingOnInterrupt { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
        },
        pwrite: { fd, bytes, offset throws(FileIOError) in
            try retryingOnInterrupt { Glibc.pwrite(fd, bytes.baseAddress, bytes.count, off_t(offset)) }
        },
        fsync: { fd throws(FileIOError) in _ = try retryingOnInterrupt { Glibc.fsync(fd) } },
        fdatasync: { fd throws(FileIOError) in _ = try retryingOnInterrupt { Glibc.fdatasync(fd) } },
        ftruncate: { fd, length throws(FileIOError) in
            _ = try retryingOnInterrupt { Glibc.ftruncate(fd, off_t(length)) }
        },
        rename: { from, to throws(FileIOError) in _ = try retryingOnInterrupt { Glibc.rename(from, to) } },
        unlink: { path throws(FileIOError) in _ = try retryingOnInterrupt { Glibc.unlink(path) } },
        makeDirectory: { path, mode throws(FileIOError) in _ = try retryingOnInterrupt { Glibc.mkdir(path, mode) } },
        removeDirectory: { path throws(FileIOError) in _ = try retryingOnInterrupt { Glibc.rmdir(path) } },
        syncDirectory: { path throws(FileIOError) in
            let fd = try retryingOnInterrupt { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            defer { _ = Glibc.close(fd) }
            _ = try retryingOnInterrupt { Glibc.fsync(fd) }
        })
}

/// Runs `call` until it does not fail with EINTR; a negative result throws the errno.
private func retryingOnInterrupt<Result: BinaryInteger>(_ call: () -> Result) throws(FileIOError) -> Result {
    while true {
        let result = call()
        if result >= 0 { return result }
        let code = errno
        if code != EINTR { throw FileIOError(code) }
    }
}
