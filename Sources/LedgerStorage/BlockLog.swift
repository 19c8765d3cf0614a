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
/// read an appended record back with `readRecord(_:)`. The file is locked (flock) while open, so a second `open` of
/// the same file, in this or another process, fails with `.unavailable` until `close()`.
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
    /// Bytes of the file that are durable and hold whole frames: the header plus every acknowledged record.
    public private(set) var durableLength: UInt64
    /// Set when a failed append may have left bytes past `durableLength` that could not yet be cut away.
    private var tailNeedsCutting = false
    /// What readers of appended records need: the descriptor (-1 once closed) and each record's frame offset.
    private let readable: Mutex<(descriptor: Int32, offsets: [UInt64])>

    private init(path: String, fileIO: FileIO, descriptor: Int32, durableLength: UInt64, offsets: [UInt64]) {
        self.path = path
        self.fileIO = fileIO
        self.descriptor = descriptor
        self.durableLength = durableLength
        readable = Mutex((descriptor, offsets))
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
        readable.withLock { $0.offsets.append(offset) }
        durableLength += UInt64(frameSize)
    }

    /// Number of records in the log: those found on opening plus those appended since.
    public var recordCount: Int { readable.withLock { $0.offsets.count } }

    /// The payload of record `index` (0 for the first block), read back from the file and checked against its
    /// frame's checksum. For the rare reads that need a block's full bytes; safe on any thread, beside appends.
    /// Throws `.notFound` for an index past the end, `.dataLoss` if the frame no longer checks out.
    public func readRecord(_ index: Int) throws(StorageError) -> [UInt8] {
        try readable.withLock { (state) throws(StorageError) -> [UInt8] in
            guard state.descriptor >= 0 else { throw StorageError.unavailable("read block log \(path): it is closed") }
            guard index >= 0, index < state.offsets.count else {
                throw StorageError.notFound("block log \(path): no record \(index) (it has \(state.offsets.count))")
            }
            let offset = state.offsets[index]
            let header = try Self.readBytes(
                state.descriptor, count: Self.frameHeaderSize, at: offset, path: path, fileIO: fileIO)
            guard header.count == Self.frameHeaderSize else {
                throw StorageError.dataLoss("block log \(path): record \(index) at offset \(offset) is cut short")
            }
            let length = header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
            let stored = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian }
            guard length <= Self.maxRecordSize else {
                throw StorageError.dataLoss("block log \(path): record \(index) at offset \(offset) has a bad length")
            }
            let payload = try Self.readBytes(
                state.descriptor, count: Int(length), at: offset + UInt64(Self.frameHeaderSize), path: path,
                fileIO: fileIO)
            let crc = header.withUnsafeBytes { frameHeader in
                let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frameHeader[0..<4]))
                return payload.withUnsafeBytes { CRC32C.checksum($0, continuing: lengthCRC) }
            }
            guard payload.count == Int(length), crc == stored else {
                throw StorageError.dataLoss("block log \(path): record \(index) at offset \(offset) fails its checksum")
            }
            return payload
        }
    }

    /// Closes the file (and releases its lock). Later appends throw `.unavailable`. Safe to call twice.
    public func close() {
        guard descriptor >= 0 else { return }
        readable.withLock { $0.descriptor = -1 }
        fileIO.close(descriptor)
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
