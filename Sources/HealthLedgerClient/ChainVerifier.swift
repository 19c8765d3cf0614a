import HealthLedgerProtos
import LedgerCrypto
import MerkleLog
import ProtobufWire

/// Checks a chain's signed block headers, fed in height order from block 1: each belongs to the chain, follows the
/// previous one (height, hash link, entry range, time) and carries a valid signature by the node key in force at its
/// height; `finish` then checks the node's signed checkpoint against the last header. Given whole blocks
/// (`check(_:entries:checkpoint:)`, from a data directory), it also recomputes every leaf and Merkle root from the
/// entry bytes and checks every block's checkpoint. Pure: no I/O.
public struct ChainVerifier: Sendable {
    /// The chain being checked.
    public let chainID: String
    /// Headers checked so far.
    public private(set) var checkedHeight: UInt64 = 0
    /// Entries covered by the headers checked so far.
    public private(set) var treeSize: UInt64 = 0
    /// Hash of the last header checked (32 zero bytes before block 1).
    public private(set) var headHash = [UInt8](repeating: 0, count: 32)
    /// Root hash of the log after the last header checked (what that header states).
    public private(set) var treeRoot: [UInt8] = MerkleHash.emptyTreeRoot
    /// Audit events among the entries checked so far (whole blocks only).
    public private(set) var auditEventCount: UInt64 = 0
    /// Transaction signatures checked so far (whole blocks with `transactionSignatures` `.verify` or `.collect`).
    public private(set) var transactionSignatureCount: UInt64 = 0
    private var lastTime: Int64 = .min
    /// The log's leaves as recomputed from entry bytes (whole blocks only); its roots are what checkpoints must state.
    private var tree = MerkleTree()
    /// Authors' public keys by key id, learnt from the chain itself (attached keys and rotations).
    private var authorKeys: [String: SigningPublicKey] = [:]
    private var pendingTransactionSignatures: [PendingTransactionSignature] = []
    private let nodeKeys: [(record: Healthledger_V1_NodeKey, key: SigningPublicKey)]

    /// A verifier for `chainID` whose blocks are signed by `nodeKeys` (GetChainHead.node_keys).
    public init(chainID: String, nodeKeys: [Healthledger_V1_NodeKey]) throws(ChainVerificationError) {
        self.chainID = chainID
        var keys: [(Healthledger_V1_NodeKey, SigningPublicKey)] = []
        for nodeKey in nodeKeys {
            let wire = nodeKey.publicKey ?? Healthledger_V1_PublicKey()
            do {
                let key = try SigningPublicKey(
                    algorithm: wire.algorithm == .ecdsaP256 ? .ecdsaP256 : .ed25519, rawBytes: wire.keyBytes)
                guard key.keyID == nodeKey.keyId else {
                    throw ChainVerificationError(height: 0, "node key \(nodeKey.keyId) does not match its key bytes")
                }
                keys.append((nodeKey, key))
            } catch let error as ChainVerificationError {
                throw error
            } catch {
                throw ChainVerificationError(height: 0, "node key \(nodeKey.keyId) is unusable: \(error)")
            }
        }
        self.nodeKeys = keys
    }

    /// Checks the next header; throws at the first problem, naming the height.
    public mutating func check(_ signed: Healthledger_V1_SignedBlockHeader) throws(ChainVerificationError) {
        _ = try checkHeader(signed, verifyingSignature: true)
    }

    /// Checks the next block whole: its header as `check(_:)` does; every entry decodes to a transaction or an audit
    /// event, each audit event names its own height, log index and the next audit sequence number; the entries hash
    /// (RFC 9162 leaves) to the header's entries root, and the log they extend to its tree root; the checkpoint is
    /// signed by a node key in force and commits to exactly that log. Because the tree is rebuilt leaf by leaf, every
    /// checkpoint's tree is a prefix of the next one's: consistency between successive checkpoints holds by
    /// construction. After a throw the verifier must not be used again. With `verifyingNodeSignatures` false the
    /// node signatures are left to the caller (`nodeSignatureProblem`, e.g. on other cores); keys are still checked
    /// to be in force. With
    /// `transactionSignatures` `.verify`, each transaction's author signature is verified over its body bytes with the
    /// key its key id names (attached to it, to an earlier transaction of the chain, or rotated in by one); with
    /// `.collect` the key is found the same way (an unknown one fails here) and the verification is left to the
    /// caller (`takePendingTransactionSignatures`).
    public mutating func check(
        _ signed: Healthledger_V1_SignedBlockHeader, entries: [[UInt8]], checkpoint: Healthledger_V1_SignedCheckpoint,
        verifyingNodeSignatures: Bool = true, transactionSignatures: TransactionSignatureMode = .skip
    ) throws(ChainVerificationError) {
        guard tree.size == treeSize else {
            throw ChainVerificationError(height: checkedHeight + 1, "whole blocks must be checked from block 1 on")
        }
        let height = checkedHeight + 1
        let header = try checkHeader(signed, verifyingSignature: verifyingNodeSignatures, committing: false)
        guard Int(header.entryCount) == entries.count else {
            throw ChainVerificationError(
                height: height, "the header counts \(header.entryCount) entries, the block holds \(entries.count)")
        }
        var leafHashes: [[UInt8]] = []
        leafHashes.reserveCapacity(entries.count)
        var auditCount = auditEventCount
        var signatureCount = transactionSignatureCount
        for (offset, bytes) in entries.enumerated() {
            let index = header.firstEntryIndex + UInt64(offset)
            func failure(_ problem: String) -> ChainVerificationError {
                ChainVerificationError(height: height, entry: index, problem)
            }
            let entry: Healthledger_V1_LedgerEntry
            do { entry = try Healthledger_V1_LedgerEntry(serializedBytes: bytes) } catch {
                throw failure("entry does not decode: \(error)")
            }
            switch entry.entry {
            case .auditEvent(let event)?:
                auditCount += 1
                guard event.blockHeight == height, event.entryIndex == index else {
                    throw failure(
                        "audit event says it is entry \(event.entryIndex) of block \(event.blockHeight): "
                            + "entries were moved, removed or inserted")
                }
                guard event.sequence == auditCount else {
                    throw failure(
                        "audit event \(event.sequence) where \(auditCount) was due: "
                            + "audit events were removed or reordered")
                }
            case .transaction(let transaction)?:
                if transactionSignatures != .skip {
                    let key: SigningPublicKey
                    switch learnKey(of: transaction) {
                    case .success(let found): key = found
                    case .failure(let problem): throw failure(problem.description)
                    }
                    let pending = PendingTransactionSignature(
                        height: height, entry: index, key: key, signature: transaction.signature, body: transaction.body
                    )
                    if transactionSignatures == .verify {
                        if let problem = pending.problem() { throw failure(problem) }
                    } else {
                        pendingTransactionSignatures.append(pending)
                    }
                    signatureCount += 1
                }
            case nil:
                throw failure("entry holds neither a transaction nor an audit event")
            }
            leafHashes.append(MerkleHash.leaf(bytes))
        }
        guard MerkleHash.root(ofLeafHashes: leafHashes) == header.entriesRootHash else {
            throw ChainVerificationError(
                height: height,
                "entries \(header.firstEntryIndex)..<\(header.firstEntryIndex + UInt64(entries.count)) do not hash to "
                    + "the header's entries root: an entry's bytes were changed or entries reordered")
        }
        // Appended in place (a copy of the tree would make each append copy a chunk per level); after a throw the
        // verifier is not used again.
        for leaf in leafHashes { tree.append(leafHash: leaf) }
        guard tree.rootHash == header.treeRootHash else {
            throw ChainVerificationError(height: height, "the log's recomputed root is not the header's tree root")
        }
        try checkCheckpoint(
            checkpoint, height: height, treeSize: tree.size, root: header.treeRootHash,
            verifyingSignature: verifyingNodeSignatures)
        auditEventCount = auditCount
        transactionSignatureCount = signatureCount
        commit(signed, header)
    }

    /// Why `signed` (the header of the block at `height`) or its block's `checkpoint` is not validly signed by a node
    /// key in force at `height`; nil when both are. For callers that check node signatures apart from
    /// `check(_:entries:checkpoint:verifyingNodeSignatures:transactionSignatures:)`.
    public func nodeSignatureProblem(
        header signed: Healthledger_V1_SignedBlockHeader, checkpoint: Healthledger_V1_SignedCheckpoint, height: UInt64
    ) -> String? {
        guard let signer = key(named: signed.nodeKeyId, at: height),
            signer.isValidSignature(
                signed.signature, for: ContextLabel.message(context: ContextLabel.blockHeader, payload: signed.header))
        else { return "node signature of the header does not verify" }
        guard let checkpointSigner = key(named: checkpoint.nodeKeyId, at: height),
            checkpointSigner.isValidSignature(
                checkpoint.signature,
                for: ContextLabel.message(context: ContextLabel.checkpoint, payload: checkpoint.checkpoint))
        else { return "checkpoint signature does not verify" }
        return nil
    }

    /// The author signatures `.collect` left to verify since the last call, in log order.
    public mutating func takePendingTransactionSignatures() -> [PendingTransactionSignature] {
        defer { pendingTransactionSignatures.removeAll(keepingCapacity: true) }
        return pendingTransactionSignatures
    }

    /// The key a transaction's key id names, learning any key it brings (attached, or rotated in); key ids are hashes
    /// of key bytes, so a learnt key cannot stand in for another.
    private mutating func learnKey(of transaction: Healthledger_V1_SignedTransaction)
        -> Result<SigningPublicKey, ChainVerificationError>
    {
        if let wire = transaction.publicKey {
            guard let key = Self.publicKey(wire), key.keyID == transaction.keyId else {
                return .failure(
                    ChainVerificationError(
                        height: 0, "transaction's attached public key is unusable or does not match its key id"))
            }
            authorKeys[key.keyID] = key
        }
        guard let key = authorKeys[transaction.keyId] else {
            return .failure(
                ChainVerificationError(
                    height: 0, "transaction signed by key \(transaction.keyId), which no earlier entry introduced"))
        }
        if let body = try? Healthledger_V1_TransactionBody(serializedBytes: transaction.body),
            case .rotateKey(let rotation)? = body.operation, let wire = rotation.newPublicKey,
            let newKey = Self.publicKey(wire)
        {
            authorKeys[newKey.keyID] = newKey
        }
        return .success(key)
    }

    private static func publicKey(_ wire: Healthledger_V1_PublicKey) -> SigningPublicKey? {
        try? SigningPublicKey(algorithm: wire.algorithm == .ecdsaP256 ? .ecdsaP256 : .ed25519, rawBytes: wire.keyBytes)
    }

    private mutating func checkHeader(
        _ signed: Healthledger_V1_SignedBlockHeader, verifyingSignature: Bool, committing: Bool = true
    ) throws(ChainVerificationError) -> Healthledger_V1_BlockHeader {
        let expected = checkedHeight + 1
        let header: Healthledger_V1_BlockHeader
        do {
            header = try Healthledger_V1_BlockHeader(serializedBytes: signed.header)
        } catch {
            throw ChainVerificationError(height: expected, "header does not decode: \(error)")
        }
        guard header.chainId == chainID else {
            throw ChainVerificationError(height: expected, "chain id \(header.chainId), expected \(chainID)")
        }
        guard header.height == expected else {
            throw ChainVerificationError(height: expected, "height \(header.height) where \(expected) was due")
        }
        guard header.previousBlockHash == headHash else {
            throw ChainVerificationError(height: expected, "previous-block hash does not match block \(checkedHeight)")
        }
        guard header.firstEntryIndex == treeSize else {
            throw ChainVerificationError(
                height: expected, "first entry \(header.firstEntryIndex), expected \(treeSize) after the previous block"
            )
        }
        guard header.timeUnixMs >= lastTime else {
            throw ChainVerificationError(height: expected, "time goes backwards")
        }
        guard let signer = key(named: signed.nodeKeyId, at: expected) else {
            throw ChainVerificationError(
                height: expected, "signed by node key \(signed.nodeKeyId), which is not in force at this height")
        }
        if verifyingSignature {
            let message = ContextLabel.message(context: ContextLabel.blockHeader, payload: signed.header)
            guard signer.isValidSignature(signed.signature, for: message) else {
                throw ChainVerificationError(height: expected, "node signature does not verify")
            }
        }
        if committing { commit(signed, header) }
        return header
    }

    private mutating func commit(_ signed: Healthledger_V1_SignedBlockHeader, _ header: Healthledger_V1_BlockHeader) {
        checkedHeight = header.height
        treeSize = header.firstEntryIndex + UInt64(header.entryCount)
        headHash = SHA256.hash(signed.header)
        lastTime = header.timeUnixMs
        treeRoot = header.treeRootHash
    }

    /// Checks that `checkpoint` is validly signed and commits to exactly the log the last header ends.
    public func finish(checkpoint signed: Healthledger_V1_SignedCheckpoint) throws(ChainVerificationError) {
        try checkCheckpoint(signed, height: checkedHeight, treeSize: treeSize, root: treeRoot, verifyingSignature: true)
    }

    private func checkCheckpoint(
        _ signed: Healthledger_V1_SignedCheckpoint, height: UInt64, treeSize: UInt64, root: [UInt8],
        verifyingSignature: Bool
    ) throws(ChainVerificationError) {
        let checkpoint: Healthledger_V1_Checkpoint
        do {
            checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: signed.checkpoint)
        } catch {
            throw ChainVerificationError(height: height, "checkpoint does not decode: \(error)")
        }
        guard let signer = key(named: signed.nodeKeyId, at: checkpoint.blockHeight),
            !verifyingSignature
                || signer.isValidSignature(
                    signed.signature,
                    for: ContextLabel.message(context: ContextLabel.checkpoint, payload: signed.checkpoint))
        else {
            throw ChainVerificationError(height: height, "checkpoint signature does not verify")
        }
        guard checkpoint.chainId == chainID, checkpoint.blockHeight == height,
            checkpoint.treeSize == treeSize, checkpoint.rootHash == root
        else {
            throw ChainVerificationError(
                height: height,
                "checkpoint (height \(checkpoint.blockHeight), \(checkpoint.treeSize) entries) does not match the "
                    + (treeSize == self.treeSize && height == checkedHeight ? "last block" : "block's log"))
        }
    }

    private func key(named keyID: String, at height: UInt64) -> SigningPublicKey? {
        nodeKeys.first { entry in
            entry.record.keyId == keyID && entry.record.validFromHeight <= height
                && (entry.record.validUntilHeight.map { height <= $0 } ?? true)
        }?.key
    }
}

/// Whether whole-block checks verify transactions' author signatures.
public enum TransactionSignatureMode: Sendable {
    /// Not checked.
    case skip
    /// Verified as each block is checked.
    case verify
    /// Keys found as each block is checked; the signatures handed to the caller to verify (on other cores, say).
    case collect
}

/// One transaction's author signature and the key to verify it with, found while checking its block.
public struct PendingTransactionSignature: Sendable {
    /// Height of the block holding the transaction.
    public let height: UInt64
    /// Log index of the transaction's entry.
    public let entry: UInt64
    let key: SigningPublicKey
    let signature: [UInt8]
    let body: [UInt8]

    /// Why the signature does not verify; nil when it does.
    public func problem() -> String? {
        key.isValidSignature(signature, for: body) ? nil : "transaction's author signature does not verify"
    }
}

/// Why a chain failed verification: the height (and, when known, the log index of the entry) of the first problem.
public struct ChainVerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The block height where the problem is (0: the node keys).
    public var height: UInt64
    /// The log index of the entry at fault, when one entry is.
    public var entry: UInt64?
    /// What is wrong.
    public var problem: String

    /// A problem at `height`, in the entry with log index `entry` if one is at fault.
    public init(height: UInt64, entry: UInt64? = nil, _ problem: String) {
        self.height = height
        self.entry = entry
        self.problem = problem
    }

    /// One line: "block 12: node signature does not verify", "block 12, entry 345: ...".
    public var description: String {
        if height == 0 { return problem }
        if let entry { return "block \(height), entry \(entry): \(problem)" }
        return "block \(height): \(problem)"
    }
}
