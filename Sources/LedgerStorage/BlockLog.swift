import Glibc
import Synchronization

/// The block log file: one frame per block, appended and made durable (fdatasync) before the node acknowledges
/// anything in it.
///
/// Layout (docs/DATA_DIRECTORY.md): the 8-byte header "HLBLOCK1", then frames of
/// `length: u32 LE | crc: u32 LE | payload (length bytes)`, where `crc` is the CRC-32C of the four length bytes
/// followed by the payload (covering the length makes a zero-filled tail fail its check), and `length` is at most
/// `maxRecordSize`.
///
/// One committer thread appends (the class is `@unchecked Sendable` so that thread may be any one); any thread may
/// read an appended record back with `readRecord(_:into:)`, without waiting for an append: the lock that appends
/// take is held only to look up where a record is, and the read happens after. The file is locked (flock) while
/// open, so a second `open` of the same file, in this or another process, fails with `.unavailable` until `close()`
/// (and any read still under way) is done.
public final class BlockLog: @unchecked Sendable {
    /// The first eight bytes of every block log file: magic and format version.
    public static let fileHeader: [UInt8] = Array("HLBLOCK1".utf8)
    /// The largest record (block) a frame can hold: 64 MiB. A frame claiming more is a damaged tail.
    public static let maxRecordSize = 64 << 20
    /// Bytes before each payload: length and checksum.
    public static let frameHeaderSize = 8

    /// The file's path.
    public let path: String
    private let fileIO: FileIO
    private var descriptor: Int32
    /// Owns `descriptor`: readers hold it while they read outside the lock, so closing the log never lets the
    /// descriptor number be reused under a read still in flight.
    private var openFile: OpenFile?
    /// Bytes of the file that are durable and hold whole frames: the header plus every acknowledged record.
    public private(set) var durableLength: UInt64
    /// Set when a failed append may have left bytes past `durableLength` that could not yet be cut away.
    private var tailNeedsCutting = false
    /// What readers of appended records need: the open file (nil once closed), each record's frame offset, and where
    /// the last frame ends. All of it is durable: a record is listed only after its fdatasync.
    private let readable: Mutex<(file: OpenFile?, offsets: [UInt64], end: UInt64)>

    private init(path: String, fileIO: FileIO, descriptor: Int32, durableLength: UInt64, offsets: [UInt64]) {
        self.path = path
        self.fileIO = fileIO
        self.descriptor = descriptor
        self.durableLength = durableLength
        let file = OpenFile(descriptor: descriptor, fileIO: fileIO)
        openFile = file
        readable = Mutex((file, offsets, durableLength))
    }

    deinit { close() }

    /// Opens or creates the log at `path`, handing each intact record's payload to `eachRecord` in order (the
    /// buffer is valid only during the call). A torn or corrupt tail (short frame, impossible length, checksum
    /// mismatch) is cut away (ftruncate + fdatasync) and reported in the recovery, never silently kept.
    ///
    /// A damaged frame is only treated as a tail if it could be the one append that was in flight at a crash: when
    /// an intact frame follows it, or more than one frame's worth of bytes follows, acknowledged records would be
    /// lost, so `open` throws `.dataLoss` and leaves the file untouched. A file that does not start with
    /// "HLBLOCK1" throws `.corrupt`. An error thrown by `eachRecord` stops the scan and is rethrown as it is
    /// (nothing is truncated).
    public static func open(
        path: String, fileIO: FileIO = .system,
        eachRecord: (_ payload: UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) -> (log: BlockLog, recovery: BlockLogRecovery) {
        let (fd, created) = try openOrCreate(path: path, fileIO: fileIO)
        do throws(StorageError) {
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                if code == EWOULDBLOCK {
                    throw StorageError(
                        .unavailable, "flock \(path): the block log is open elsewhere", systemError: code)
                }
                throw StorageError.systemCall("flock", path, FileIOError(code))
            }
            var size = try FileSystem.size(of: fd, path: path)
            var initialized = created
            if size < UInt64(fileHeader.count) {
                // A crash while the file was being created leaves a prefix of the header: start it again.
                let present = try readBytes(fd, count: Int(size), at: 0, path: path, fileIO: fileIO)
                guard present == Array(fileHeader.prefix(present.count)) else {
                    throw StorageError.corrupt("block log \(path): \(size)-byte file is not a HealthLedger block log")
                }
                try writeHeader(fd, path: path, fileIO: fileIO)
                size = UInt64(fileHeader.count)
                initialized = true
            }
            let magic = try readBytes(fd, count: fileHeader.count, at: 0, path: path, fileIO: fileIO)
            guard magic == fileHeader else {
                throw StorageError.corrupt(
                    "block log \(path): not a HealthLedger block log (header \(printable(magic)), want HLBLOCK1)")
            }
            var scanner = BlockLogScanner(fd: fd, fileIO: fileIO, path: path, fileSize: size)
            let scan = try scanner.scan(from: UInt64(fileHeader.count), eachRecord: eachRecord)
            let recovery = BlockLogRecovery(
                recordCount: scan.recordCount, durableLength: scan.validLength,
                truncatedBytes: size - scan.validLength, tornTail: scan.tornTail, createdFile: initialized)
            if scan.validLength < size {
                do throws(FileIOError) {
                    try fileIO.ftruncate(fd, scan.validLength)
                    try fileIO.fdatasync(fd)
                } catch {
                    throw StorageError.systemCall("truncating the torn tail of", path, error)
                }
            }
            let log = BlockLog(
                path: path, fileIO: fileIO, descriptor: fd, durableLength: scan.validLength, offsets: scan.recordOffsets)
            return (log, recovery)
        } catch {
            fileIO.close(fd)
            throw error
        }
    }

    /// Opens or creates the log at `path` as `open(path:fileIO:eachRecord:)` does, collecting every record in
    /// memory: for small logs and tests (a node replaying a large log should use the closure form).
    public static func open(path: String, fileIO: FileIO = .system) throws(StorageError)
        -> (log: BlockLog, records: [[UInt8]], recovery: BlockLogRecovery)
    {
        var records: [[UInt8]] = []
        let (log, recovery) = try open(path: path, fileIO: fileIO) { payload in records.append(Array(payload)) }
        return (log, records, recovery)
    }

    /// Appends one record (a block) and fdatasyncs; returns only when it is durable. On any failure the file is
    /// cut back to `durableLength`, so a later append starts clean, and `.unavailable` is thrown: the record was
    /// not appended. Precondition: `record.count <= maxRecordSize`.
    public func append(_ record: [UInt8]) throws(StorageError) {
        precondition(
            record.count <= Self.maxRecordSize, "block of \(record.count) bytes exceeds the 64 MiB frame limit")
        guard descriptor >= 0 else { throw StorageError.unavailable("append to block log \(path): it is closed") }
        if tailNeedsCutting { try cutBack() }
        let frameSize = Self.frameHeaderSize + record.count
        let frame = [UInt8](unsafeUninitializedCapacity: frameSize) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            let length = UInt32(record.count)
            raw.storeBytes(of: length.littleEndian, toByteOffset: 0, as: UInt32.self)
            record.withUnsafeBytes { payload in
                if payload.count > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: raw[Self.frameHeaderSize...]).copyMemory(from: payload)
                }
                let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<4]))
                let crc = CRC32C.checksum(payload, continuing: lengthCRC)
                raw.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
            }
            initialized = frameSize
        }
        var step = "pwrite"
        do throws(FileIOError) {
            try fileIO.writeAll(descriptor, frame, at: durableLength)
            step = "fdatasync"
            try fileIO.fdatasync(descriptor)
        } catch {
            tailNeedsCutting = true
            try? cutBack()
            throw StorageError.systemCall(step, path, error)
        }
        let offset = durableLength
        durableLength += UInt64(frameSize)
        let end = durableLength
        readable.withLock { state in
            state.offsets.append(offset)
            state.end = end
        }
    }

    /// Number of records in the log: those found on opening plus those appended since.
    public var recordCount: Int { readable.withLock { $0.offsets.count } }

    /// The payload of record `index` (0 for the first block), read back from the file and checked against its
    /// frame's checksum, in a new array: for reads that keep the bytes. Throws as `readRecord(_:into:)`.
    public func readRecord(_ index: Int) throws(StorageError) -> [UInt8] {
        var buffer: [UInt8] = []
        let payload = try readRecord(index, into: &buffer)
        return Array(buffer[payload])
    }

    /// Reads record `index` (0 for the first block) into `buffer`, whole frame at once, checks it against its frame's
    /// checksum and returns where its payload is in `buffer`. `buffer` only grows (its bytes past the frame are
    /// left as they were), so a caller reading many records through one buffer allocates once for the largest.
    /// Safe on any thread, beside appends, which it does not hold up: only finding the frame takes the lock, and
    /// the frame was durable before it was listed. Throws `.notFound` for an index past the end, `.dataLoss` if the
    /// frame no longer checks out, `.unavailable` once the log is closed.
    public func readRecord(_ index: Int, into buffer: inout [UInt8]) throws(StorageError) -> Range<Int> {
        let (file, frame) = try frame(of: index)
        let frameSize = frame.count
        if buffer.count < frameSize { buffer = [UInt8](repeating: 0, count: frameSize) }
        // withUnsafeMutableBytes rethrows untyped errors, so the typed one travels out as a value.
        let read = try buffer.withUnsafeMutableBytes { bytes in
            Result { () throws(StorageError) in
                try file.read(
                    into: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<frameSize]), at: frame.lowerBound,
                    path: path)
            }
        }.get()
        guard read == frameSize else {
            throw StorageError.dataLoss("block log \(path): record \(index) at offset \(frame.lowerBound) is cut short")
        }
        let checks = buffer.withUnsafeBytes { bytes -> (length: UInt32, intact: Bool) in
            let length = bytes.loadUnaligned(as: UInt32.self).littleEndian
            let stored = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            guard Int(length) == frameSize - Self.frameHeaderSize else { return (length, false) }
            let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<4]))
            let payload = UnsafeRawBufferPointer(rebasing: bytes[Self.frameHeaderSize..<frameSize])
            return (length, CRC32C.checksum(payload, continuing: lengthCRC) == stored)
        }
        guard Int(checks.length) == frameSize - Self.frameHeaderSize else {
            throw StorageError.dataLoss(
                "block log \(path): record \(index) at offset \(frame.lowerBound) claims \(checks.length) bytes, "
                    + "its frame holds \(frameSize - Self.frameHeaderSize)")
        }
        guard checks.intact else {
            throw StorageError.dataLoss(
                "block log \(path): record \(index) at offset \(frame.lowerBound) fails its checksum")
        }
        return Self.frameHeaderSize..<frameSize
    }

    /// Up to `count` bytes from the start of record `index`'s payload, not checked against the frame's checksum
    /// (that covers the whole payload): for a part whose integrity is known otherwise, such as a block's signed
    /// header. Fewer bytes when the payload is shorter. Throws `.notFound` for an index past the end, `.unavailable`
    /// once the log is closed.
    public func readRecordPrefix(_ index: Int, count: Int) throws(StorageError) -> [UInt8] {
        let (file, frame) = try frame(of: index)
        let wanted = min(max(count, 0), frame.count - Self.frameHeaderSize)
        let start = frame.lowerBound + UInt64(Self.frameHeaderSize)
        var failure: StorageError?
        let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
            do throws(StorageError) {
                initialized = try file.read(into: UnsafeMutableRawBufferPointer(buffer), at: start, path: path)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        guard bytes.count == wanted else {
            throw StorageError.dataLoss("block log \(path): record \(index) at offset \(frame.lowerBound) is cut short")
        }
        return bytes
    }

    /// The open file and the byte range of record `index`'s frame: found under the lock, read after it.
    private func frame(of index: Int) throws(StorageError) -> (file: OpenFile, frame: Range<UInt64>) {
        try readable.withLock { (state) throws(StorageError) -> (file: OpenFile, frame: Range<UInt64>) in
            guard let file = state.file else { throw StorageError.unavailable("read block log \(path): it is closed") }
            guard index >= 0, index < state.offsets.count else {
                throw StorageError.notFound("block log \(path): no record \(index) (it has \(state.offsets.count))")
            }
            let end = index + 1 < state.offsets.count ? state.offsets[index + 1] : state.end
            return (file, state.offsets[index]..<end)
        }
    }

    /// Closes the file (and releases its lock). Later appends throw `.unavailable`. Safe to call twice.
    public func close() {
        guard descriptor >= 0 else { return }
        readable.withLock { $0.file = nil }
        // The descriptor closes as the last holder lets go: here, or when a read under way ends.
        openFile = nil
        descriptor = -1
    }

    /// Cuts the file back to `durableLength` and makes that durable; on success the tail is clean.
    private func cutBack() throws(StorageError) {
        do throws(FileIOError) {
            try fileIO.ftruncate(descriptor, durableLength)
            try fileIO.fdatasync(descriptor)
        } catch {
            throw StorageError.systemCall("cutting back a failed append to", path, error)
        }
        tailNeedsCutting = false
    }

    /// Opens `path` read-write, creating it (header written, file and directory entry durable) if missing.
    private static func openOrCreate(path: String, fileIO: FileIO) throws(StorageError) -> (fd: Int32, created: Bool) {
        let fd: Int32
        do throws(FileIOError) {
            fd = try fileIO.open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        } catch  where error.code == EEXIST {
            do throws(FileIOError) {
                return (try fileIO.open(path, O_RDWR, 0), false)
            } catch {
                throw StorageError.systemCall("open", path, error)
            }
        } catch {
            throw StorageError.systemCall("create", path, error)
        }
        do throws(StorageError) {
            try writeHeader(fd, path: path, fileIO: fileIO)
            let directory = FileSystem.parent(of: path)
            do throws(FileIOError) {
                try fileIO.syncDirectory(directory)
            } catch {
                throw StorageError.systemCall("fsync directory", directory, error)
            }
        } catch {
            fileIO.close(fd)
            try? fileIO.unlink(path)
            throw error
        }
        return (fd, true)
    }

    /// Writes the file header at offset 0, cuts the file to it and fsyncs.
    private static func writeHeader(_ fd: Int32, path: String, fileIO: FileIO) throws(StorageError) {
        do throws(FileIOError) {
            try fileIO.writeAll(fd, fileHeader, at: 0)
            try fileIO.ftruncate(fd, UInt64(fileHeader.count))
            try fileIO.fsync(fd)
        } catch {
            throw StorageError.systemCall("writing the header of", path, error)
        }
    }

    private static func readBytes(_ fd: Int32, count: Int, at offset: UInt64, path: String, fileIO: FileIO)
        throws(StorageError) -> [UInt8]
    {
        do throws(FileIOError) {
            return try fileIO.read(fd, count: count, at: offset)
        } catch {
            throw StorageError.systemCall("pread", path, error)
        }
    }

    private static func printable(_ bytes: [UInt8]) -> String {
        let isText = bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
        return isText ? "\"\(String(decoding: bytes, as: UTF8.self))\"" : "0x" + bytes.map { hex($0) }.joined()
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }
}

/// The block log's descriptor, closed when its last holder (the log, or a read under way) lets it go.
private final class OpenFile: Sendable {
    let descriptor: Int32
    let fileIO: FileIO

    init(descriptor: Int32, fileIO: FileIO) {
        self.descriptor = descriptor
        self.fileIO = fileIO
    }

    deinit { fileIO.close(descriptor) }

    /// Reads into all of `buffer` from `offset`; the bytes read, fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String) throws(StorageError) -> Int {
        do throws(FileIOError) {
            return try fileIO.readFully(descriptor, into: buffer, at: offset)
        } catch {
            throw StorageError.systemCall("pread", path, error)
        }
    }
}

/// What opening a block log found: how many records, and what damaged tail, if any, was cut away.
public struct BlockLogRecovery: Hashable, Sendable {
    /// Intact records read (and handed to the caller).
    public var recordCount: Int
    /// The file's length after recovery: the header plus every intact frame.
    public var durableLength: UInt64
    /// Bytes of a torn or corrupt tail that were cut away; 0 for a clean file.
    public var truncatedBytes: UInt64
    /// Why the tail was cut, e.g. "frame 12 at offset 4096: checksum mismatch"; nil for a clean file.
    public var tornTail: String?
    /// Whether the file was created (or its torn header rewritten) by this open.
    public var createdFile: Bool
}
