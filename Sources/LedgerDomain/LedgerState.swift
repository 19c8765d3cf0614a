import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import MerkleLog

/// One key a principal has signed with.
public struct KeyState: Sendable {
    public var key: SigningPublicKey
    public var owner: PrincipalID
    public var addedAtHeight: UInt64
    public var retiredAtHeight: UInt64?
}

/// What the ledger knows about a principal.
public struct PrincipalState: Sendable {
    public var id: PrincipalID
    /// Key ids, oldest first.
    public var keyIDs: [String]
    public var currentKeyID: String
    /// The sequence number the principal's next transaction must carry.
    public var nextSequence: UInt64
}

/// Where an entry sits: its block and log index.
public struct EntryPosition: Sendable, Hashable {
    public var blockHeight: UInt64
    public var entryIndex: UInt64

    /// The entry `entryIndex`, in the block at `blockHeight`.
    public init(blockHeight: UInt64, entryIndex: UInt64) {
        self.blockHeight = blockHeight
        self.entryIndex = entryIndex
    }

    /// The wire form.
    public var wire: Healthledger_V1_EntryLocation {
        var location = Healthledger_V1_EntryLocation()
        location.blockHeight = blockHeight
        location.entryIndex = entryIndex
        return location
    }
}

/// A committed audit event with the exact entry bytes that carry it.
public struct AuditEntry: Sendable {
    public var event: Healthledger_V1_AuditEvent
    public var ledgerEntry: [UInt8]
}

/// A committed block: its signed header and the checkpoint at its end.
public struct BlockSummary: Sendable {
    public var header: Healthledger_V1_BlockHeader
    public var signedHeader: Healthledger_V1_SignedBlockHeader
    public var checkpoint: Healthledger_V1_SignedCheckpoint
}

/// A compact, hashable form of a transaction id for the replay guard.
public struct TransactionKey: Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The key of the transaction whose body hashes to `digest` (32 bytes).
    public init(digest: [UInt8]) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(digest[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(digest[index]) }
        self.high = high
        self.low = low
    }

    /// The 16 bytes the key holds (the first 16 bytes of the transaction id).
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
}

/// The committed ledger: every durable block applied, in order. Changed only by `commit(_:)` with a draft built
/// on it, so readers always see a state that is entirely on disk.
///
/// Copying a state is cheap (the snapshot writer takes one): the large collections are chunked or sharded, so the
/// committer's next change after a copy duplicates a chunk or a shard, not the whole collection.
public struct LedgerState: Sendable {
    public let chainID: String
    public internal(set) var blocks = BlockTable()
    public internal(set) var lastBlockHash: [UInt8] = Array(repeating: 0, count: 32)
    /// Every entry's leaf hash; may run ahead of `treeSize` while a block is being written.
    public internal(set) var tree = MerkleTree()
    /// Number of durable log entries.
    public internal(set) var treeSize: UInt64 = 0
    public internal(set) var principals = ShardedDictionary<PrincipalID, PrincipalState>()
    /// Keys by key id.
    public internal(set) var keys = ShardedDictionary<String, KeyState>()
    /// Policies by patient.
    public internal(set) var policies = ShardedDictionary<String, PatientPolicy>()
    /// Every grant, in commit order.
    public internal(set) var grants = GrantTable()
    /// Every record, in commit order.
    public internal(set) var records = RecordTable()
    public internal(set) var emergencyAccesses: [String: EmergencyAccessRule] = [:]
    /// The replay guard of every committed transaction other than a grant (the grant table indexes those); ask
    /// `isCommitted(_:)`.
    public internal(set) var committedTransactions = TransactionGuard()
    /// The log index of every audit event; the event with sequence s is at index s - 1. The events themselves stay in
    /// the block log (the node reads them back), so the trail costs 16 bytes of memory per event with the index below.
    public internal(set) var auditEntryIndexes = ChunkedArray<UInt64>()
    /// Audit sequence numbers per patient, ascending.
    public internal(set) var auditByPatient: [String: [UInt64]] = [:]

    /// An empty ledger for `chainID`.
    public init(chainID: String) {
        self.chainID = chainID
    }

    /// Height of the latest block (0 before the first).
    public var height: UInt64 { UInt64(blocks.count) }
    /// Time of the latest block (0 before the first).
    public var lastBlockTime: Int64 { blocks.isEmpty ? 0 : blocks.time(at: blocks.count - 1) }
    /// The latest audit sequence number (0 before the first event).
    public var auditSequence: UInt64 { UInt64(auditEntryIndexes.count) }

    /// Whether the transaction with this key is committed (the replay guard).
    public func isCommitted(_ key: TransactionKey) -> Bool {
        grants.contains(key) || committedTransactions.contains(key)
    }
}
