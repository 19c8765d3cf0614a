import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto

/// A committed record as decisions and content reads need it. Its content lives in the off-chain store; its full
/// metadata (media type, labels, what it amends) is in its signed entry in the block log at `position`
/// (`RecordEntry.metadata(inLedgerEntry:)` reads it back).
public struct RecordEntry: Sendable {
    /// Record id: the Write transaction's id.
    public var id: String
    /// Principal id of the patient the record is about.
    public var patient: String
    public var category: DataCategory
    public var author: PrincipalID
    /// The transaction's created_at_unix_ms.
    public var createdAt: Int64
    /// The record's clinical date (metadata effective_at_unix_ms), which grants' record dates apply to.
    public var effectiveAt: Int64
    /// SHA-256 of the content, 32 bytes: the content store's key.
    public var contentSha256: [UInt8]
    public var sizeBytes: UInt64
    public var position: EntryPosition
    public var contentErased: Bool

    /// A record from its parts.
    public init(
        id: String, patient: String, category: DataCategory, author: PrincipalID, createdAt: Int64,
        effectiveAt: Int64, contentSha256: [UInt8], sizeBytes: UInt64, position: EntryPosition,
        contentErased: Bool
    ) {
        self.id = id
        self.patient = patient
        self.category = category
        self.author = author
        self.createdAt = createdAt
        self.effectiveAt = effectiveAt
        self.contentSha256 = contentSha256
        self.sizeBytes = sizeBytes
        self.position = position
        self.contentErased = contentErased
    }

    /// The record a Write entry carries (its `LedgerEntry` bytes); nil when the entry holds no valid Write.
    public static func written(inLedgerEntry bytes: [UInt8], at position: EntryPosition, contentErased: Bool)
        -> RecordEntry?
    {
        guard let (signedBody, body, metadata) = writeTransaction(inLedgerEntry: bytes),
            let author = try? PrincipalID(parsing: body.author),
            let category = DataCategory(rawValue: UInt8(clamping: metadata.category.rawValue)),
            metadata.contentSha256.count == 32
        else { return nil }
        return RecordEntry(
            id: Hex.encode(SHA256.hash(signedBody)), patient: metadata.patient, category: category, author: author,
            createdAt: body.createdAtUnixMs, effectiveAt: metadata.effectiveAtUnixMs,
            contentSha256: metadata.contentSha256, sizeBytes: metadata.sizeBytes, position: position,
            contentErased: contentErased)
    }

    /// The metadata the Write entry `bytes` carries, nil when it carries no Write transaction.
    public static func metadata(inLedgerEntry bytes: [UInt8]) -> Healthledger_V1_RecordMetadata? {
        writeTransaction(inLedgerEntry: bytes)?.metadata
    }

    /// The signed body bytes, decoded body and metadata of the Write transaction in a `LedgerEntry`.
    private static func writeTransaction(inLedgerEntry bytes: [UInt8])
        -> (signedBody: [UInt8], body: Healthledger_V1_TransactionBody, metadata: Healthledger_V1_RecordMetadata)?
    {
        guard let entry = try? Healthledger_V1_LedgerEntry(serializedBytes: bytes),
            case .transaction(let signed)? = entry.entry,
            let body = try? Healthledger_V1_TransactionBody(serializedBytes: signed.body),
            case .writeRecord(let metadata)? = body.operation
        else { return nil }
        return (signed.body, body, metadata)
    }
}

/// One committed record as the table stores it: fixed width, no heap object. Principals are positions in the
/// table's name list.
public struct RecordRow: Sendable {
    /// The record id.
    public internal(set) var id: TransactionDigest
    var contentSha256: TransactionDigest
    var blockHeight: UInt64
    var entryIndex: UInt64
    var createdAt: Int64
    /// The record's clinical date.
    public internal(set) var effectiveAt: Int64
    var sizeBytes: UInt64
    var patient: UInt32
    var author: UInt32
    /// The record's category.
    public internal(set) var category: DataCategory
    /// Whether its content was erased.
    public internal(set) var contentErased: Bool
}

/// Every committed record in commit order, indexed by id and by patient, in about 170 bytes per record (the row,
/// its index entries, a share of the principal names). What only the wire form needs stays in the block log.
public struct RecordTable: Sendable {
    private(set) var rows = ChunkedArray<RecordRow>()
    /// First 16 bytes of the id → row; unique, as the replay guard refuses a second transaction with the same 16.
    private var index = ShardedDictionary<TransactionKey, Int32>()
    /// Every principal id a record names, each once.
    private(set) var names = NameTable()
    /// Patient (name position) → their records' rows, in commit order.
    private var rowsByPatient: [UInt32: [Int32]] = [:]
    /// Patients (name positions) with at least one erased record, for the start-up sweep of erased content.
    private(set) var patientsWithErasures: Set<UInt32> = []

    /// An empty table.
    public init() {}

    /// Number of records.
    public var count: Int { rows.count }

    /// Whether there are no records.
    public var isEmpty: Bool { rows.isEmpty }

    /// The record with id `id`, nil when there is none.
    public subscript(id: String) -> RecordEntry? {
        guard let digest = TransactionDigest(hex: id), let row = row(of: digest) else { return nil }
        return entry(at: row)
    }

    /// The record at `row` (commit order, 0 first).
    public func entry(at row: Int) -> RecordEntry {
        let stored = rows[row]
        return RecordEntry(
            id: stored.id.hex, patient: names[Int(stored.patient)], category: stored.category,
            author: try! PrincipalID(parsing: names[Int(stored.author)]), createdAt: stored.createdAt,
            effectiveAt: stored.effectiveAt, contentSha256: stored.contentSha256.bytes, sizeBytes: stored.sizeBytes,
            position: EntryPosition(blockHeight: stored.blockHeight, entryIndex: stored.entryIndex),
            contentErased: stored.contentErased)
    }

    /// The stored row at `row`, for filters that need not build the whole entry.
    public func row(at row: Int) -> RecordRow { rows[row] }

    /// Rows of `patient`'s records, in commit order.
    public func rows(of patient: String) -> [Int32] {
        guard let name = names.position(ofExisting: patient) else { return [] }
        return rowsByPatient[name] ?? []
    }

    /// Records of `patient`, in commit order.
    public func entries(of patient: String) -> [RecordEntry] {
        rows(of: patient).map { entry(at: Int($0)) }
    }

    /// Patients with at least one erased record.
    public var patientsWithErasedRecords: [String] { patientsWithErasures.map { names[Int($0)] } }

    /// Whether a not erased record of `patient` points at the content `sha256`.
    public func isContentLive(patient: String, sha256: [UInt8]) -> Bool {
        guard sha256.count == 32 else { return false }
        let digest = TransactionDigest(bytes: sha256)
        return rows(of: patient).contains { !rows[Int($0)].contentErased && rows[Int($0)].contentSha256 == digest }
    }

    func row(of digest: TransactionDigest) -> Int? {
        guard let row = index[digest.key], rows[Int(row)].id == digest else { return nil }
        return Int(row)
    }

    /// Adds a record committed in a new block, or marks the content of one already here erased.
    mutating func commit(_ record: RecordEntry) {
        guard let digest = TransactionDigest(hex: record.id) else {
            preconditionFailure("record id \(record.id) is not hex")
        }
        if let row = row(of: digest) {
            guard record.contentErased, !rows[row].contentErased else { return }
            rows[row].contentErased = true
            patientsWithErasures.insert(rows[row].patient)
            return
        }
        precondition(record.contentSha256.count == 32, "record \(record.id): content_sha256 is not 32 bytes")
        append(
            RecordRow(
                id: digest, contentSha256: TransactionDigest(bytes: record.contentSha256),
                blockHeight: record.position.blockHeight, entryIndex: record.position.entryIndex,
                createdAt: record.createdAt, effectiveAt: record.effectiveAt, sizeBytes: record.sizeBytes,
                patient: name(record.patient), author: name(record.author.text), category: record.category,
                contentErased: record.contentErased))
    }

    /// Appends a row (from a block or a snapshot).
    mutating func append(_ row: RecordRow) {
        let position = Int32(rows.count)
        index[row.id.key] = position
        rows.append(row)
        rowsByPatient[row.patient, default: []].append(position)
        if row.contentErased { patientsWithErasures.insert(row.patient) }
    }

    /// The position of `name` in the name list, added if new.
    mutating func name(_ name: String) -> UInt32 { names.position(of: name) }

    /// Sizes the table for `records` records and `names` names (from a snapshot's counts).
    mutating func reserveCapacity(records: Int, names: Int) {
        rows.reserveCapacity(records)
        index.reserveCapacity(records)
        self.names.reserveCapacity(names)
    }
}
