import Glibc

extension FileIO {
    /// Writes all of `bytes` at `offset`, looping over short writes.
    func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(FileIOError) {
        var done = 0
        while done < bytes.count {
            let written = try pwrite(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), offset + UInt64(done))
            // pwrite returns 0 for a non-empty buffer only on a device that takes nothing; treat it as full.
            guard written > 0 else { throw FileIOError(ENOSPC) }
            done += written
        }
    }

    /// Writes all of `bytes` at `offset`, looping over short writes.
    func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64) throws(FileIOError) {
        try withBytes(of: bytes) { buffer throws(FileIOError) in try writeAll(fd, buffer, at: offset) }
    }

    /// Reads into all of `buffer` from `offset`, looping over short reads; the bytes read, fewer only at end of file.
    func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(FileIOError)
        -> Int
    {
        var done = 0
        while done < buffer.count {
            let read = try pread(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), offset + UInt64(done))
            if read == 0 { break }
            done += read
        }
        return done
    }

    /// Up to `count` bytes of the file from `offset`; fewer only at end of file.
    func read(_ fd: Int32, count: Int, at offset: UInt64) throws(FileIOError) -> [UInt8] {
        var failure: FileIOError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(FileIOError) {
                initialized = try readFully(fd, into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Creates `path` (mode 0700) unless it exists, and makes its name durable; true if it was created.
    @discardableResult
    func ensureDirectory(_ path: String) throws(StorageError) -> Bool {
        do throws(FileIOError) {
            try makeDirectory(path, 0o700)
        } catch  where error.code == EEXIST {
            guard FileSystem.isDirectory(path) else {
                throw StorageError.unavailable("mkdir \(path): exists and is not a directory")
            }
            return false
        } catch {
            throw StorageError.systemCall("mkdir", path, error)
        }
        do throws(FileIOError) {
            try syncDirectory(FileSystem.parent(of: path))
        } catch {
            throw StorageError.systemCall("fsync directory", FileSystem.parent(of: path), error)
        }
        return true
    }

    /// Creates `path` and any missing parents (mode 0700), each made durable.
    func ensureDirectories(_ path: String) throws(StorageError) {
        let parent = FileSystem.parent(of: path)
        if parent != path, !FileSystem.isDirectory(parent) { try ensureDirectories(parent) }
        try ensureDirectory(path)
    }

    /// Writes `bytes` to a new file `temporaryPath` (mode 0600), fsyncs it, renames it to `path` and fsyncs the
    /// directory of `path`: afterwards `path` durably holds exactly `bytes`, or (on error) is unchanged.
    func writeAtomically(
        _ write: (_ fd: Int32) throws(FileIOError) -> Void, to path: String, temporaryPath: String
    ) throws(StorageError) {
        let fd: Int32
        do throws(FileIOError) {
            fd = try open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        } catch {
            throw StorageError.systemCall("open", temporaryPath, error)
        }
        var step = "write"
        do throws(FileIOError) {
            try write(fd)
            step = "fsync"
            try fsync(fd)
            close(fd)
            step = "rename"
            try rename(temporaryPath, path)
        } catch {
            if step != "rename" { close(fd) }
            try? unlink(temporaryPath)
            let subject = step == "rename" ? "\(temporaryPath) to \(path)" : temporaryPath
            throw StorageError.systemCall(step, subject, error)
        }
        let directory = FileSystem.parent(of: path)
        do throws(FileIOError) {
            try syncDirectory(directory)
        } catch {
            throw StorageError.systemCall("fsync directory", directory, error)
        }
    }
}

/// Read-only questions about the file system that need no fault injection.
enum FileSystem {
    /// The directory part of `path` ("." for a bare name, "/" for "/x").
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// Whether anything exists at `path` (without following a final symbolic link).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is a directory.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The size of the open file `fd`.
    static func size(of fd: Int32, path: String) throws(StorageError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StorageError.systemCall("fstat", path, FileIOError(errno)) }
        return UInt64(info.st_size)
    }

    /// The names in directory `path`, without "." and "..".
    static func entries(of path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw StorageError.systemCall("opendir", path, FileIOError(errno)) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// `bytes.withUnsafeBytes(body)`, keeping `body`'s typed error (Array's own form only rethrows `any Error`).
func withBytes<Value, Failure: Error>(
    of bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
) throws(Failure) -> Value {
    try bytes.withUnsafeBytes { buffer in Result { () throws(Failure) in try body(buffer) } }.get()
}
