import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import ProtobufWire
import RPCCore

/// Why a stored block cannot be applied: the log is not a chain this node wrote. Names the block and entry.
public struct ChainVerificationError: Error, Sendable, CustomStringConvertible {
    public var height: UInt64
    public var entry: Int?
    public var reason: String

    public var description: String {
        if let entry { return "block \(height), entry \(entry): \(reason)" }
        return "block \(height): \(reason)"
    }
}

/// A block applied by ``BlockReplay``: its filled draft, its summary, and what each transaction's admission did, by
/// entry index (a replicating node answers the calls it forwarded from these).
public struct AppliedBlock: Sendable {
    public var draft: BlockDraft
    public var summary: BlockSummary
    public var admissions: [UInt64: Admission]

    public init(draft: BlockDraft, summary: BlockSummary, admissions: [UInt64: Admission]) {
        self.draft = draft
        self.summary = summary
        self.admissions = admissions
    }
}

/// Re-applies blocks read back from the block log on start (or ordered by a cluster's leader): every hash, root, link and node signature is
/// checked again, and every entry goes through the same admission as when it was first committed.
public enum BlockReplay {
    /// Checks the stored block `bytes` against `state`'s head and commits it. `nodeKeys` are the keys allowed to
    /// have signed blocks, by key id. With `verifySignatures` false the node signatures are left to
    /// `verifyHeadSignatures`: every header names its predecessor's hash, so checking the links and roots of
    /// every block and the signatures of the last one authenticates the whole chain, at a fraction of the cost.
    /// With `collectAdmissions` the result lists what each transaction's admission did.
    @discardableResult
    public static func apply(
        _ bytes: [UInt8], to state: inout LedgerState, rules: LedgerRules, nodeKeys: [String: SigningPublicKey],
        verifySignatures: Bool = true, collectAdmissions: Bool = false
    ) throws(ChainVerificationError) -> AppliedBlock {
        let height = state.height + 1
        func failure(_ reason: String, entry: Int? = nil) -> ChainVerificationError {
            ChainVerificationError(height: height, entry: entry, reason: reason)
        }
        let stored: StoredBlock
        do { stored = try StoredBlock(serializedBytes: bytes) } catch { throw failure("undecodable: \(error)") }
        guard let signedHeader = stored.header, let signedCheckpoint = stored.checkpoint else {
            throw failure("header or checkpoint missing")
        }
        let header: Healthledger_V1_BlockHeader
        let checkpoint: Healthledger_V1_Checkpoint
        do {
            header = try Healthledger_V1_BlockHeader(serializedBytes: signedHeader.header)
            checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: signedCheckpoint.checkpoint)
        } catch {
            throw failure("header or checkpoint undecodable: \(error)")
        }
        guard header.height == height else { throw failure("stored height is \(header.height)") }
        guard header.chainId == state.chainID else { throw failure("chain id \"\(header.chainId)\" is not this chain's") }
        guard header.previousBlockHash == state.lastBlockHash else { throw failure("previous block hash does not match") }
        guard header.firstEntryIndex == state.treeSize, Int(header.entryCount) == stored.entries.count else {
            throw failure("entry range does not continue the log")
        }
        guard header.timeUnixMs >= state.lastBlockTime else { throw failure("time goes backwards") }
        if verifySignatures {
            try verifyNodeSignatures(signedHeader, signedCheckpoint, height: height, nodeKeys: nodeKeys)
        } else {
            for keyID in [signedHeader.nodeKeyId, signedCheckpoint.nodeKeyId] where nodeKeys[keyID] == nil {
                throw failure("signed by unknown node key \(keyID)")
            }
        }

        var draft = BlockDraft(after: state, time: header.timeUnixMs, rules: rules, mode: .replay)
        var admissions: [UInt64: Admission] = [:]
        for (index, entryBytes) in stored.entries.enumerated() {
            let entry: Healthledger_V1_LedgerEntry
            do { entry = try Healthledger_V1_LedgerEntry(serializedBytes: entryBytes) } catch {
                throw failure("undecodable entry: \(error)", entry: index)
            }
            switch entry.entry {
            case .transaction(let signed)?:
                do throws(RPCError) {
                    let transaction = try TransactionValidator.validate(signed, expecting: nil, trustingKeys: true)
                    let admission = try draft.admit(transaction, salt: entry.salt, on: state)
                    if collectAdmissions { admissions[admission.entryIndex] = admission }
                } catch {
                    throw failure("transaction not admissible: \(error.message)", entry: index)
                }
            case .auditEvent(let event)?:
                let expectedSequence = draft.firstAuditSequence + UInt64(draft.auditEvents.count)
                guard event.sequence == expectedSequence, event.blockHeight == height,
                    event.entryIndex == draft.nextEntryIndex
                else { throw failure("audit event out of sequence", entry: index) }
                draft.appendAudit(event, salt: entry.salt)
            case nil:
                throw failure("empty entry", entry: index)
            }
            guard draft.entries.last == entryBytes else {
                throw failure("entry bytes are not their deterministic encoding", entry: index)
            }
        }

        let leafHashes = stored.entries.map { MerkleHash.leaf($0) }
        guard MerkleHash.root(ofLeafHashes: leafHashes) == header.entriesRootHash else {
            throw failure("entries root hash does not match its entries")
        }
        for leaf in leafHashes { state.tree.append(leafHash: leaf) }
        guard state.tree.rootHash == header.treeRootHash else { throw failure("tree root hash does not match the log") }
        guard checkpoint.treeSize == state.tree.size, checkpoint.rootHash == header.treeRootHash,
            checkpoint.blockHeight == height, checkpoint.chainId == state.chainID
        else { throw failure("checkpoint does not match the block") }
        let summary = BlockSummary(header: header, signedHeader: signedHeader, checkpoint: signedCheckpoint)
        state.commit(draft, summary: summary)
        return AppliedBlock(draft: draft, summary: summary, admissions: admissions)
    }

    /// Checks the node signatures of the head block (after a replay with `verifySignatures` false).
    public static func verifyHeadSignatures(of state: LedgerState, nodeKeys: [String: SigningPublicKey])
        throws(ChainVerificationError)
    {
        guard let head = state.blocks.last else { return }
        try verifyNodeSignatures(head.signedHeader, head.checkpoint, height: state.height, nodeKeys: nodeKeys)
    }

    private static func verifyNodeSignatures(
        _ signedHeader: Healthledger_V1_SignedBlockHeader, _ signedCheckpoint: Healthledger_V1_SignedCheckpoint,
        height: UInt64, nodeKeys: [String: SigningPublicKey]
    ) throws(ChainVerificationError) {
        for (keyID, context, bytes, signature) in [
            (signedHeader.nodeKeyId, ContextLabel.blockHeader, signedHeader.header, signedHeader.signature),
            (signedCheckpoint.nodeKeyId, ContextLabel.checkpoint, signedCheckpoint.checkpoint, signedCheckpoint.signature),
        ] {
            guard let key = nodeKeys[keyID] else {
                throw ChainVerificationError(height: height, entry: nil, reason: "signed by unknown node key \(keyID)")
            }
            guard key.isValidSignature(signature, for: ContextLabel.message(context: context, payload: bytes)) else {
                throw ChainVerificationError(height: height, entry: nil, reason: "node signature does not verify (\(context))")
            }
        }
    }
}
