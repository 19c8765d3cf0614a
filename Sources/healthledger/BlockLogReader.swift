import Glibc
import LedgerStorage

/// Reads a block log's frames in order without changing the file: no lock, no truncation of a torn tail (unlike
/// `BlockLog.open`, which a node uses to recover), so it is safe on a copy, a backup or a stopped node's directory.
/// Each frame's length and CRC-32C are checked as in docs/DATA_DIRECTORY.md; the first damaged frame is reported,
/// never skipped.
final class BlockLogReader {
    /// Why a frame could not be read whole: its number (block height) and byte offset.
    struct DamagedFrame: Error, CustomStringConvertible {
        /// 1-based: the height of the block the frame should hold.
        var height: UInt64
        var offset: UInt64
        var reason: String

        var description: String { "block \(height) (frame at byte \(offset)): \(reason)" }
    }

    static let readSize = 8 << 20

    let path: String
    /// The file's size when opened; frames are read up to it.
    let fileSize: UInt64
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Offset in `buffer` of the next unread byte.
    private var cursor = 0
    /// File offset of `buffer[0]`.
    private var bufferOffset: UInt64 = 0
    private var framesRead: UInt64 = 0

    /// Opens `path` read-only and checks its "HLBLOCK1" header.
    init(path: String) throws(CommandFailure) {
        self.path = path
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw CommandFailure(
                errno == ENOENT ? .notFound : .unavailable, "cannot open \(path): \(reason)",
                hint: "give the data directory of a node (it holds blocks.log)")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            Glibc.close(descriptor)
            throw CommandFailure(.unavailable, "cannot stat \(path)", hint: "check the file's permissions")
        }
        self.descriptor = descriptor
        fileSize = UInt64(status.st_size)
        let magic = try take(BlockLog.fileHeader.count)
        guard magic == BlockLog.fileHeader[...] else {
            throw CommandFailure(
                .failure, "\(path) is not a HealthLedger block log (it does not start with HLBLOCK1)",
                hint: "give the data directory of a node (it holds blocks.log)")
        }
    }

    deinit { Glibc.close(descriptor) }

    /// File offset of the next frame.
    var offset: UInt64 { bufferOffset + UInt64(cursor) }

    /// Counts the frames by their length fields alone (one small read each, no checksums), stopping at the first
    /// impossible one: the total a progress bar shows.
    func countFrames() -> UInt64 {
        var count: UInt64 = 0
        var position = UInt64(BlockLog.fileHeader.count)
        var header = [UInt8](repeating: 0, count: BlockLog.frameHeaderSize)
        while position + UInt64(BlockLog.frameHeaderSize) <= fileSize {
            let read = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(position)) }
            guard read == BlockLog.frameHeaderSize else { break }
            let length = UInt64(header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian })
            guard length <= UInt64(BlockLog.maxRecordSize) else { break }
            position += UInt64(BlockLog.frameHeaderSize) + length
            if position <= fileSize { count += 1 }
        }
        return count
    }

    /// The next frame's payload (a stored block), nil at a clean end of file; throws at a damaged frame.
    func next() throws(CommandFailure) -> [UInt8]? {
        let start = offset
        guard start < fileSize else { return nil }
        let height = framesRead + 1
        func damaged(_ reason: String) -> CommandFailure {
            CommandFailure(
                .failure, "\(DamagedFrame(height: height, offset: start, reason: reason))",
                hint: "the block log was cut or altered; a crash during an append leaves an unacknowledged last "
                    + "frame (a node cuts it away on start): compare with a backup")
        }
        let remaining = fileSize - start
        guard remaining >= UInt64(BlockLog.frameHeaderSize) else {
            throw damaged("cut short: \(remaining) of the \(BlockLog.frameHeaderSize) frame header bytes")
        }
        let header = try take(BlockLog.frameHeaderSize)
        let length = header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
        let stored = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian }
        guard length <= BlockLog.maxRecordSize else {
            throw damaged("length \(length) exceeds the \(BlockLog.maxRecordSize)-byte limit")
        }
        guard remaining - UInt64(BlockLog.frameHeaderSize) >= UInt64(length) else {
            throw damaged(
                "cut short: \(remaining - UInt64(BlockLog.frameHeaderSize)) of \(length) payload bytes")
        }
        let payload = Array(try take(Int(length)))
        let crc = CRC32C.checksum(
            payload, continuing: CRC32C.checksum(Array(header[header.startIndex..<header.startIndex + 4])))
        guard crc == stored else { throw damaged("frame checksum mismatch: the block's bytes were changed") }
        framesRead = height
        return payload
    }

    /// The next `count` bytes of the file (the caller checked they exist), refilling the buffer as needed.
    private func take(_ count: Int) throws(CommandFailure) -> ArraySlice<UInt8> {
        if buffer.count - cursor < count {
            buffer.removeFirst(cursor)
            bufferOffset += UInt64(cursor)
            cursor = 0
            let wanted = min(max(count - buffer.count, Self.readSize), Int(fileSize - bufferOffset) - buffer.count)
            let start = buffer.count
            buffer += [UInt8](repeating: 0, count: max(wanted, 0))
            var filled = start
            while filled < buffer.count {
                let position = bufferOffset + UInt64(filled)
                let read = buffer.withUnsafeMutableBytes { bytes in
                    pread(descriptor, bytes.baseAddress! + filled, bytes.count - filled, off_t(position))
                }
                guard read > 0 else {
                    throw CommandFailure(
                        .unavailable, "reading \(path) at byte \(position) failed or hit an early end",
                        hint: "the file changed while it was read; verify a copy of a stopped node's directory")
                }
                filled += read
            }
            guard buffer.count >= count else {
                throw CommandFailure(
                    .unavailable, "\(path) ended early", hint: "the file changed while it was read")
            }
        }
        defer { cursor += count }
        return buffer[cursor..<cursor + count]
    }
}
