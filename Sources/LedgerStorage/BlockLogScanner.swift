import Glibc

/// Reads a block log's frames in large chunks (8 MiB reads, no per-record system calls), checks each one, and
/// finds where the intact frames end.
struct BlockLogScanner: ~Copyable {
    /// What a scan found.
    struct Outcome {
        var recordCount: Int
        /// File offset of each intact frame, in order.
        var recordOffsets: [UInt64]
        /// Where the intact frames end: the length the file should have.
        var validLength: UInt64
        /// Why the frames after `validLength` were judged a torn tail; nil if the file ends cleanly.
        var tornTail: String?
    }

    private enum FrameCheck {
        case intact(payload: UnsafeRawBufferPointer)
        case damaged(reason: String, claimedLength: UInt64?)
    }

    static let readSize = 8 << 20

    private let fd: Int32
    private let fileIO: FileIO
    private let path: String
    private let fileSize: UInt64
    private var buffer: UnsafeMutableRawBufferPointer
    /// The file offset of `buffer[0]`.
    private var bufferOffset: UInt64 = 0
    /// How many bytes of `buffer` hold file data.
    private var filled = 0

    init(fd: Int32, fileIO: FileIO, path: String, fileSize: UInt64) {
        self.fd = fd
        self.fileIO = fileIO
        self.path = path
        self.fileSize = fileSize
        buffer = .allocate(byteCount: Self.readSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Checks every frame from `start` on, handing intact payloads to `eachRecord`, until the end of the file or a
    /// damaged frame. Throws `.dataLoss` when the damaged frame cannot be a torn tail.
    mutating func scan(
        from start: UInt64, eachRecord: (UnsafeRawBufferPointer) throws(StorageError) -> Void
    ) throws(StorageError) -> Outcome {
        bufferOffset = start
        filled = 0
        var offset = start
        var offsets: [UInt64] = []
        while offset < fileSize {
            switch try check(at: offset) {
            case .intact(let payload):
                try eachRecord(payload)
                offsets.append(offset)
                offset += UInt64(BlockLog.frameHeaderSize + payload.count)
            case .damaged(let reason, let claimedLength):
                let damage = "frame \(offsets.count) at offset \(offset): \(reason)"
                try refuseUnlessTail(at: offset, claimedLength: claimedLength, damage: damage)
                return Outcome(
                    recordCount: offsets.count, recordOffsets: offsets, validLength: offset, tornTail: damage)
            }
        }
        return Outcome(recordCount: offsets.count, recordOffsets: offsets, validLength: offset, tornTail: nil)
    }

    /// A damaged frame is a torn tail only if it could be the single append in flight at a crash: at most one
    /// frame's worth of bytes from it to the end, and no intact frame right after it.
    private mutating func refuseUnlessTail(at offset: UInt64, claimedLength: UInt64?, damage: String)
        throws(StorageError)
    {
        let trailing = fileSize - offset
        if trailing > UInt64(BlockLog.frameHeaderSize + BlockLog.maxRecordSize) {
            throw StorageError.dataLoss(
                "block log \(path): \(damage), and \(trailing) bytes follow it, more than one append leaves; "
                    + "refusing to truncate acknowledged records")
        }
        if let claimedLength {
            let next = offset + UInt64(BlockLog.frameHeaderSize) + claimedLength
            if next < fileSize, case .intact = try check(at: next) {
                throw StorageError.dataLoss(
                    "block log \(path): \(damage), but an intact frame follows at offset \(next); "
                        + "refusing to truncate acknowledged records")
            }
        }
    }

    /// Reads and checks the frame at `offset`.
    private mutating func check(at offset: UInt64) throws(StorageError) -> FrameCheck {
        let headerSize = BlockLog.frameHeaderSize
        let remaining = fileSize - offset
        guard remaining >= UInt64(headerSize) else {
            return .damaged(reason: "header cut short (\(remaining) of \(headerSize) bytes)", claimedLength: nil)
        }
        let header = try bytes(at: offset, count: headerSize)
        let length = header.loadUnaligned(as: UInt32.self).littleEndian
        let stored = header.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        guard length <= BlockLog.maxRecordSize else {
            return .damaged(
                reason: "length \(length) exceeds the \(BlockLog.maxRecordSize)-byte limit", claimedLength: nil)
        }
        guard remaining - UInt64(headerSize) >= UInt64(length) else {
            return .damaged(
                reason: "payload cut short (\(remaining - UInt64(headerSize)) of \(length) bytes)",
                claimedLength: UInt64(length))
        }
        let frame = try bytes(at: offset, count: headerSize + Int(length))
        let payload = UnsafeRawBufferPointer(rebasing: frame[headerSize...])
        let crc = CRC32C.checksum(payload, continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[0..<4])))
        guard crc == stored else {
            return .damaged(reason: "checksum mismatch", claimedLength: UInt64(length))
        }
        return .intact(payload: payload)
    }

    /// The file's bytes `offset ..< offset + count` (within the file), read into the buffer if not there yet.
    /// Valid until the next call. Offsets never go below the previous call's.
    private mutating func bytes(at offset: UInt64, count: Int) throws(StorageError) -> UnsafeRawBufferPointer {
        precondition(offset >= bufferOffset && offset + UInt64(count) <= fileSize)
        let start = offset - bufferOffset
        if start + UInt64(count) <= UInt64(filled) {
            return UnsafeRawBufferPointer(rebasing: buffer[Int(start)..<Int(start) + count])
        }
        // Keep the bytes from `offset` on, moved to the front, and fill the rest of the buffer from the file.
        let kept = start < UInt64(filled) ? filled - Int(start) : 0
        if kept > 0, start > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + Int(start), kept) }
        bufferOffset = offset
        filled = kept
        if count > buffer.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(
                byteCount: (count + Self.readSize - 1) / Self.readSize * Self.readSize, alignment: 64)
            if kept > 0 { grown.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: kept) }
            buffer.deallocate()
            buffer = grown
        }
        while filled < count {
            let wanted = min(buffer.count - filled, Int(fileSize - bufferOffset) - filled)
            let read: Int
            do throws(FileIOError) {
                read = try fileIO.pread(
                    fd, UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + wanted]),
                    bufferOffset + UInt64(filled))
            } catch {
                throw StorageError.systemCall("pread", path, error)
            }
            guard read > 0 else {
                throw StorageError.unavailable(
                    "pread \(path): file ended at offset \(bufferOffset + UInt64(filled)), before its size \(fileSize)")
            }
            filled += read
        }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }
}
