import LedgerCrypto

/// A committed grant with what ListGrants shows about it. Its signed wire form and ledger entry bytes are not kept in
/// memory: they are in the block log, at `position`.
public struct GrantDetail: Sendable {
    /// Grant id: the Grant transaction's id.
    public var id: String
    /// Principal id of the patient whose data it is about.
    public var patient: String
    /// Principal id of the grantee, or "*" for everyone.
    public var grantee: String
    /// The DELEGATE grant it was made under, when a delegate signed it.
    public var delegationGrantID: String?
    /// Principal id of the signer.
    public var author: PrincipalID
    /// The transaction's created_at_unix_ms.
    public var createdAt: Int64
    /// The time of the block that committed it.
    public var committedAt: Int64
    /// Where its entry is in the chain.
    public var position: EntryPosition
    /// Transaction id of the Revoke that ended it.
    public var revokeTransactionID: String?
    /// Commit time of that Revoke.
    public var revokedAt: Int64?

    /// A grant detail from its parts.
    public init(
        id: String, patient: String, grantee: String, delegationGrantID: String?, author: PrincipalID,
        createdAt: Int64, committedAt: Int64, position: EntryPosition, revokeTransactionID: String? = nil,
        revokedAt: Int64? = nil
    ) {
        self.id = id
        self.patient = patient
        self.grantee = grantee
        self.delegationGrantID = delegationGrantID
        self.author = author
        self.createdAt = createdAt
        self.committedAt = committedAt
        self.position = position
        self.revokeTransactionID = revokeTransactionID
        self.revokedAt = revokedAt
    }
}

/// One committed grant as the table stores it: fixed width, no heap object. Principals are positions in the
/// table's name list.
struct GrantRow: Sendable {
    var id: TransactionDigest
    var blockHeight: UInt64
    var entryIndex: UInt64
    var createdAt: Int64
    var committedAt: Int64
    /// `Int64.min` while not revoked.
    var revokedAt: Int64
    var patient: UInt32
    var grantee: UInt32
    var author: UInt32
    /// Whether `GrantTable.delegations` names the grant it was made under.
    var isDelegated: Bool

    static let notRevoked = Int64.min
}

/// Every committed grant in commit order, indexed by id, in about 130 bytes per grant (the row, its index entry, a
/// share of the principal names). Rare extras (who revoked it, the delegation it was made under) sit in side tables.
public struct GrantTable: Sendable {
    private(set) var rows = ChunkedArray<GrantRow>()
    /// First 16 bytes of the id → row; unique, as the replay guard refuses a second transaction with the same 16.
    private var index = ShardedDictionary<TransactionKey, Int32>()
    /// Every principal id (and "*") a grant names, each once.
    private(set) var names = NameTable()
    /// Row → id of the Revoke transaction that ended it.
    private(set) var revokers: [Int32: TransactionDigest] = [:]
    /// Row → id of the DELEGATE grant it was made under.
    private(set) var delegations: [Int32: TransactionDigest] = [:]

    /// An empty table.
    public init() {}

    /// Number of grants.
    public var count: Int { rows.count }

    /// The grant with id `id`, nil when there is none.
    public subscript(id: String) -> GrantDetail? {
        guard let digest = TransactionDigest(hex: id), let row = row(of: digest) else { return nil }
        return detail(at: row)
    }

    /// The grant at `row` (commit order, 0 first).
    public func detail(at row: Int) -> GrantDetail {
        let stored = rows[row]
        return GrantDetail(
            id: stored.id.hex, patient: names[Int(stored.patient)], grantee: names[Int(stored.grantee)],
            delegationGrantID: stored.isDelegated ? delegations[Int32(row)]?.hex : nil,
            author: try! PrincipalID(parsing: names[Int(stored.author)]), createdAt: stored.createdAt,
            committedAt: stored.committedAt,
            position: EntryPosition(blockHeight: stored.blockHeight, entryIndex: stored.entryIndex),
            revokeTransactionID: revokers[Int32(row)]?.hex,
            revokedAt: stored.revokedAt == GrantRow.notRevoked ? nil : stored.revokedAt)
    }

    /// Principal id of the patient of the grant at `row`, without building the whole detail.
    public func patient(at row: Int) -> String { names[Int(rows[row].patient)] }

    /// Principal id (or "*") of the grantee of the grant at `row`.
    public func grantee(at row: Int) -> String { names[Int(rows[row].grantee)] }

    /// Principal id of the author of the grant at `row`.
    public func author(at row: Int) -> String { names[Int(rows[row].author)] }

    /// The id of the grant at `row`.
    func id(at row: Int) -> TransactionDigest { rows[row].id }

    /// Whether a grant's id starts with the 16 bytes of `key`.
    func contains(_ key: TransactionKey) -> Bool { index[key] != nil }

    func row(of digest: TransactionDigest) -> Int? {
        guard let row = index[digest.key], rows[Int(row)].id == digest else { return nil }
        return Int(row)
    }

    /// Adds a grant committed in a new block, or records the revocation of one already here.
    mutating func commit(_ detail: GrantDetail) {
        guard let digest = TransactionDigest(hex: detail.id) else {
            preconditionFailure("grant id \(detail.id) is not hex")
        }
        if let row = row(of: digest) {
            rows[row].revokedAt = detail.revokedAt ?? GrantRow.notRevoked
            revokers[Int32(row)] = detail.revokeTransactionID.flatMap(TransactionDigest.init(hex:))
            return
        }
        let delegation = detail.delegationGrantID.flatMap(TransactionDigest.init(hex:))
        append(
            GrantRow(
                id: digest, blockHeight: detail.position.blockHeight, entryIndex: detail.position.entryIndex,
                createdAt: detail.createdAt, committedAt: detail.committedAt,
                revokedAt: detail.revokedAt ?? GrantRow.notRevoked, patient: name(detail.patient),
                grantee: name(detail.grantee), author: name(detail.author.text), isDelegated: delegation != nil),
            revoker: detail.revokeTransactionID.flatMap(TransactionDigest.init(hex:)), delegation: delegation)
    }

    /// Appends a row (from a block or a snapshot) with its side-table entries.
    mutating func append(_ row: GrantRow, revoker: TransactionDigest?, delegation: TransactionDigest?) {
        let position = Int32(rows.count)
        index[row.id.key] = position
        rows.append(row)
        if let revoker { revokers[position] = revoker }
        if let delegation { delegations[position] = delegation }
    }

    /// The position of `name` in the name list, added if new.
    mutating func name(_ name: String) -> UInt32 { names.position(of: name) }

    /// Sizes the table for `grants` grants and `names` names (from a snapshot's counts).
    mutating func reserveCapacity(grants: Int, names: Int) {
        rows.reserveCapacity(grants)
        index.reserveCapacity(grants)
        self.names.reserveCapacity(names)
    }
}
