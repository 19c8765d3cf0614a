import Glibc
import LedgerCrypto
import Synchronization

/// One record's content on its way into the store: plaintext goes in by `append`, is hashed (SHA-256) and sealed
/// in 1 MiB segments into a temporary file as it arrives, so memory stays at about 2 MiB whatever the size.
///
/// `finish()` gives the hash and size; `commit()` then makes the content durable at its address. `abort()`, or
/// dropping the upload before `commit()`, deletes the temporary file. An I/O failure deletes it too, and the
/// upload is then unusable. Sendable, but meant for one task at a time: calls are serialized.
public final class ContentUpload: Sendable {
    private enum Phase: Equatable {
        case receiving
        case finished(sha256: [UInt8], size: UInt64)
        case committed
        case aborted
        case failed

        var name: String {
            switch self {
            case .receiving: "receiving"
            case .finished: "finished"
            case .committed: "committed"
            case .aborted: "aborted"
            case .failed: "failed"
            }
        }
    }

    private struct State: ~Copyable {
        var phase = Phase.receiving
        var fd: Int32
        var hasher: SHA256Hasher? = SHA256Hasher()
        /// Plaintext not yet sealed: at most one segment.
        var pending: [UInt8] = []
        var segmentIndex: UInt32 = 0
        var fileOffset = UInt64(RecordFileFormat.headerSize)
        var size: UInt64 = 0
    }

    /// The patient the content belongs to.
    public let patient: String
    private let store: RecordContentStore
    private let slot: PatientKeySlot
    private let generation: UInt64
    private let key: AES256GCM
    private let temporaryPath: String
    private let noncePrefix = SecureRandom.bytes(RecordFileFormat.noncePrefixSize)
    private let state: Mutex<State>

    init(
        store: RecordContentStore, patient: String, slot: PatientKeySlot, generation: UInt64, key: AES256GCM,
        fd: Int32, temporaryPath: String
    ) {
        self.store = store
        self.patient = patient
        self.slot = slot
        self.generation = generation
        self.key = key
        self.temporaryPath = temporaryPath
        state = Mutex(State(fd: fd))
    }

    deinit {
        state.withLock { state in discard(&state, as: .aborted) }
    }

    /// Adds the next `chunk` of plaintext (any size; chunks of up to 1 MiB keep memory lowest). Throws
    /// `.unavailable` if the temporary file cannot be written (the upload is then dead), `.invalidArgument` after
    /// `finish()`, `commit()` or `abort()`.
    public func append(_ chunk: [UInt8]) throws(StorageError) {
        try state.withLock { state throws(StorageError) in
            try requireReceiving(state, "append to")
            let segmentSize = RecordFileFormat.segmentSize
            var consumed = 0
            while consumed < chunk.count {
                // A full segment is sealed only once more bytes arrive: the last segment is never sealed as
                // non-final.
                if state.pending.count == segmentSize { try sealPending(&state, isFinal: false) }
                let taken = min(segmentSize - state.pending.count, chunk.count - consumed)
                state.pending.append(contentsOf: chunk[consumed..<consumed + taken])
                consumed += taken
            }
            state.hasher?.update(chunk)
            state.size += UInt64(chunk.count)
        }
    }

    /// Seals the last segment and writes the header: the content's SHA-256 and size in bytes, to compare with the
    /// signed metadata before `commit()`.
    public func finish() throws(StorageError) -> (sha256: [UInt8], size: UInt64) {
        try state.withLock { state throws(StorageError) -> (sha256: [UInt8], size: UInt64) in
            try requireReceiving(state, "finish")
            try sealPending(&state, isFinal: true)
            let digest = state.hasher.take()!.finalize()
            let address = digest + RecordFileFormat.littleEndianBytes(state.size)
            let header =
                RecordFileFormat.magic + [RecordFileFormat.version] + noncePrefix
                + key.seal(
                    address,
                    nonce: RecordFileFormat.nonce(prefix: noncePrefix, counter: RecordFileFormat.addressCounter),
                    authenticating: RecordFileFormat.addressAAD(patient: patient))
            do throws(FileIOError) {
                try store.fileIO.writeAll(state.fd, header, at: 0)
            } catch {
                discard(&state, as: .failed)
                throw StorageError.systemCall("pwrite", temporaryPath, error)
            }
            state.phase = .finished(sha256: digest, size: state.size)
            return (digest, state.size)
        }
    }

    /// Makes the finished content durable at `records/<patient>/<sha256 hex>` (fsync, rename, fsync directory);
    /// if that address already holds the same content, the upload is simply discarded. Returns only when the
    /// content is durable. Throws `.notFound` if the patient was erased since the upload began, `.unavailable`
    /// on I/O failure (the temporary file is deleted either way).
    public func commit() throws(StorageError) {
        try state.withLock { state throws(StorageError) in
            guard case .finished(let digest, _) = state.phase else {
                throw StorageError.invalidArgument("commit of an upload for \(patient) that is not finished")
            }
            do throws(FileIOError) {
                try store.fileIO.fsync(state.fd)
            } catch {
                discard(&state, as: .failed)
                throw StorageError.systemCall("fsync", temporaryPath, error)
            }
            store.fileIO.close(state.fd)
            state.fd = -1
            let folder = store.recordDirectory(patient)
            let target = store.recordPath(patient, digest)
            do throws(StorageError) {
                try slot.state.withLock { keyState throws(StorageError) in
                    guard keyState.generation == generation else {
                        throw StorageError.notFound(
                            "record \(Hex.encode(digest)) of \(patient): the patient's data was erased during the upload"
                        )
                    }
                    if !keyState.recordDirectoryExists {
                        try store.fileIO.ensureDirectory(folder)
                        keyState.recordDirectoryExists = true
                    }
                    if FileSystem.exists(target) {
                        // Same patient, same content: the stored copy is it.
                        try? store.fileIO.unlink(temporaryPath)
                    } else {
                        do throws(FileIOError) {
                            try store.fileIO.rename(temporaryPath, target)
                        } catch {
                            throw StorageError.systemCall("rename", "\(temporaryPath) to \(target)", error)
                        }
                    }
                }
                do throws(FileIOError) {
                    try store.fileIO.syncDirectory(folder)
                } catch {
                    throw StorageError.systemCall("fsync directory", folder, error)
                }
            } catch {
                discard(&state, as: .failed)
                throw error
            }
            state.phase = .committed
        }
    }

    /// Abandons the upload and deletes its temporary file. Does nothing after `commit()`; safe to call twice.
    public func abort() {
        state.withLock { state in discard(&state, as: .aborted) }
    }

    private func requireReceiving(_ state: borrowing State, _ action: String) throws(StorageError) {
        guard state.phase == .receiving else {
            throw StorageError.invalidArgument("\(action) an upload for \(patient) that is \(state.phase.name)")
        }
    }

    /// Seals the pending plaintext as the next segment and writes it.
    private func sealPending(_ state: inout State, isFinal: Bool) throws(StorageError) {
        guard UInt64(state.segmentIndex) < RecordFileFormat.maxSegmentCount else {
            discard(&state, as: .failed)
            throw StorageError.invalidArgument("content for \(patient) exceeds the 4 PiB record limit")
        }
        let sealed = key.seal(
            state.pending, nonce: RecordFileFormat.nonce(prefix: noncePrefix, counter: state.segmentIndex),
            authenticating: RecordFileFormat.segmentAAD(index: state.segmentIndex, isFinal: isFinal, patient: patient))
        do throws(FileIOError) {
            try store.fileIO.writeAll(state.fd, sealed, at: state.fileOffset)
        } catch {
            discard(&state, as: .failed)
            throw StorageError.systemCall("pwrite", temporaryPath, error)
        }
        state.fileOffset += UInt64(sealed.count)
        state.segmentIndex += 1
        state.pending.removeAll(keepingCapacity: true)
    }

    /// Closes and deletes the temporary file unless committed, and moves to `phase`.
    private func discard(_ state: inout State, as phase: Phase) {
        switch state.phase {
        case .committed, .aborted, .failed: return
        case .receiving, .finished: break
        }
        if state.fd >= 0 {
            store.fileIO.close(state.fd)
            state.fd = -1
        }
        try? store.fileIO.unlink(temporaryPath)
        state.pending = []
        state.phase = phase
    }
}
