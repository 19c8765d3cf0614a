import Glibc
import HealthLedgerProtos
import LedgerCrypto
import Synchronization

/// Why a record's content could not be read from its file.
public struct RecordContentError: Error, CustomStringConvertible, Sendable {
    /// What kind of problem it is, so callers can choose an exit status or a hint.
    public enum Kind: Sendable {
        /// No file at the path.
        case notFound
        /// The file exists but may not be opened or read (permissions, I/O error).
        case unreadable
        /// The path names a directory, device or other non-regular file.
        case notARegularFile
        /// The file shrank or could not be read to the end while its content was being sent.
        case changedWhileSending
    }

    /// The kind of problem.
    public var kind: Kind
    /// The file concerned.
    public var path: String
    /// The operating system's explanation, when there is one.
    public var reason: String

    /// One line naming the file and the problem.
    public var description: String {
        switch kind {
        case .notFound: "cannot read \(path): no such file"
        case .unreadable: "cannot read \(path): \(reason)"
        case .notARegularFile: "cannot read \(path): not a regular file"
        case .changedWhileSending: "\(path) changed while it was being sent: \(reason)"
        }
    }

    init(_ kind: Kind, path: String, errno code: Int32 = 0) {
        self.kind = kind
        self.path = path
        reason = code == 0 ? "" : String(cString: strerror(code))
    }

    init(_ kind: Kind, path: String, reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }
}

/// A record's content in an open file, hashed in a first pass and then streamed in chunks of at most 1 MiB, so
/// memory stays bounded whatever the record's size; a retried write streams it again from the same open file.
public final class RecordContentFile: Sendable {
    /// The largest chunk the node accepts (ledger_service.proto, "Write client-streams content").
    public static let chunkBytes = 1 << 20

    /// The file's path as given (for messages).
    public let path: String
    /// The content's size.
    public let sizeBytes: UInt64
    /// The content's SHA-256, as the write transaction commits it.
    public let sha256: [UInt8]

    private let descriptor: Int32
    private let readFailure = Mutex<RecordContentError?>(nil)

    /// Opens the regular file at `path` and hashes it; the file stays open until this value is released.
    public convenience init(path: String) throws(RecordContentError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw RecordContentError(
                code == ENOENT || code == ENOTDIR ? .notFound : .unreadable, path: path, errno: code)
        }
        do throws(RecordContentError) {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                throw RecordContentError(.unreadable, path: path, errno: errno)
            }
            guard status.st_mode & S_IFMT == S_IFREG else { throw RecordContentError(.notARegularFile, path: path) }
            var hasher = SHA256Hasher()
            let size = try Self.copy(from: descriptor, path: path) { hasher.update($0) }
            self.init(path: path, descriptor: descriptor, sizeBytes: size, sha256: hasher.finalize())
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Copies everything `input` yields to a new private file (mode 0600) in `directory`, hashing it on the way;
    /// the file is unlinked at once, so nothing is left behind whatever happens to the process.
    public static func spooling(
        from input: Int32, directory: String, name: String = "standard input"
    ) throws(RecordContentError) -> RecordContentFile {
        var template = Array((directory + "/healthledger-spool-XXXXXX").utf8CString)
        // mkstemp creates the file with mode 0600, readable by its owner only.
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw RecordContentError(.unreadable, path: directory, errno: errno) }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        do throws(RecordContentError) {
            var hasher = SHA256Hasher()
            var writeError: Int32 = 0
            let size = try copy(from: input, path: name) { bytes in
                var offset = 0
                while offset < bytes.count, writeError == 0 {
                    let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno != EINTR { writeError = errno }
                    } else {
                        offset += written
                    }
                }
                hasher.update(bytes)
            }
            if writeError != 0 { throw RecordContentError(.unreadable, path: directory, errno: writeError) }
            return RecordContentFile(path: name, descriptor: descriptor, sizeBytes: size, sha256: hasher.finalize())
        } catch {
            close(descriptor)
            throw error
        }
    }

    private init(path: String, descriptor: Int32, sizeBytes: UInt64, sha256: [UInt8]) {
        self.path = path
        self.descriptor = descriptor
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
    }

    deinit { close(descriptor) }

    /// Reads `descriptor` from its current position to the end in 1 MiB pieces, handing each to `body`.
    private static func copy(
        from descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) -> Void
    ) throws(RecordContentError) -> UInt64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let count = read(descriptor, buffer.baseAddress!, chunkBytes)
            if count < 0 {
                if errno == EINTR { continue }
                throw RecordContentError(errno == EISDIR ? .notARegularFile : .unreadable, path: path, errno: errno)
            }
            if count == 0 { return total }
            body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            total += UInt64(count)
        }
    }

    /// The messages that follow a write's transaction: the content from offset 0 in chunks of at most 1 MiB.
    public func chunkMessages() -> ContentChunkMessages { ContentChunkMessages(file: self) }

    /// The problem that ended the last streaming of this file early, if any (the call then ends CANCELLED).
    public var lastReadFailure: RecordContentError? { readFailure.withLock { $0 } }

    /// Up to `chunkBytes` bytes at `offset`, read on the calling thread: for a pass over the content before it is
    /// signed and sent, such as checking its format.
    public func contentChunk(at offset: UInt64) throws(RecordContentError) -> [UInt8] {
        try readChunk(at: offset, length: Int(min(UInt64(Self.chunkBytes), sizeBytes - offset))).get()
    }

    /// Up to `chunkBytes` bytes at `offset`, read off the caller's executor (a transport may run its request
    /// pump on an event loop that must not wait on a disk).
    fileprivate func chunk(at offset: UInt64) async throws(RecordContentError) -> [UInt8] {
        let length = Int(min(UInt64(Self.chunkBytes), sizeBytes - offset))
        let result: Result<[UInt8], RecordContentError> = await withTaskExecutorPreference(globalConcurrentExecutor) {
            self.readChunk(at: offset, length: length)
        }
        if case .failure(let failure) = result { readFailure.withLock { $0 = failure } }
        return try result.get()
    }

    private func readChunk(at offset: UInt64, length: Int) -> Result<[UInt8], RecordContentError> {
        var problem: RecordContentError?
        let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            count = 0
            while count < length {
                let got = pread(descriptor, buffer.baseAddress! + count, length - count, off_t(offset) + off_t(count))
                if got < 0 && errno == EINTR { continue }
                if got <= 0 {
                    problem =
                        got < 0
                        ? RecordContentError(.changedWhileSending, path: path, errno: errno)
                        : RecordContentError(
                            .changedWhileSending, path: path,
                            reason: "it ended after \(offset + UInt64(count)) of \(sizeBytes) bytes")
                    return
                }
                count += got
            }
        }
        return problem.map { .failure($0) } ?? .success(bytes)
    }
}

/// The content chunk messages of one write, read from a `RecordContentFile` as the transport asks for them.
public struct ContentChunkMessages: AsyncSequence, Sendable {
    /// One Write request message carrying a chunk.
    public typealias Element = Healthledger_V1_WriteRequest

    let file: RecordContentFile

    /// Starts at offset 0.
    public func makeAsyncIterator() -> Iterator { Iterator(file: file) }

    /// Reads the next chunk when asked.
    public struct Iterator: AsyncIteratorProtocol {
        let file: RecordContentFile
        var offset: UInt64 = 0

        /// The next chunk message, or nil after the last byte.
        public mutating func next() async throws -> Healthledger_V1_WriteRequest? {
            guard offset < file.sizeBytes else { return nil }
            var chunk = Healthledger_V1_ContentChunk()
            chunk.data = try await file.chunk(at: offset)
            chunk.offsetBytes = offset
            offset += UInt64(chunk.data.count)
            var message = Healthledger_V1_WriteRequest()
            message.part = .chunk(chunk)
            return message
        }
    }
}
