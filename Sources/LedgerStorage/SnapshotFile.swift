import Glibc

/// State snapshots, each replaced atomically: `<directory>/snapshot-<height>.bin` (height as 20 decimal digits, so
/// names sort by height), laid out as
///
/// ```
/// "HLSNAP03" | height u64 LE | length u64 LE | crc u32 LE | snapshot bytes (length)
/// ```
///
/// The last two magic characters are the format version of the snapshot bytes: a file of a version this release
/// does not read (such as "HLSNAP01", the message-per-item layout of earlier releases) is skipped like a damaged one,
/// never decoded. "02" is still read: its bytes are an earlier layout of the same message, which the state's restore
/// understands. A release that adds a field an older one would ignore (and so restore a wrong state from) writes a
/// new version, which the older one skips and replays the block log instead.
///
/// where `crc` is the CRC-32C of height, length and the snapshot bytes. A write goes to a temporary file, is
/// fsynced, renamed into place and the directory fsynced; then all but the newest two snapshots are removed, so a
/// damaged newest one can fall back to the one before.
public enum SnapshotFile {
    /// The first eight bytes of every snapshot file this version writes: "HLSNAP" and the format version.
    public static let magic: [UInt8] = Array("HLSNAP03".utf8)
    /// Format versions this version reads: its own, and "02" (records as a message each, written by the release
    /// before the record columns).
    static let readableVersions: [[UInt8]] = [Array("03".utf8), Array("02".utf8)]
    /// Bytes before the snapshot itself.
    public static let headerSize = 28
    /// How many snapshots `write` keeps: the new one and the one before it.
    public static let retainedCount = 2

    /// Writes `bytes` as the snapshot at `height` into `directory` (created, mode 0700, if missing), durably and
    /// atomically, then removes older snapshots but one. Throws `.unavailable` on I/O failure, leaving the previous
    /// snapshots as they were.
    public static func write(_ bytes: [UInt8], height: UInt64, to directory: String, fileIO: FileIO = .system)
        throws(StorageError)
    {
        try fileIO.ensureDirectories(directory)
        var header = magic
        header += littleEndian(height) + littleEndian(UInt64(bytes.count))
        let crc = withBytes(of: bytes) { payload in
            CRC32C.checksum(payload, continuing: CRC32C.checksum(Array(header[magic.count...])))
        }
        header += (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) }
        let path = self.path(height: height, in: directory)
        try fileIO.writeAtomically(
            { fd throws(FileIOError) in
                try fileIO.writeAll(fd, header, at: 0)
                try fileIO.writeAll(fd, bytes, at: UInt64(headerSize))
            }, to: path, temporaryPath: path + ".tmp")
        let names = try FileSystem.entries(of: directory)
        for name in names where name.hasPrefix("snapshot-") && name.hasSuffix(".tmp") && name != fileName(height) {
            try? fileIO.unlink("\(directory)/\(name)")
        }
        let older = snapshots(among: names).filter { $0.height < height }.dropFirst(retainedCount - 1)
        for snapshot in older {
            do throws(FileIOError) {
                try fileIO.unlink("\(directory)/\(snapshot.name)")
            } catch {
                throw StorageError.systemCall("unlink old snapshot", "\(directory)/\(snapshot.name)", error)
            }
        }
        if !older.isEmpty {
            do throws(FileIOError) {
                try fileIO.syncDirectory(directory)
            } catch {
                throw StorageError.systemCall("fsync directory", directory, error)
            }
        }
    }

    /// The newest intact snapshot in `directory`: its height and bytes, or nil when there is none (or no
    /// directory). A snapshot whose header, length or checksum is wrong is skipped for the one before it and
    /// passed to `skipped` (for the node's log). Throws `.unavailable` if a file cannot be read.
    public static func readLatest(
        in directory: String, fileIO: FileIO = .system, skipped: (StorageError) -> Void = { _ in }
    ) throws(StorageError) -> (height: UInt64, bytes: [UInt8])? {
        try withLatest(in: directory, fileIO: fileIO, skipped: skipped) { height, bytes in (height, Array(bytes)) }
    }

    /// Calls `body` with the newest intact snapshot in `directory`, as `readLatest` finds it, mapped read-only into
    /// memory rather than copied (a start decodes hundreds of megabytes in place); the bytes are valid only during
    /// the call. Nil when there is none.
    public static func withLatest<Result>(
        in directory: String, fileIO: FileIO = .system, skipped: (StorageError) -> Void = { _ in },
        _ body: (_ height: UInt64, _ bytes: UnsafeRawBufferPointer) -> Result
    ) throws(StorageError) -> Result? {
        guard FileSystem.isDirectory(directory) else { return nil }
        for snapshot in snapshots(among: try FileSystem.entries(of: directory)) {
            let path = "\(directory)/\(snapshot.name)"
            do throws(StorageError) {
                return try withMapped(path, height: snapshot.height, fileIO: fileIO) { body(snapshot.height, $0) }
            } catch  where error.kind == .dataLoss || error.kind == .notFound {
                skipped(error)
            }
        }
        return nil
    }

    /// The file name of the snapshot at `height`.
    public static func fileName(_ height: UInt64) -> String {
        let digits = String(height)
        return "snapshot-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".bin"
    }

    static func path(height: UInt64, in directory: String) -> String { "\(directory)/\(fileName(height))" }

    /// The snapshot files among `names`, newest first.
    private static func snapshots(among names: [String]) -> [(name: String, height: UInt64)] {
        names.compactMap { name -> (name: String, height: UInt64)? in
            guard name.hasPrefix("snapshot-"), name.hasSuffix(".bin") else { return nil }
            let digits = name.dropFirst("snapshot-".count).dropLast(".bin".count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let height = UInt64(digits) else { return nil }
            return (name, height)
        }.sorted { $0.height > $1.height }
    }

    /// Calls `body` with the snapshot bytes in the file at `path`, mapped, after checking them against the file's
    /// header and its name's height.
    private static func withMapped<Result>(
        _ path: String, height: UInt64, fileIO: FileIO, _ body: (UnsafeRawBufferPointer) -> Result
    ) throws(StorageError) -> Result {
        let fd: Int32
        do throws(FileIOError) {
            fd = try fileIO.open(path, O_RDONLY, 0)
        } catch  where error.code == ENOENT {
            throw StorageError.notFound("snapshot \(path): vanished while reading")
        } catch {
            throw StorageError.systemCall("open", path, error)
        }
        defer { fileIO.close(fd) }
        let fileSize = try FileSystem.size(of: fd, path: path)
        let header: [UInt8]
        do throws(FileIOError) {
            header = try fileIO.read(fd, count: headerSize, at: 0)
        } catch {
            throw StorageError.systemCall("pread", path, error)
        }
        guard header.count == headerSize, header.prefix(6).elementsEqual(magic.prefix(6)) else {
            throw StorageError.dataLoss("snapshot \(path): not a HealthLedger snapshot (bad header)")
        }
        guard readableVersions.contains(Array(header[6..<8])) else {
            let version = String(decoding: header[6..<8], as: UTF8.self)
            let readable = readableVersions.map { "\"\(String(decoding: $0, as: UTF8.self))\"" }.joined(separator: " or ")
            throw StorageError.dataLoss(
                "snapshot \(path): format \(version.debugDescription), this version reads \(readable) "
                    + "(written by another release; ignored)")
        }
        let storedHeight = value(header[8..<16])
        let length = value(header[16..<24])
        let storedCRC = UInt32(truncatingIfNeeded: value(header[24..<28]))
        guard storedHeight == height else {
            throw StorageError.dataLoss("snapshot \(path): header says height \(storedHeight)")
        }
        guard fileSize == UInt64(headerSize) + length else {
            throw StorageError.dataLoss(
                "snapshot \(path): \(fileSize) bytes, header says \(UInt64(headerSize) + length) (truncated?)")
        }
        // Mapped from the page cache (populated up front, so no fault per page), not read into fresh memory.
        let mapped = mmap(nil, Int(fileSize), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw StorageError.systemCall("mmap", path, FileIOError(errno))
        }
        defer { munmap(mapped, Int(fileSize)) }
        let bytes = UnsafeRawBufferPointer(start: mapped + headerSize, count: Int(length))
        let crc = CRC32C.checksum(bytes, continuing: CRC32C.checksum(Array(header[magic.count..<24])))
        guard crc == storedCRC else {
            throw StorageError.dataLoss("snapshot \(path): checksum mismatch")
        }
        return body(bytes)
    }

    private static func littleEndian(_ value: UInt64) -> [UInt8] { RecordFileFormat.littleEndianBytes(value) }

    private static func value(_ bytes: ArraySlice<UInt8>) -> UInt64 { RecordFileFormat.littleEndianValue(bytes) }
}
