import HealthLedgerProtos
import LedgerCrypto
import ProtobufWire
import RPCCore

/// How a `LedgerClient` checks the node's answers against the history it saw before.
public struct HistoryVerification: Sendable {
    /// Whether answers are checked at all; off only for tools that must see the node's raw answers.
    public var isEnabled: Bool
    /// The node keys to trust, from configuration; empty: pin those the node first states (trust on first use).
    public var nodeKeys: [PinnedNodeKey]
    /// Where the pinned keys and the last checkpoint are kept between runs; nil: for this client's life only.
    public var store: (any WitnessStore)?

    /// Checking on, trusting `nodeKeys` (or pinning on first use) and keeping what is learnt in `store`.
    public static func enabled(nodeKeys: [PinnedNodeKey] = [], store: (any WitnessStore)? = nil) -> HistoryVerification
    {
        HistoryVerification(isEnabled: true, nodeKeys: nodeKeys, store: store)
    }

    /// No checks: answers are returned as the node sent them.
    public static let disabled = HistoryVerification(isEnabled: false, nodeKeys: [], store: nil)
}

/// Where a client keeps its `CheckpointWitness` between runs (a file per chain, say).
public protocol WitnessStore: Sendable {
    /// The witness kept for `chainID`; nil when there is none yet.
    func load(chainID: String) throws -> CheckpointWitness?
    /// Keeps `witness`; called when it pinned keys or trusts a newer checkpoint.
    func save(_ witness: CheckpointWitness) throws
}

/// A transaction RPC's response, which carries the transaction's receipt.
public protocol TransactionResponse: Sendable {
    /// Where the transaction was committed, with its entry and proof.
    var receipt: Healthledger_V1_TransactionReceipt? { get }
}

extension Healthledger_V1_GrantResponse: TransactionResponse {}
extension Healthledger_V1_RevokeResponse: TransactionResponse {}
extension Healthledger_V1_WriteResponse: TransactionResponse {}
extension Healthledger_V1_RotateKeyResponse: TransactionResponse {}
extension Healthledger_V1_EraseResponse: TransactionResponse {}
extension Healthledger_V1_OpenEmergencyAccessResponse: TransactionResponse {}

extension LedgerClient {
    /// Sets up the witness on the first head seen (from the store, else pinning the head's keys), then trusts the
    /// head's checkpoint.
    func witnessHead(_ head: Healthledger_V1_GetChainHeadResponse) async throws {
        if witness == nil {
            let stored = try verification.store?.load(chainID: head.chainId)
            if let stored, stored.chainID == head.chainId, verification.nodeKeys.isEmpty {
                witness = stored
            } else {
                witness = CheckpointWitness(
                    chainID: head.chainId, pinnedKeys: verification.nodeKeys, latest: stored?.latest)
            }
        }
        guard var current = witness else { return }
        guard current.chainID == head.chainId else {
            throw HistoryVerificationError(
                .wrongChain, "the node serves chain \(head.chainId), not chain \(current.chainID)")
        }
        let pinned = try current.pinOnFirstUse(head.nodeKeys)
        guard let signed = head.checkpoint else {
            throw HistoryVerificationError(.malformed, "the node's chain head carries no checkpoint")
        }
        try current.checkHead(try current.checkSignature(signed))
        witness = current
        let advanced = try await trust(signed)
        if pinned && !advanced { try saveWitness() }
    }

    /// Checks an audit event's entry and proof: the entry holds the event, the proof leads to a checkpoint signed by a
    /// pinned key at or after the end of the event's block, and that checkpoint is consistent with the history seen
    /// before.
    func verify(_ logged: Healthledger_V1_LoggedAuditEvent) async throws {
        let event = logged.event ?? Healthledger_V1_AuditEvent()
        guard let proof = logged.proof, let inclusion = proof.inclusion, let signed = proof.checkpoint else {
            throw HistoryVerificationError(.malformed, "audit event \(event.sequence) came without its proof")
        }
        let entry: Healthledger_V1_LedgerEntry
        do { entry = try Healthledger_V1_LedgerEntry(serializedBytes: logged.ledgerEntry) } catch {
            throw HistoryVerificationError(
                .malformed, "the ledger entry of audit event \(event.sequence) does not decode: \(error)")
        }
        guard case .auditEvent(let logEvent)? = entry.entry, logEvent.serializedBytes() == event.serializedBytes(),
            inclusion.leafIndex == event.entryIndex
        else {
            throw HistoryVerificationError(
                .entryMismatch, "audit event \(event.sequence) is not the one its ledger entry holds")
        }
        try await verifyEntry(logged.ledgerEntry, inclusion: inclusion, checkpoint: signed, height: event.blockHeight)
    }

    /// Checks a transaction's receipt: its entry holds exactly `signed`, and is proven in a checkpoint consistent with
    /// the history seen before. A no-op with verification off.
    func verifyReceipt(
        _ receipt: Healthledger_V1_TransactionReceipt?, of signed: Healthledger_V1_SignedTransaction
    ) async throws {
        guard verification.isEnabled else { return }
        let id = TransactionSigner.transactionID(of: signed)
        guard let receipt else {
            throw HistoryVerificationError(.malformed, "the node's answer to transaction \(id) carries no receipt")
        }
        guard let proof = receipt.proof, let inclusion = proof.inclusion, let checkpoint = proof.checkpoint else {
            throw HistoryVerificationError(.malformed, "the receipt of transaction \(id) carries no proof")
        }
        let entry: Healthledger_V1_LedgerEntry
        do { entry = try Healthledger_V1_LedgerEntry(serializedBytes: receipt.ledgerEntry) } catch {
            throw HistoryVerificationError(
                .malformed, "the ledger entry in the receipt of transaction \(id) does not decode: \(error)")
        }
        guard case .transaction(let committed)? = entry.entry, committed.serializedBytes() == signed.serializedBytes()
        else {
            throw HistoryVerificationError(
                .entryMismatch, "the receipt's ledger entry does not hold the transaction \(id) that was sent")
        }
        guard receipt.transactionId == id, inclusion.leafIndex == receipt.entryIndex else {
            throw HistoryVerificationError(
                .entryMismatch,
                "the receipt names transaction \(receipt.transactionId) at entry \(receipt.entryIndex), its proof "
                    + "entry \(inclusion.leafIndex)")
        }
        try await verifyEntry(
            receipt.ledgerEntry, inclusion: inclusion, checkpoint: checkpoint, height: receipt.blockHeight)
    }

    private func verifyEntry(
        _ entry: [UInt8], inclusion: Healthledger_V1_InclusionProof,
        checkpoint signed: Healthledger_V1_SignedCheckpoint,
        height: UInt64
    ) async throws {
        if witness == nil { try await checkChainHead() }
        guard var current = witness else {
            throw HistoryVerificationError(.malformed, "no chain head to check entry \(inclusion.leafIndex) against")
        }
        let checkpoint = try current.checkSignature(signed)
        witness = current
        // A receipt's proof leads to its block's own checkpoint, a replayed event's to a later one; never an earlier.
        guard checkpoint.blockHeight >= height else {
            throw HistoryVerificationError(
                .inclusion,
                "entry \(inclusion.leafIndex) of block \(height) is proven against the checkpoint of earlier block "
                    + "\(checkpoint.blockHeight)")
        }
        try current.checkInclusion(entry: entry, proof: inclusion, checkpoint: checkpoint)
        try await trust(signed)
    }

    /// Trusts `signed` once its signature verifies and it is consistent with the newest checkpoint trusted (asking
    /// the node for a consistency proof when their sizes differ); keeps it when newer. Returns whether it was newer.
    @discardableResult
    func trust(_ signed: Healthledger_V1_SignedCheckpoint) async throws -> Bool {
        while true {
            guard var current = witness else { return false }
            let checkpoint = try current.checkSignature(signed)
            witness = current
            let step = try current.consistencyStep(for: checkpoint)
            var path: [[UInt8]] = []
            if case .proof(let first, let second) = step {
                var request = Healthledger_V1_GetConsistencyProofRequest()
                request.firstTreeSize = first
                request.secondTreeSize = second
                do {
                    let stub = self.stub
                    let response = try await retryingUnavailable { try await stub.getConsistencyProof(request) }
                    let proof = response.proof ?? Healthledger_V1_ConsistencyProof()
                    guard proof.firstTreeSize == first, proof.secondTreeSize == second else {
                        throw current.unprovable(
                            checkpoint,
                            because: "it sent a proof from \(proof.firstTreeSize) to \(proof.secondTreeSize) entries")
                    }
                    path = proof.consistencyPath
                } catch let error as RPCError
                    where [.notFound, .outOfRange, .invalidArgument, .failedPrecondition].contains(error.code)
                {
                    throw current.unprovable(checkpoint, because: "it answered \(error.code): \(error.message)")
                }
                // Another call may have moved the witness on while this one waited: start over from what it is now.
                guard var now = witness, (try? now.consistencyStep(for: checkpoint)) == step else { continue }
                let advanced = try now.accept(checkpoint, consistencyProof: path)
                witness = now
                if advanced { try saveWitness() }
                return advanced
            }
            let advanced = try current.accept(checkpoint)
            witness = current
            if advanced { try saveWitness() }
            return advanced
        }
    }

    private func saveWitness() throws {
        if let witness, let store = verification.store { try store.save(witness) }
    }
}
