import Foundation
import HealthLedgerProtos
import LedgerCrypto

/// One line of an import journal: a file on its way to the node (`pending`, with the signed transaction, written
/// and fsynced before it is sent) or acknowledged by it (`imported`).
struct ImportJournalEntry: Equatable {
    /// Where the file's import stands.
    enum State: String {
        /// Signed and about to be sent; whether the node committed it is unknown until it is resubmitted.
        case pending
        /// Committed by the node.
        case imported
    }

    /// Where the file's import stands.
    var state: State
    /// The file's path as listed (relative to the directory, or as the manifest names it).
    var path: String
    /// Lowercase hex SHA-256 of the content.
    var sha256: String
    /// The content's size.
    var sizeBytes: UInt64
    /// The record id (the write transaction's id).
    var recordID: String
    /// The patient the record is for.
    var patient: String
    /// The record's category, by its command-line name.
    var category: String
    /// The signed write transaction, serialized (pending lines only), for resubmitting the very same bytes.
    var transaction: [UInt8] = []
    /// The block that committed it, when the node said (imported lines only; 0 when unknown).
    var blockHeight: UInt64 = 0

    /// The line's JSON object.
    var object: [String: Any] {
        var object: [String: Any] = [
            "state": state.rawValue, "path": path, "sha256": sha256, "size_bytes": sizeBytes, "record_id": recordID,
            "patient": patient, "category": category,
        ]
        if state == .pending { object["transaction"] = Data(transaction).base64EncodedString() }
        if state == .imported { object["block_height"] = blockHeight }
        return object
    }

    /// The entry a journal line holds, or nil when the line is not one.
    init?(line: Data) {
        guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
            let state = (object["state"] as? String).flatMap(State.init(rawValue:)),
            let path = object["path"] as? String, let sha256 = object["sha256"] as? String,
            let size = (object["size_bytes"] as? NSNumber)?.uint64Value, let recordID = object["record_id"] as? String
        else { return nil }
        self.state = state
        self.path = path
        self.sha256 = sha256
        sizeBytes = size
        self.recordID = recordID
        patient = object["patient"] as? String ?? ""
        category = object["category"] as? String ?? ""
        blockHeight = (object["block_height"] as? NSNumber)?.uint64Value ?? 0
        if state == .pending {
            guard let text = object["transaction"] as? String, let bytes = Data(base64Encoded: text) else { return nil }
            transaction = [UInt8](bytes)
        }
    }

    /// An entry with the given fields.
    init(
        state: State, path: String, sha256: String, sizeBytes: UInt64, recordID: String, patient: String,
        category: String, transaction: [UInt8] = [], blockHeight: UInt64 = 0
    ) {
        self.state = state
        self.path = path
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.recordID = recordID
        self.patient = patient
        self.category = category
        self.transaction = transaction
        self.blockHeight = blockHeight
    }

    static func == (left: Self, right: Self) -> Bool {
        left.state == right.state && left.path == right.path && left.sha256 == right.sha256
            && left.sizeBytes == right.sizeBytes && left.recordID == right.recordID && left.patient == right.patient
            && left.category == right.category && left.transaction == right.transaction
            && left.blockHeight == right.blockHeight
    }
}

/// What a re-run does with one file, decided from the journal alone (pure).
enum ImportDecision: Equatable {
    /// Not journalled: sign and send it.
    case send
    /// Imported before with this content: nothing to do.
    case skip(ImportJournalEntry)
    /// Sent before but not acknowledged: resubmit the journalled transaction (ALREADY_EXISTS means it committed).
    case resubmit(ImportJournalEntry)
    /// Journalled with other content: the file changed since; report it, never import it again silently.
    case changed(ImportJournalEntry)

    /// The decision for a file listed as `path` whose content now hashes to `sha256`, given the journal's latest
    /// entry for that path.
    static func decide(path: String, sha256: String, latest: ImportJournalEntry?) -> ImportDecision {
        guard let latest else { return .send }
        guard latest.sha256 == sha256 else { return .changed(latest) }
        return latest.state == .imported ? .skip(latest) : .resubmit(latest)
    }
}

/// An import's journal file: JSON lines appended as files are sent and acknowledged, read back on a re-run so
/// that nothing is imported twice. A pending line is fsynced before its transaction is sent; an imported line is
/// written at once and made durable by the next fsync (a pending line survives a crash in between, and its
/// resubmission answers ALREADY_EXISTS). One import uses it at a time, from one task: the client calls the closure
/// that journals a pending write before sending, never concurrently with anything else.
final class ImportJournal: @unchecked Sendable {
    /// The journal file's path.
    let path: String
    /// The latest entry of each path, from the file and this run.
    private(set) var latest: [String: ImportJournalEntry] = [:]
    private let descriptor: Int32
    private var unsynced = false

    /// Opens (creating, mode 0600) the journal at `path` and reads its entries; a last line cut short by a crash
    /// is cut off, any other line that does not parse is an error naming it.
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CommandFailure(
                .notFound, "cannot open the import journal \(path): \(String(cString: strerror(errno)))",
                hint: "check that its directory exists and is writable, or name another with --journal")
        }
        let data = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).readDataToEndOfFile()
        var end = 0
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let lineEnd = end + line.count
            let isComplete = lineEnd < data.count  // followed by a newline
            if line.isEmpty {
                if isComplete { end = lineEnd + 1 }
                continue
            }
            guard let entry = ImportJournalEntry(line: Data(line)) else {
                if !isComplete { break }  // torn by a crash mid-append: dropped below
                close(descriptor)
                throw CommandFailure(
                    .invalidInput, "the import journal \(path) has a damaged line \(lineNumber)",
                    hint: "it is not a journal this command wrote; name another with --journal")
            }
            if !isComplete { break }
            latest[entry.path] = entry
            end = lineEnd + 1
        }
        if end < data.count { _ = ftruncate(descriptor, off_t(end)) }
        lseek(descriptor, 0, SEEK_END)
    }

    deinit {
        sync()
        close(descriptor)
    }

    /// Journals that `entry`'s transaction is about to be sent, durably (fsync) before returning.
    func recordPending(_ entry: ImportJournalEntry) throws {
        try append(entry)
        try sync(throwing: true)
    }

    /// Journals that the node acknowledged `entry`; durable with the next pending line or at the end.
    func recordImported(_ entry: ImportJournalEntry) throws {
        try append(entry)
    }

    /// Makes everything written durable.
    func sync() { try? sync(throwing: false) }

    private func sync(throwing: Bool) throws {
        guard unsynced else { return }
        if fsync(descriptor) != 0 && throwing {
            throw CommandFailure(
                .failure, "cannot sync the import journal \(path): \(String(cString: strerror(errno)))",
                hint: "check the disk; nothing unjournalled was sent")
        }
        unsynced = false
    }

    private func append(_ entry: ImportJournalEntry) throws {
        var line = try JSONSerialization.data(
            withJSONObject: entry.object, options: [.sortedKeys, .withoutEscapingSlashes])
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw CommandFailure(
                .failure, "cannot append to the import journal \(path): \(String(cString: strerror(errno)))",
                hint: "check the disk has room; run again to resume")
        }
        latest[entry.path] = entry
        unsynced = true
    }
}
