import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import ProtobufWire

/// Turns a filled draft into a signed block: Merkle roots, header, checkpoint, node signatures (chain.proto).
public struct BlockSealer: Sendable {
    /// The node's signing key.
    public let nodeKey: SigningPrivateKey
    /// Its key id.
    public let nodeKeyID: String

    /// A sealer signing with `nodeKey`.
    public init(nodeKey: SigningPrivateKey) {
        self.nodeKey = nodeKey
        nodeKeyID = nodeKey.publicKey.keyID
    }

    /// Seals `draft` on top of `state`: appends the draft's leaf hashes to `state.tree` (ahead of the durable
    /// size until `commit`), and returns the block summary and the bytes to store.
    public func seal(_ draft: BlockDraft, onto state: inout LedgerState) -> (summary: BlockSummary, stored: [UInt8]) {
        let leafHashes = draft.entries.map { MerkleHash.leaf($0) }
        for leaf in leafHashes { state.tree.append(leafHash: leaf) }
        var header = Healthledger_V1_BlockHeader()
        header.chainId = state.chainID
        header.height = draft.height
        header.previousBlockHash = state.lastBlockHash
        header.timeUnixMs = draft.time
        header.entriesRootHash = MerkleHash.root(ofLeafHashes: leafHashes)
        header.entryCount = UInt32(draft.entries.count)
        header.firstEntryIndex = draft.firstEntryIndex
        header.treeRootHash = state.tree.rootHash
        let headerBytes = header.serializedBytes()
        var signedHeader = Healthledger_V1_SignedBlockHeader()
        signedHeader.header = headerBytes
        signedHeader.signature = nodeKey.signature(
            for: ContextLabel.message(context: ContextLabel.blockHeader, payload: headerBytes))
        signedHeader.nodeKeyId = nodeKeyID

        var checkpoint = Healthledger_V1_Checkpoint()
        checkpoint.chainId = state.chainID
        checkpoint.treeSize = draft.firstEntryIndex + UInt64(draft.entries.count)
        checkpoint.rootHash = header.treeRootHash
        checkpoint.timeUnixMs = draft.time
        checkpoint.blockHeight = draft.height
        let checkpointBytes = checkpoint.serializedBytes()
        var signedCheckpoint = Healthledger_V1_SignedCheckpoint()
        signedCheckpoint.checkpoint = checkpointBytes
        signedCheckpoint.signature = nodeKey.signature(
            for: ContextLabel.message(context: ContextLabel.checkpoint, payload: checkpointBytes))
        signedCheckpoint.nodeKeyId = nodeKeyID

        let summary = BlockSummary(header: header, signedHeader: signedHeader, checkpoint: signedCheckpoint)
        let stored = StoredBlock(header: signedHeader, entries: draft.entries, checkpoint: signedCheckpoint)
        return (summary, stored.serializedBytes())
    }
}

extension LedgerState {
    /// Makes a sealed, durable draft part of the committed state; readers see all of it at once.
    public mutating func commit(_ draft: BlockDraft, summary: BlockSummary) {
        precondition(draft.height == height + 1, "blocks commit in height order")
        for (id, principal) in draft.principals { principals[id] = principal }
        for (id, key) in draft.keys { keys[id] = key }
        for (patient, policy) in draft.policies { policies[patient] = policy }
        // New grants in commit order (as this block left them), then revocations of earlier ones.
        for id in draft.newGrantIDs { grants.commit(draft.grants[id]!) }
        if draft.grants.count > draft.newGrantIDs.count {
            let new = Set(draft.newGrantIDs)
            for (id, grant) in draft.grants where !new.contains(id) { grants.commit(grant) }
        }
        // New records in commit order (as this block left them), then erasures of earlier ones.
        for id in draft.newRecordIDs { records.commit(draft.records[id]!) }
        if draft.records.count > draft.newRecordIDs.count {
            let new = Set(draft.newRecordIDs)
            for (id, record) in draft.records where !new.contains(id) { records.commit(record) }
        }
        for (id, access) in draft.emergencyAccesses { emergencyAccesses[id] = access }
        // Grants' ids are in the grant table, which the replay guard asks too.
        let grantKeys = Set(draft.newGrantIDs.compactMap { TransactionDigest(hex: $0)?.key })
        for key in draft.transactions where !grantKeys.contains(key) { committedTransactions.insert(key) }
        for audit in draft.auditEvents {
            auditEntryIndexes.append(audit.event.entryIndex)
            auditByPatient[audit.event.patient, default: []].append(audit.event.sequence)
        }
        blocks.append(summary)
        lastBlockHash = SHA256.hash(summary.signedHeader.header)
        treeSize = draft.firstEntryIndex + UInt64(draft.entries.count)
    }

    /// Drops leaf hashes of a block that failed to persist, so the tree matches the durable log again.
    public mutating func discardUncommittedLeaves() {
        guard tree.size > treeSize else { return }
        tree = tree.leafHashes(count: treeSize).withUnsafeBytes { MerkleTree(leafHashes: $0) }
    }
}
