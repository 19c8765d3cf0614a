import Glibc
import LedgerCrypto
import Synchronization

/// Off-chain record contents, content-addressed by SHA-256, encrypted at rest with a per-patient data key, and
/// durable before the transaction that refers to them commits.
///
/// Directory layout (docs/DATA_DIRECTORY.md): `keys/<patient>.key` (the patient's data key, wrapped by the node's
/// master key), `records/<patient>/<sha256 hex>` (encrypted content, `RecordFileFormat`), `tmp/` (uploads in
/// progress and keys being written; emptied by `open`). Erasing a patient (`eraseAll`) deletes the key first:
/// from then on every record of that patient is `.notFound`, whatever files remain.
///
/// Thread-safe: any number of uploads and reads may run at once from different tasks. Each patient's key, the
/// commit of a record into its folder and an erasure are serialized per patient; patients do not wait on each
/// other. One store per directory: another process using the same directory at the same time is not detected.
///
/// Contents of at most `smallContentLimit` bytes read through `smallContent` stay in memory as plaintext (up to the
/// cache size given to `open`), so a record read again is not decrypted again; erasing content drops it from
/// memory too, before the erasure returns.
public final class RecordContentStore: Sendable {
    /// The largest content `smallContent` keeps in memory.
    public static let smallContentLimit = 64 << 10
    /// The default bound of the plaintext kept in memory by `smallContent`.
    public static let defaultContentCacheBytes = 32 << 20

    /// The store's directory.
    public let directory: String
    let fileIO: FileIO
    private let masterKey: AES256GCM
    private let patients = Mutex<[String: PatientKeySlot]>([:])
    /// Taken after a patient's lock when both are held (erasure, caching a content read), never before it.
    let contentCache: Mutex<ContentCache>

    private init(directory: String, masterKey: AES256GCM, fileIO: FileIO, contentCacheBytes: Int) {
        self.directory = directory
        self.masterKey = masterKey
        self.fileIO = fileIO
        contentCache = Mutex(ContentCache(capacity: contentCacheBytes))
    }

    /// Opens the store in `directory`, creating it and its folders (mode 0700) if missing, deleting temporary files
    /// a crash left behind and the content of patients whose erasure a crash cut short. `masterKey` (32 bytes)
    /// wraps every patient's data key; if keys exist and none of the first few opens with it, `.invalidArgument`.
    /// `contentCacheBytes` bounds the plaintext `smallContent` keeps in memory (0: none).
    public static func open(
        directory: String, masterKey: [UInt8], fileIO: FileIO = .system,
        contentCacheBytes: Int = defaultContentCacheBytes
    ) throws(StorageError) -> RecordContentStore {
        let master: AES256GCM
        do throws(CryptoKeyError) {
            master = try AES256GCM(key: masterKey)
        } catch {
            throw StorageError.invalidArgument(
                "record store master key must be \(AES256GCM.keyByteCount) bytes, got \(masterKey.count)")
        }
        let store = RecordContentStore(
            directory: directory, masterKey: master, fileIO: fileIO, contentCacheBytes: contentCacheBytes)
        try fileIO.ensureDirectories(directory)
        for folder in [store.keysDirectory, store.recordsDirectory, store.temporaryDirectory] {
            try fileIO.ensureDirectory(folder)
        }
        for name in try FileSystem.entries(of: store.temporaryDirectory) {
            let path = "\(store.temporaryDirectory)/\(name)"
            do throws(FileIOError) {
                try fileIO.unlink(path)
            } catch {
                throw StorageError.systemCall("unlink leftover temporary file", path, error)
            }
        }
        for patient in try FileSystem.entries(of: store.recordsDirectory)
        where isUsablePatientID(patient) && !FileSystem.exists(store.keyPath(patient)) {
            try store.removeRecordDirectory(patient)
        }
        try store.checkMasterKey()
        return store
    }

    /// Starts an upload of one record's content for `patient`, creating the patient's data key on their first
    /// record. Write the plaintext with `append`, then `finish()`, compare hash and size with the signed
    /// metadata, and `commit()` before committing the transaction.
    public func beginUpload(patient: String) throws(StorageError) -> ContentUpload {
        try Self.validate(patient)
        let (slot, key, generation) = try dataKey(for: patient, creating: true)!
        let path = temporaryPath("upload")
        let fd: Int32
        do throws(FileIOError) {
            fd = try fileIO.open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        } catch {
            throw StorageError.systemCall("create", path, error)
        }
        return ContentUpload(
            store: self, patient: patient, slot: slot, generation: generation, key: key, fd: fd, temporaryPath: path)
    }

    /// Opens the record of `patient` whose plaintext hashes to `sha256`, for reading in segments. Throws
    /// `.notFound` when there is no such record or the patient's key was erased, and `.dataLoss` when the file's
    /// header does not authenticate, names another record, or the file's length does not match it (truncated).
    public func openContent(patient: String, sha256: [UInt8]) throws(StorageError) -> ContentReader {
        try Self.validate(patient)
        try Self.validate(sha256: sha256)
        let name = "record \(Hex.encode(sha256)) of \(patient)"
        guard let (_, key, _) = try dataKey(for: patient, creating: false) else {
            throw StorageError.notFound("\(name): the patient has no data key (nothing written, or erased)")
        }
        let path = recordPath(patient, sha256)
        let fd: Int32
        do throws(FileIOError) {
            fd = try fileIO.open(path, O_RDONLY, 0)
        } catch  where error.code == ENOENT {
            throw StorageError.notFound("\(name): no such record")
        } catch {
            throw StorageError.systemCall("open", path, error)
        }
        do throws(StorageError) {
            let fileSize = try FileSystem.size(of: fd, path: path)
            let header: [UInt8]
            do throws(FileIOError) {
                header = try fileIO.read(fd, count: RecordFileFormat.headerSize, at: 0)
            } catch {
                throw StorageError.systemCall("pread", path, error)
            }
            let (noncePrefix, size) = try Self.openHeader(
                header, key: key, patient: patient, sha256: sha256, fileSize: fileSize, name: name)
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
            return ContentReader(
                patient: patient, sha256: sha256, size: size, name: name, path: path, key: key,
                noncePrefix: noncePrefix, fd: fd, fileIO: fileIO)
        } catch {
            fileIO.close(fd)
            throw error
        }
    }

    /// The whole plaintext of the record of `patient` whose plaintext hashes to `sha256`, for content of at most
    /// `smallContentLimit` bytes: from memory when it was read before, otherwise read and checked as `openContent`
    /// and its reader do (and with their errors), then kept in memory unless the content was erased meanwhile.
    /// Larger content is read whole all the same, but not kept.
    public func smallContent(patient: String, sha256: [UInt8]) throws(StorageError) -> [UInt8] {
        if let cached = contentCache.withLock({ $0.content(patient: patient, sha256: sha256) }) { return cached }
        try Self.validate(patient)
        try Self.validate(sha256: sha256)
        // Captured before the file is read: an erasure after this point bumps it, and the read is not kept.
        guard let slot = existingSlot(for: patient) else {
            throw StorageError.notFound(
                "record \(Hex.encode(sha256)) of \(patient): the patient has no data key (nothing written, or erased)")
        }
        let erasuresBefore = slot.state.withLock { $0.erasures }
        let reader = try openContent(patient: patient, sha256: sha256)
        var content: [UInt8] = []
        while let segment = try reader.next() {
            if content.isEmpty { content = segment } else { content += segment }
        }
        if content.count <= Self.smallContentLimit {
            slot.state.withLock { state in
                guard state.erasures == erasuresBefore else { return }
                contentCache.withLock { $0.insert(content, patient: patient, sha256: sha256) }
            }
        }
        return content
    }

    /// Whether a record of `patient` with content hash `sha256` is stored and its patient's key is present.
    /// (It may still fail to read if the file was damaged.)
    public func contains(patient: String, sha256: [UInt8]) -> Bool {
        guard Self.isUsablePatientID(patient), sha256.count == SHA256.byteCount else { return false }
        guard (try? dataKey(for: patient, creating: false)) != nil else { return false }
        return FileSystem.exists(recordPath(patient, sha256))
    }

    /// Crypto-shreds `patient`'s data: deletes the data key durably (from then on every record of the patient is
    /// `.notFound`), then the record files and their folder. Uploads in progress for the patient fail at
    /// `commit()`; a reader already open keeps reading. The patient's next upload creates a new key.
    /// Returns how many record files were deleted.
    @discardableResult
    public func eraseAll(patient: String) throws(StorageError) -> Int {
        try Self.validate(patient)
        let slot = self.slot(for: patient)
        return try slot.state.withLock { state throws(StorageError) -> Int in
            state.key = nil
            state.isLoaded = false
            state.generation += 1
            state.erasures += 1
            state.recordDirectoryExists = false
            contentCache.withLock { $0.removeAll(patient: patient) }
            let path = keyPath(patient)
            do throws(FileIOError) {
                try fileIO.unlink(path)
            } catch  where error.code == ENOENT {
                // No key: nothing was ever written, or an earlier erasure got this far.
            } catch {
                throw StorageError.systemCall("unlink", path, error)
            }
            do throws(FileIOError) {
                try fileIO.syncDirectory(keysDirectory)
            } catch {
                throw StorageError.systemCall("fsync directory", keysDirectory, error)
            }
            state.isLoaded = true
            return try removeRecordDirectory(patient)
        }
    }

    // MARK: - Paths

    var keysDirectory: String { "\(directory)/keys" }
    var recordsDirectory: String { "\(directory)/records" }
    var temporaryDirectory: String { "\(directory)/tmp" }

    func keyPath(_ patient: String) -> String { "\(keysDirectory)/\(patient).key" }
    func recordDirectory(_ patient: String) -> String { "\(recordsDirectory)/\(patient)" }
    func recordPath(_ patient: String, _ sha256: [UInt8]) -> String {
        "\(recordDirectory(patient))/\(Hex.encode(sha256))"
    }
    func temporaryPath(_ kind: String) -> String {
        "\(temporaryDirectory)/\(kind)-\(Hex.encode(SecureRandom.bytes(12)))"
    }

    // MARK: - Data keys

    private func slot(for patient: String) -> PatientKeySlot {
        patients.withLock { slots in
            if let slot = slots[patient] { return slot }
            let slot = PatientKeySlot()
            slots[patient] = slot
            return slot
        }
    }

    /// Runs `body` with `patient`'s state, holding the patient's lock, which serializes key creation, commits into
    /// the patient's folder and erasures.
    func withPatientState<Result>(
        _ patient: String, _ body: (inout PatientKeySlot.State) throws(StorageError) -> Result
    ) throws(StorageError) -> Result {
        try slot(for: patient).state.withLock { state throws(StorageError) in try body(&state) }
    }

    /// The patient's slot if the store knows the patient or a key file exists; nil otherwise, so lookups of
    /// unknown patients leave nothing behind in memory.
    private func existingSlot(for patient: String) -> PatientKeySlot? {
        patients.withLock { slots in
            if let slot = slots[patient] { return slot }
            guard FileSystem.exists(keyPath(patient)) else { return nil }
            let slot = PatientKeySlot()
            slots[patient] = slot
            return slot
        }
    }

    /// The patient's slot, data key and key generation, loading the key from disk the first time; with
    /// `creating`, a patient without a key gets a new one (written durably first). Nil if there is no key.
    func dataKey(for patient: String, creating: Bool) throws(StorageError)
        -> (slot: PatientKeySlot, key: AES256GCM, generation: UInt64)?
    {
        guard let slot = creating ? self.slot(for: patient) : existingSlot(for: patient) else { return nil }
        let found = try slot.state.withLock { state throws(StorageError) -> (AES256GCM, UInt64)? in
            if !state.isLoaded {
                state.key = try loadKey(patient)
                state.isLoaded = true
            }
            if state.key == nil, creating {
                state.key = try createKey(patient)
            }
            return state.key.map { ($0, state.generation) }
        }
        return found.map { (slot, $0.0, $0.1) }
    }

    private func loadKey(_ patient: String) throws(StorageError) -> AES256GCM? {
        let path = keyPath(patient)
        let file: [UInt8]
        do throws(FileIOError) {
            let fd = try fileIO.open(path, O_RDONLY, 0)
            defer { fileIO.close(fd) }
            file = try fileIO.read(fd, count: DataKeyFile.size + 1, at: 0)
        } catch  where error.code == ENOENT {
            return nil
        } catch {
            throw StorageError.systemCall("read", path, error)
        }
        let dataKey = try DataKeyFile.decode(file, patient: patient, masterKey: masterKey, path: path)
        return try! AES256GCM(key: dataKey)
    }

    private func createKey(_ patient: String) throws(StorageError) -> AES256GCM {
        let dataKey = SecureRandom.bytes(AES256GCM.keyByteCount)
        let file = DataKeyFile.encode(dataKey: dataKey, patient: patient, masterKey: masterKey)
        try fileIO.writeAtomically(
            { fd throws(FileIOError) in try fileIO.writeAll(fd, file, at: 0) }, to: keyPath(patient),
            temporaryPath: temporaryPath("key"))
        return try! AES256GCM(key: dataKey)
    }

    /// Refuses a master key that opens none of the first few key files: a node started with the wrong key would
    /// otherwise report every record as lost.
    private func checkMasterKey() throws(StorageError) {
        let samples = try FileSystem.entries(of: keysDirectory).filter { $0.hasSuffix(".key") }.prefix(3)
        guard !samples.isEmpty else { return }
        var firstFailure: StorageError?
        for name in samples {
            let patient = String(name.dropLast(".key".count))
            guard Self.isUsablePatientID(patient) else { continue }
            do throws(StorageError) {
                _ = try loadKey(patient)
                return
            } catch {
                if error.kind != .dataLoss { throw error }
                firstFailure = firstFailure ?? error
            }
        }
        if let firstFailure {
            throw StorageError.invalidArgument("record store \(directory): wrong master key? \(firstFailure.reason)")
        }
    }

    /// Deletes every file in `records/<patient>/` and the folder, durably; the number of files deleted.
    @discardableResult
    private func removeRecordDirectory(_ patient: String) throws(StorageError) -> Int {
        let folder = recordDirectory(patient)
        guard FileSystem.isDirectory(folder) else { return 0 }
        let names = try FileSystem.entries(of: folder)
        for name in names {
            do throws(FileIOError) {
                try fileIO.unlink("\(folder)/\(name)")
            } catch  where error.code == ENOENT {
            } catch {
                throw StorageError.systemCall("unlink", "\(folder)/\(name)", error)
            }
        }
        do throws(FileIOError) {
            try fileIO.removeDirectory(folder)
            try fileIO.syncDirectory(recordsDirectory)
        } catch {
            throw StorageError.systemCall("removing", folder, error)
        }
        return names.count
    }

    // MARK: - Validation

    /// Whether `patient` is safe as a file name: 1-128 of A-Z a-z 0-9 . _ -, not starting with a dot.
    static func isUsablePatientID(_ patient: String) -> Bool {
        let bytes = patient.utf8
        guard (1...128).contains(bytes.count), bytes.first != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    static func validate(_ patient: String) throws(StorageError) {
        guard isUsablePatientID(patient) else {
            throw StorageError.invalidArgument(
                "patient id \"\(patient.prefix(140))\" is not usable as a file name "
                    + "(1-128 of A-Z a-z 0-9 . _ -, not starting with a dot)")
        }
    }

    static func validate(sha256: [UInt8]) throws(StorageError) {
        guard sha256.count == SHA256.byteCount else {
            throw StorageError.invalidArgument("record address must be a 32-byte SHA-256, got \(sha256.count) bytes")
        }
    }

    /// Checks a record file's header against the address it was opened by; its nonce prefix and content size.
    private static func openHeader(
        _ header: [UInt8], key: AES256GCM, patient: String, sha256: [UInt8], fileSize: UInt64, name: String
    ) throws(StorageError) -> (noncePrefix: [UInt8], size: UInt64) {
        typealias Format = RecordFileFormat
        guard header.count == Format.headerSize else {
            throw StorageError.dataLoss("\(name): file of \(fileSize) bytes is shorter than a record header")
        }
        guard Array(header.prefix(Format.magic.count)) == Format.magic, header[Format.magic.count] == Format.version
        else {
            throw StorageError.dataLoss("\(name): not a version-1 HealthLedger record file")
        }
        let prefixStart = Format.magic.count + 1
        let noncePrefix = Array(header[prefixStart..<prefixStart + Format.noncePrefixSize])
        let address: [UInt8]
        do throws(AES256GCM.AuthenticationFailure) {
            address = try key.open(
                Array(header[(prefixStart + Format.noncePrefixSize)...]),
                nonce: Format.nonce(prefix: noncePrefix, counter: Format.addressCounter),
                authenticating: Format.addressAAD(patient: patient))
        } catch {
            throw StorageError.dataLoss(
                "\(name): header fails authentication (damaged, or a file of another patient or key)")
        }
        guard Array(address.prefix(SHA256.byteCount)) == sha256 else {
            throw StorageError.dataLoss(
                "\(name): the file holds record \(Hex.encode(address.prefix(SHA256.byteCount))) (moved or renamed)")
        }
        let size = Format.littleEndianValue(address[SHA256.byteCount...])
        let expected = Format.fileSize(contentSize: size)
        guard fileSize == expected else {
            throw StorageError.dataLoss(
                "\(name): file has \(fileSize) bytes, its \(size)-byte content needs \(expected) (truncated or extended)"
            )
        }
        return (noncePrefix, size)
    }
}

/// One patient's data key as the store knows it, and the lock that serializes key creation, commits into the
/// patient's folder and erasure.
final class PatientKeySlot: Sendable {
    struct State {
        var key: AES256GCM?
        /// Whether `key` reflects the key file (so a nil key means there is none).
        var isLoaded = false
        /// Bumped by every erasure, so an upload begun before it cannot commit after it.
        var generation: UInt64 = 0
        /// Bumped by every erasure of the patient's content (one record's or all), so a read begun before it is
        /// not kept in memory after it.
        var erasures: UInt64 = 0
        var recordDirectoryExists = false
    }

    let state = Mutex(State())
}
