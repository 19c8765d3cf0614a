import Glibc
import LedgerCrypto
import Synchronization

/// Reads one record's content back as plaintext segments of at most 1 MiB, in order, checking each segment's
/// authentication tag and, at the end, the SHA-256 and total length against the record's address.
///
/// Any mismatch throws `.dataLoss("record <hex> of <patient>: ...")`, and so does every later call. Sendable, but
/// meant for one task at a time: calls are serialized.
public final class ContentReader: Sendable {
    private struct State: ~Copyable {
        var fd: Int32
        var nextSegment: UInt64 = 0
        var hasher: SHA256Hasher? = SHA256Hasher()
        var delivered: UInt64 = 0
        var isDone = false
        var failure: StorageError?
    }

    /// The patient the record belongs to.
    public let patient: String
    /// The record's address: the SHA-256 of its plaintext.
    public let sha256: [UInt8]
    /// The plaintext size in bytes, as the authenticated header states it.
    public let size: UInt64
    private let name: String
    private let path: String
    private let key: AES256GCM
    private let noncePrefix: [UInt8]
    private let fileIO: FileIO
    private let segmentCount: UInt64
    private let state: Mutex<State>

    init(
        patient: String, sha256: [UInt8], size: UInt64, name: String, path: String, key: AES256GCM,
        noncePrefix: [UInt8], fd: Int32, fileIO: FileIO
    ) {
        self.patient = patient
        self.sha256 = sha256
        self.size = size
        self.name = name
        self.path = path
        self.key = key
        self.noncePrefix = noncePrefix
        self.fileIO = fileIO
        segmentCount = RecordFileFormat.segmentCount(contentSize: size)
        state = Mutex(State(fd: fd))
    }

    deinit { close() }

    /// The next plaintext segment (1 MiB except the last, never empty), or nil after the last one; the last
    /// segment is returned only after the whole content's hash and length have been checked.
    public func next() throws(StorageError) -> [UInt8]? {
        try state.withLock { state throws(StorageError) -> [UInt8]? in
            if let failure = state.failure { throw failure }
            guard !state.isDone else { return nil }
            guard state.fd >= 0 else { throw StorageError.invalidArgument("\(name): read after close") }
            do throws(StorageError) {
                let plaintext = try readSegment(&state)
                return plaintext.isEmpty ? nil : plaintext
            } catch {
                state.failure = error
                closeFile(&state)
                throw error
            }
        }
    }

    /// Stops reading and closes the file; `next()` then returns nil if the content was read to the end.
    public func close() {
        state.withLock { state in closeFile(&state) }
    }

    private func readSegment(_ state: inout State) throws(StorageError) -> [UInt8] {
        typealias Format = RecordFileFormat
        let index = state.nextSegment
        let isFinal = index == segmentCount - 1
        let plainCount = isFinal ? Int(size - index * UInt64(Format.segmentSize)) : Format.segmentSize
        let offset = UInt64(Format.headerSize) + index * UInt64(Format.segmentSize + Format.tagSize)
        let sealed: [UInt8]
        do throws(FileIOError) {
            sealed = try fileIO.read(state.fd, count: plainCount + Format.tagSize, at: offset)
        } catch {
            throw StorageError.systemCall("pread", path, error)
        }
        guard sealed.count == plainCount + Format.tagSize else {
            throw StorageError.dataLoss("\(name): file ends inside segment \(index) of \(segmentCount) (truncated)")
        }
        let plaintext: [UInt8]
        do throws(AES256GCM.AuthenticationFailure) {
            plaintext = try key.open(
                sealed, nonce: Format.nonce(prefix: noncePrefix, counter: UInt32(index)),
                authenticating: Format.segmentAAD(index: UInt32(index), isFinal: isFinal, patient: patient))
        } catch {
            throw StorageError.dataLoss(
                "\(name): segment \(index) of \(segmentCount) fails authentication (damaged, reordered or truncated)")
        }
        state.hasher?.update(plaintext)
        state.delivered += UInt64(plaintext.count)
        state.nextSegment += 1
        if isFinal {
            let digest = state.hasher.take()!.finalize()
            guard digest == sha256, state.delivered == size else {
                throw StorageError.dataLoss(
                    "\(name): content hashes to \(Hex.encode(digest)) over \(state.delivered) bytes, not its address")
            }
            state.isDone = true
            closeFile(&state)
        }
        return plaintext
    }

    private func closeFile(_ state: inout State) {
        guard state.fd >= 0 else { return }
        fileIO.close(state.fd)
        state.fd = -1
    }
}
