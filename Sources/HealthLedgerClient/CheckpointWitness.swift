import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import ProtobufWire

/// What a client knows of a chain between calls, so it can tell when a node rewrites or forks history: the node keys
/// it pinned, the newest checkpoint it trusts, and the older checkpoints already proven to be prefixes of it. Checks
/// signatures, chain ids, entries' inclusion and checkpoints' consistency; the consistency proofs themselves are
/// fetched by the caller. Pure: no I/O.
public struct CheckpointWitness: Sendable {
    /// The chain being followed.
    public let chainID: String
    /// The node keys checkpoints must be signed with, by key id.
    public private(set) var pinnedKeys: [String: PinnedNodeKey]
    /// The newest checkpoint trusted; nil before the first one.
    public private(set) var latest: TrustedCheckpoint?
    /// Roots of the checkpoints proven consistent with `latest`, by tree size; what `latest` itself states is here too.
    private var provenRoots: [UInt64: [UInt8]] = [:]
    /// Signed checkpoints whose signature already verified (events of one block share one), by signature bytes.
    private var verifiedSignatures: [[UInt8]: [UInt8]] = [:]
    /// Beyond this many remembered signatures or roots the caches start afresh: bounded memory on a long follow.
    private static let cacheLimit = 4096

    /// A witness for `chainID` trusting `pinnedKeys` (from configuration, or pinned earlier) and, when given, the
    /// checkpoint remembered from an earlier run.
    public init(chainID: String, pinnedKeys: [PinnedNodeKey] = [], latest: TrustedCheckpoint? = nil) {
        self.chainID = chainID
        self.pinnedKeys = Dictionary(pinnedKeys.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        self.latest = latest
        if let latest { provenRoots[latest.treeSize] = latest.rootHash }
    }

    /// Pins `nodeKeys` (GetChainHead.node_keys) when no key is pinned yet: trust on first use. Keys already pinned
    /// are kept; a node's new keys are not trusted silently. Returns whether keys were pinned now.
    @discardableResult
    public mutating func pinOnFirstUse(_ nodeKeys: [Healthledger_V1_NodeKey]) throws(HistoryVerificationError) -> Bool {
        guard pinnedKeys.isEmpty else { return false }
        var keys: [String: PinnedNodeKey] = [:]
        for record in nodeKeys {
            let key = try PinnedNodeKey(record)
            keys[key.keyID] = key
        }
        guard !keys.isEmpty else { throw HistoryVerificationError(.malformed, "the node states no node key to pin") }
        pinnedKeys = keys
        return true
    }

    /// Checks that `signed` names this chain and is validly signed by a pinned key in force at its height; a
    /// checkpoint seen before is not verified again.
    public mutating func checkSignature(_ signed: Healthledger_V1_SignedCheckpoint) throws(HistoryVerificationError)
        -> TrustedCheckpoint
    {
        let checkpoint: Healthledger_V1_Checkpoint
        do { checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: signed.checkpoint) } catch {
            throw HistoryVerificationError(.malformed, "a checkpoint the node sent does not decode: \(error)")
        }
        guard checkpoint.chainId == chainID else {
            throw HistoryVerificationError(
                .wrongChain, "the node sent a checkpoint of chain \(checkpoint.chainId), not of chain \(chainID)")
        }
        let trusted = TrustedCheckpoint(checkpoint: checkpoint, signed: signed)
        if verifiedSignatures[signed.signature] == signed.checkpoint { return trusted }
        guard let key = pinnedKeys[signed.nodeKeyId] else {
            throw HistoryVerificationError(
                .unknownNodeKey,
                "checkpoint \(trusted.summary) is signed by node key \(Self.short(signed.nodeKeyId)), which is not "
                    + "pinned (pinned: \(pinnedKeys.keys.sorted().map(Self.short).joined(separator: ", ")))")
        }
        guard key.isInForce(atHeight: checkpoint.blockHeight) else {
            throw HistoryVerificationError(
                .unknownNodeKey,
                "checkpoint \(trusted.summary) is signed by node key \(Self.short(key.keyID)), which is not in "
                    + "force at block \(checkpoint.blockHeight)")
        }
        let message = ContextLabel.message(context: ContextLabel.checkpoint, payload: signed.checkpoint)
        guard key.publicKey.isValidSignature(signed.signature, for: message) else {
            throw HistoryVerificationError(
                .badSignature, "the signature of checkpoint \(trusted.summary) does not verify")
        }
        if verifiedSignatures.count >= Self.cacheLimit { verifiedSignatures.removeAll() }
        verifiedSignatures[signed.signature] = signed.checkpoint
        return trusted
    }

    /// Checks that `entry` (LedgerEntry bytes) is leaf `proof.leaf_index` of the log `checkpoint` commits to.
    public func checkInclusion(
        entry: [UInt8], proof: Healthledger_V1_InclusionProof, checkpoint: TrustedCheckpoint
    ) throws(HistoryVerificationError) {
        guard proof.treeSize == checkpoint.treeSize else {
            throw HistoryVerificationError(
                .inclusion,
                "the inclusion proof of entry \(proof.leafIndex) is for tree size \(proof.treeSize), its checkpoint "
                    + "is \(checkpoint.summary)")
        }
        guard
            MerkleVerification.isValidInclusion(
                leafHash: MerkleHash.leaf(entry), leafIndex: proof.leafIndex, treeSize: proof.treeSize,
                proof: proof.auditPath, rootHash: checkpoint.rootHash)
        else {
            throw HistoryVerificationError(
                .inclusion,
                "entry \(proof.leafIndex) is not in the log of checkpoint \(checkpoint.summary): its inclusion proof "
                    + "does not verify")
        }
    }

    /// What it takes to trust `checkpoint` (signature already checked) given what is remembered.
    public func consistencyStep(for checkpoint: TrustedCheckpoint) throws(HistoryVerificationError) -> ConsistencyStep {
        guard let latest else { return .none }
        if let known = provenRoots[checkpoint.treeSize] {
            guard known == checkpoint.rootHash else {
                throw HistoryVerificationError.forked(
                    remembered: TrustedCheckpoint(treeSize: checkpoint.treeSize, rootHash: known), stated: checkpoint)
            }
            return .none
        }
        if checkpoint.treeSize == 0 || latest.treeSize == 0 {
            // The empty log is a prefix of every log; its root is fixed.
            let empty = checkpoint.treeSize == 0 ? checkpoint : latest
            guard empty.rootHash == MerkleHash.emptyTreeRoot else {
                throw HistoryVerificationError(.forked, "checkpoint \(empty.summary) states a root for the empty log")
            }
            return .none
        }
        return .proof(
            firstTreeSize: min(checkpoint.treeSize, latest.treeSize),
            secondTreeSize: max(checkpoint.treeSize, latest.treeSize))
    }

    /// Trusts `checkpoint` (signature already checked) with `consistencyProof` between it and `latest` (sizes as
    /// `consistencyStep` asked; ignored when it asked for none); a newer checkpoint becomes `latest`. Returns whether
    /// `latest` changed.
    @discardableResult
    public mutating func accept(_ checkpoint: TrustedCheckpoint, consistencyProof: [[UInt8]] = [])
        throws(HistoryVerificationError) -> Bool
    {
        guard let latest else {
            remember(checkpoint, asLatest: true)
            return true
        }
        switch try consistencyStep(for: checkpoint) {
        case .none: break
        case .proof(let first, let second):
            let older = checkpoint.treeSize < latest.treeSize ? checkpoint : latest
            let newer = checkpoint.treeSize < latest.treeSize ? latest : checkpoint
            guard
                MerkleVerification.isValidConsistency(
                    firstSize: first, secondSize: second, firstRoot: older.rootHash, secondRoot: newer.rootHash,
                    proof: consistencyProof)
            else {
                if checkpoint.treeSize > latest.treeSize {
                    throw HistoryVerificationError.forked(remembered: latest, stated: checkpoint)
                }
                throw HistoryVerificationError(
                    .forked,
                    "checkpoint \(checkpoint.summary) is not a prefix of the checkpoint seen before "
                        + "(\(latest.summary)): the node's history was rewritten or forked")
            }
        }
        let isNewer = checkpoint.treeSize > latest.treeSize
        remember(checkpoint, asLatest: isNewer)
        return isNewer
    }

    /// Checks that `head`, the checkpoint a node states as its latest, is not behind the newest one trusted: a node
    /// never loses committed entries, so a shorter log means history was rolled back or replaced.
    public func checkHead(_ head: TrustedCheckpoint) throws(HistoryVerificationError) {
        guard let latest, head.treeSize < latest.treeSize else { return }
        throw HistoryVerificationError(
            .forked,
            "the node's head (\(head.summary)) is behind the checkpoint seen before (\(latest.summary)): its "
                + "history was rewritten, rolled back or forked")
    }

    /// The failure for a node that cannot prove the consistency `consistencyStep` asked for (it answered NOT_FOUND or
    /// OUT_OF_RANGE): a node that lost or rewrote the log seen before.
    public func unprovable(_ checkpoint: TrustedCheckpoint, because answer: String) -> HistoryVerificationError {
        let remembered = latest ?? checkpoint
        return HistoryVerificationError(
            .forked,
            "the node cannot prove that its history (\(checkpoint.summary)) extends the checkpoint seen before "
                + "(\(remembered.summary)): \(answer); it was rewritten, rolled back or forked")
    }

    private mutating func remember(_ checkpoint: TrustedCheckpoint, asLatest: Bool) {
        if provenRoots.count >= Self.cacheLimit { provenRoots.removeAll() }
        if asLatest { latest = checkpoint }
        provenRoots[checkpoint.treeSize] = checkpoint.rootHash
        if let latest { provenRoots[latest.treeSize] = latest.rootHash }
    }

    /// The first 8 hex digits of an id or hash, for messages.
    static func short(_ text: String) -> String { text.count > 8 ? String(text.prefix(8)) + "…" : text }
}

/// What trusting a checkpoint still takes.
public enum ConsistencyStep: Sendable, Hashable {
    /// Nothing: it is the first, the same as one trusted, or the empty log.
    case none
    /// A consistency proof from the log of `firstTreeSize` entries to that of `secondTreeSize` (GetConsistencyProof).
    case proof(firstTreeSize: UInt64, secondTreeSize: UInt64)
}

/// A node key a client trusts: from configuration or pinned on first use.
public struct PinnedNodeKey: Sendable, Hashable {
    /// Lowercase hex SHA-256 of the raw key bytes.
    public let keyID: String
    /// The key.
    public let publicKey: SigningPublicKey
    /// First block height it signs.
    public let validFromHeight: UInt64
    /// Last block height it signs; nil while in use.
    public let validUntilHeight: UInt64?

    /// A pinned key; its id is computed from the key bytes.
    public init(publicKey: SigningPublicKey, validFromHeight: UInt64 = 0, validUntilHeight: UInt64? = nil) {
        self.keyID = publicKey.keyID
        self.publicKey = publicKey
        self.validFromHeight = validFromHeight
        self.validUntilHeight = validUntilHeight
    }

    /// The key a NodeKey record (GetChainHead.node_keys) states; its key id must match its bytes.
    public init(_ record: Healthledger_V1_NodeKey) throws(HistoryVerificationError) {
        let wire = record.publicKey ?? Healthledger_V1_PublicKey()
        let key: SigningPublicKey
        do {
            key = try SigningPublicKey(
                algorithm: wire.algorithm == .ecdsaP256 ? .ecdsaP256 : .ed25519, rawBytes: wire.keyBytes)
        } catch {
            throw HistoryVerificationError(.malformed, "node key \(record.keyId) is unusable: \(error)")
        }
        guard key.keyID == record.keyId else {
            throw HistoryVerificationError(
                .malformed, "node key \(CheckpointWitness.short(record.keyId)) does not match its key bytes")
        }
        self.init(publicKey: key, validFromHeight: record.validFromHeight, validUntilHeight: record.validUntilHeight)
    }

    /// Whether the key signs blocks at `height`.
    public func isInForce(atHeight height: UInt64) -> Bool {
        validFromHeight <= height && validUntilHeight.map { height <= $0 } ?? true
    }
}

/// A checkpoint whose signature was checked: its size, root and height, and the signed bytes to keep as evidence.
public struct TrustedCheckpoint: Sendable, Hashable {
    /// Entries the log had.
    public let treeSize: UInt64
    /// RFC 9162 root of those entries.
    public let rootHash: [UInt8]
    /// Height of the block it ends.
    public let blockHeight: UInt64
    /// The checkpoint as the node signed it (empty for one known by size and root alone).
    public let signed: Healthledger_V1_SignedCheckpoint

    /// A checkpoint restored from storage or built from a decoded one.
    public init(
        treeSize: UInt64, rootHash: [UInt8], blockHeight: UInt64 = 0,
        signed: Healthledger_V1_SignedCheckpoint = Healthledger_V1_SignedCheckpoint()
    ) {
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.blockHeight = blockHeight
        self.signed = signed
    }

    init(checkpoint: Healthledger_V1_Checkpoint, signed: Healthledger_V1_SignedCheckpoint) {
        self.init(
            treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, blockHeight: checkpoint.blockHeight,
            signed: signed)
    }

    /// "tree size 120, root 3f1c2a9b…", for messages.
    public var summary: String {
        "tree size \(treeSize), root \(CheckpointWitness.short(Hex.encode(rootHash)))"
    }
}

/// Why a node's answer cannot be trusted: its history does not match what was seen before, a signature or proof does
/// not verify, or a receipt is not for what was sent.
public struct HistoryVerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of failure.
    public enum Kind: Sendable, Hashable {
        /// The node's log does not extend (or is not a prefix of) the checkpoint seen before.
        case forked
        /// A checkpoint's signature does not verify.
        case badSignature
        /// A checkpoint is signed by a key that is not pinned (or not in force at its height).
        case unknownNodeKey
        /// A checkpoint of another chain.
        case wrongChain
        /// An entry's inclusion proof does not verify against its checkpoint.
        case inclusion
        /// A receipt's or event's entry is not what was sent or asked for.
        case entryMismatch
        /// A proof, checkpoint or entry the answer must carry is missing or does not decode.
        case malformed
    }

    /// What failed.
    public var kind: Kind
    /// One line naming what failed, with tree sizes and short roots where they matter.
    public var problem: String

    /// A failure of `kind`.
    public init(_ kind: Kind, _ problem: String) {
        self.kind = kind
        self.problem = problem
    }

    /// The failure of a node whose checkpoint `stated` does not extend `remembered`.
    public static func forked(remembered: TrustedCheckpoint, stated: TrustedCheckpoint) -> HistoryVerificationError {
        HistoryVerificationError(
            .forked,
            "the node's history does not extend the checkpoint seen before (\(remembered.summary)): it was rewritten "
                + "or forked (the node now states \(stated.summary))")
    }

    /// The problem, one line.
    public var description: String { problem }
}
