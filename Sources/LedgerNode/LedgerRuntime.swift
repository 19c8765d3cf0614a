import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import Logging
import RPCCore

/// Everything the Ledger service's handlers share: the committed state, the committer, sessions, live feeds,
/// the record content store, and the node's rules and clock.
final class LedgerRuntime: Sendable {
    let configuration: LedgerNodeConfiguration
    let chainID: String
    let cell: LedgerStateCell
    let committer: any CommitPipeline
    /// What a node of a cluster shares with the cluster; nil on a single node.
    let cluster: ClusterContext?
    let sessions = SessionStore()
    /// Charges every Ledger call to its principal or address before it does any work.
    let rateLimiter: CallRateLimiter
    let contentReferences = ContentReferences()
    let feed: CommitFeed
    let contentStore: RecordContentStore
    let nodeKey: SigningPublicKey
    let logger: Logger
    /// Committed blocks read back from the block log: audit events, old headers and checkpoints, entry bytes (the
    /// state keeps only their positions).
    let blocks: BlockReader
    /// The node secret behind the research feed's pseudonyms (research-pseudonym.key).
    let researchSecret: [UInt8]

    /// `onCommit` runs on the committer thread after each block is durable and published.
    init(
        configuration: LedgerNodeConfiguration, chainID: String, cell: LedgerStateCell, blockLog: BlockLog,
        sealer: BlockSealer, contentStore: RecordContentStore, researchSecret: [UInt8], logger: Logger,
        cluster: ClusterContext? = nil, onCommit: @escaping @Sendable (BlockDraft) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.chainID = chainID
        self.cell = cell
        self.contentStore = contentStore
        self.logger = logger
        let blocks = BlockReader(blockLog: blockLog, byteBudget: configuration.blockCacheBytes, logger: logger)
        self.blocks = blocks
        self.researchSecret = researchSecret
        rateLimiter = CallRateLimiter(configuration.rateLimits)
        nodeKey = sealer.nodeKey.publicKey
        let feed = CommitFeed()
        self.feed = feed
        self.cluster = cluster
        let published: @Sendable (BlockDraft, BlockSummary) -> Void = { draft, summary in
            blocks.keep(
                BlockReader.Block(
                    signedHeader: summary.signedHeader, checkpoint: summary.checkpoint,
                    firstEntryIndex: draft.firstEntryIndex, entries: draft.entries),
                height: draft.height)
            feed.blockCommitted(draft)
            onCommit(draft)
        }
        if let cluster {
            committer = ClusterCommitter(
                cell: cell, blockLog: blockLog, sealer: sealer, rules: configuration.rules, clock: configuration.clock,
                ordering: cluster.ordering, nodeKeys: cluster.nodeKeys, heights: cluster.heights,
                maxBlockBytes: cluster.maxBlockBytes, logger: logger, onLeadershipLost: cluster.onLeadershipLost,
                onErasures: { admissions in
                    Self.destroyContent(erasedBy: admissions, cell: cell, contentStore: contentStore, logger: logger)
                },
                onCommit: published)
        } else {
            committer = BlockCommitter(
                cell: cell, blockLog: blockLog, sealer: sealer, rules: configuration.rules, clock: configuration.clock,
                onCommit: published)
        }
    }

    /// Waits until this node has applied every block the cluster had ordered when the call began (the read index),
    /// so a decision here sees every Revoke that returned on any node before it. Nothing to wait for on a single
    /// node. UNAVAILABLE when the cluster cannot be asked or this node lags too far behind.
    func awaitReadIndex() async throws(RPCError) {
        guard let cluster else { return }
        try await awaitReadIndex(cluster)
    }

    /// The read index before a transaction's checks, skipped on the leader once it has caught up: a transaction is
    /// admitted on the leader's state anyway, and a deposed leader's block cannot be ordered.
    func awaitReadIndexForTransaction() async throws(RPCError) {
        guard let cluster else { return }
        if (committer as? ClusterCommitter)?.leadsCaughtUp == true { return }
        try await awaitReadIndex(cluster)
    }

    private func awaitReadIndex(_ cluster: ClusterContext) async throws(RPCError) {
        let head = try await cluster.readIndex.headHeight()
        let caughtUp = await cluster.heights.wait(until: head, timeout: cluster.readIndexTimeout)
        if !caughtUp {
            throw RPCError(.unavailable, "this node has not yet applied the cluster's block \(head); retry, or call another node")
        }
    }

    /// The ledger entry bytes at `position`, read back from the block log. INTERNAL when the log cannot give them:
    /// the state says the entry is committed, so its block must be there.
    func ledgerEntry(at position: EntryPosition) throws(RPCError) -> [UInt8] {
        try blocks.entry(position.entryIndex, inBlock: position.blockHeight)
    }

    /// Where the committed audit event with sequence `sequence` is in the log; INTERNAL when no committed block
    /// holds it (the state's audit index and block table disagree). `previous`, the position of the event looked up
    /// before it, is where a replay looks first: consecutive events mostly share a block, so most lookups need no
    /// search of the block table.
    static func auditEntryPosition(
        sequence: UInt64, in state: borrowing LedgerState, after previous: EntryPosition? = nil
    ) throws(RPCError) -> EntryPosition {
        let entryIndex = state.auditEntryIndex(sequence: sequence)
        if let previous, previous.blockHeight >= 1, previous.blockHeight <= UInt64(state.blocks.count),
            state.blocks.entryRange(at: Int(previous.blockHeight) - 1).contains(entryIndex)
        {
            return EntryPosition(blockHeight: previous.blockHeight, entryIndex: entryIndex)
        }
        guard let block = state.blocks.position(ofEntry: entryIndex) else {
            throw RPCError(.internalError, "audit entry \(entryIndex) is in no committed block")
        }
        return EntryPosition(blockHeight: UInt64(block) + 1, entryIndex: entryIndex)
    }

    /// The audit event a stored ledger entry holds; INTERNAL when it holds none.
    static func auditEvent(in ledgerEntry: UnsafeRawBufferPointer) throws(RPCError) -> Healthledger_V1_AuditEvent {
        guard let entry = try? Healthledger_V1_LedgerEntry(serializedBytes: ledgerEntry),
            case .auditEvent(let event)? = entry.entry
        else { throw RPCError(.internalError, "a stored audit entry does not hold an audit event") }
        return event
    }

    var rules: LedgerRules { configuration.rules }

    func now() -> Int64 { configuration.clock() }

    /// Commits an empty block (the genesis block of a new chain).
    func commitEmptyBlock() async throws {
        _ = try await committer.submit(.emptyBlock).get()
    }

    /// The caller's session (UNAUTHENTICATED when there is none or it ended), with one call charged to its principal;
    /// a call without a valid session is charged to its address instead, so a flood of bad tokens is limited too.
    func authenticate(_ context: ServerContext) throws(RPCError) -> PrincipalID {
        try authenticatedSession(context).principal
    }

    /// `authenticate`, giving the whole session: for a following stream, which checks its key again with every read.
    func authenticatedSession(_ context: ServerContext) throws(RPCError) -> SessionStore.Session {
        let session: SessionStore.Session
        do throws(RPCError) {
            session = try liveSession(context)
        } catch {
            try rateLimiter.charge(peer: context.peer)
            throw error
        }
        try rateLimiter.charge(principal: session.principal)
        return session
    }

    /// The caller's live session, charging nothing: for the check a following stream repeats before each delivery
    /// of a call that was charged once.
    func liveSession(_ context: ServerContext) throws(RPCError) -> SessionStore.Session {
        let token = try SessionStore.bearerToken(in: context.metadata)
        guard let session = sessions.session(token: token, now: now()) else {
            throw RPCError(.unauthenticated, "the session token is unknown or expired; create a new session")
        }
        try cell.read { (state) throws(RPCError) in try Self.requireCurrentKey(of: session, in: state) }
        return session
    }

    /// UNAUTHENTICATED when a rotation in `state` retired the key `session` was created with. A following stream
    /// checks this in the same state it reads events from: a check made before the read would let an event
    /// committed after a rotation in between reach the retired key's session.
    static func requireCurrentKey(of session: SessionStore.Session, in state: borrowing LedgerState) throws(RPCError) {
        if let current = state.principals[session.principal]?.currentKeyID, current != session.keyID {
            throw RPCError(.unauthenticated, "the session's key was rotated; create a new session with the new key")
        }
    }

    /// Validates `signed`, verifies its signature with the author's key, and commits it.
    func commitTransaction(_ signed: Healthledger_V1_SignedTransaction?, kind: OperationKind) async throws(RPCError)
        -> (ValidatedTransaction, CommitReceipt)
    {
        // The author's keys and sequence as of every block ordered before the call, whichever node committed them.
        try await awaitReadIndexForTransaction()
        let transaction = try verifiedTransaction(signed, kind: kind)
        return (transaction, try await commit(transaction))
    }

    /// Stateless checks and the signature check of a submitted transaction, charged to its author's rate limit.
    func verifiedTransaction(_ signed: Healthledger_V1_SignedTransaction?, kind: OperationKind) throws(RPCError)
        -> ValidatedTransaction
    {
        guard let signed else { throw InputValidation.invalid("transaction", "required") }
        let transaction = try TransactionValidator.validate(signed, expecting: kind)
        // An author already over the limit is refused before the signature check (the costly part); only a
        // verified author is charged, so no one can spend another principal's calls by naming them as author.
        try rateLimiter.refuseEarly(author: transaction.author)
        let key: SigningPublicKey
        if let attached = transaction.attachedKey {
            key = attached
        } else {
            let known = cell.read { state -> (key: SigningPublicKey?, authorKnown: Bool) in
                (state.keys[signed.keyId]?.key, state.principals[transaction.author] != nil)
            }
            if let found = known.key {
                key = found
            } else if known.authorKnown {
                throw RPCError(
                    .unauthenticated, "transaction.key_id: key \(signed.keyId) is not a key of \(transaction.author)")
            } else {
                throw InputValidation.invalid("transaction.public_key", "required on the author's first transaction")
            }
        }
        try TransactionValidator.verifySignature(of: transaction, with: key)
        try rateLimiter.charge(principal: transaction.author)
        return transaction
    }

    /// Commits a verified transaction, with the audit events its outcome calls for (``TransactionAudits``).
    func commit(_ transaction: ValidatedTransaction, receivedAt: Int64? = nil) async throws(RPCError) -> CommitReceipt {
        try await committer.submit(.transaction(transaction, receivedAt: receivedAt ?? now())).get()
    }

    /// The audit event refusing `transaction` now with `error` logs, if any (``TransactionAudits``).
    func refusalEvent(of transaction: ValidatedTransaction, _ error: RPCError, receivedAt now: Int64)
        -> Healthledger_V1_AuditEvent?
    {
        let rules = rules
        return cell.read { state in
            TransactionAudits.onDenial(transaction, error: error, rules: rules, receivedAt: now, in: state)
        }
    }

    /// Logs an access decision durably; nothing may be released before this returns.
    func commitAudit(_ event: Healthledger_V1_AuditEvent) async throws(RPCError) -> AuditEntry {
        let receipt = try await committer.submit(.audit(event)).get()
        return receipt.audits[0]
    }

    /// The receipt message of a committed transaction, with its entry and the entry's proof.
    func receipt(_ transaction: ValidatedTransaction, _ receipt: CommitReceipt) throws(RPCError)
        -> Healthledger_V1_TransactionReceipt
    {
        guard let admission = receipt.admission else {
            throw RPCError(.internalError, "transaction \(transaction.id) was committed without an admission")
        }
        var wire = Healthledger_V1_TransactionReceipt()
        wire.transactionId = transaction.id
        wire.blockHeight = receipt.blockHeight
        wire.entryIndex = admission.entryIndex
        wire.committedAtUnixMs = receipt.committedAt
        wire.ledgerEntry = admission.ledgerEntry
        wire.proof = try entryProof(entryIndex: admission.entryIndex, blockHeight: receipt.blockHeight)
        return wire
    }

    /// The inclusion proof of entry `entryIndex` against the checkpoint at the end of its block `blockHeight`,
    /// with that checkpoint. The block is committed, so both exist; INTERNAL otherwise. The proof is made under the
    /// state's read lock, and a checkpoint other than the head's is read back after it.
    func entryProof(entryIndex: UInt64, blockHeight: UInt64) throws(RPCError) -> Healthledger_V1_EntryProof {
        let (inclusion, source) = try cell.read {
            (state) throws(RPCError) -> (Healthledger_V1_InclusionProof, CheckpointSource) in
            let position = Int(blockHeight) - 1
            guard blockHeight >= 1, position < state.blocks.count,
                state.blocks.entryRange(at: position).contains(entryIndex)
            else {
                throw RPCError(.internalError, "entry \(entryIndex) is not in committed block \(blockHeight)")
            }
            let inclusion = try Self.inclusionProof(
                entryIndex: entryIndex, treeSize: state.blocks.entryRange(at: position).upperBound, in: state)
            return (inclusion, Self.checkpointSource(ofBlockAt: position, in: state))
        }
        var proof = Healthledger_V1_EntryProof()
        proof.inclusion = inclusion
        proof.checkpoint = try checkpoint(source)
        return proof
    }

    /// Where the signed checkpoint at the end of the committed block at `position` (0-based) is: the head's is in
    /// the state, earlier ones in the block log.
    static func checkpointSource(ofBlockAt position: Int, in state: borrowing LedgerState) -> CheckpointSource {
        if position == state.blocks.count - 1, let head = state.blocks.last { return .head(head.checkpoint) }
        return .block(height: UInt64(position) + 1)
    }

    /// The signed checkpoint `source` names, read back from the block log unless it is the head's; call it outside
    /// the state's lock, which the committer waits for.
    func checkpoint(_ source: CheckpointSource) throws(RPCError) -> Healthledger_V1_SignedCheckpoint {
        switch source {
        case .head(let checkpoint): checkpoint
        case .block(let height): try blocks.block(height: height).checkpoint
        }
    }

    /// The inclusion proof of committed entry `entryIndex` against the latest checkpoint, with that checkpoint: what
    /// a replay attaches, so a client checks one checkpoint for many old entries instead of one per block.
    static func latestEntryProof(entryIndex: UInt64, in state: borrowing LedgerState) throws(RPCError)
        -> Healthledger_V1_EntryProof
    {
        guard let head = state.blocks.last else {
            throw RPCError(.internalError, "no committed block to prove entry \(entryIndex) against")
        }
        var proof = Healthledger_V1_EntryProof()
        proof.inclusion = try inclusionProof(entryIndex: entryIndex, treeSize: state.treeSize, in: state)
        proof.checkpoint = head.checkpoint
        return proof
    }

    /// The inclusion proof of entry `entryIndex` in the tree of the first `treeSize` entries.
    private static func inclusionProof(entryIndex: UInt64, treeSize: UInt64, in state: borrowing LedgerState)
        throws(RPCError) -> Healthledger_V1_InclusionProof
    {
        var inclusion = Healthledger_V1_InclusionProof()
        inclusion.leafIndex = entryIndex
        inclusion.treeSize = treeSize
        do {
            inclusion.auditPath = try state.tree.inclusionProof(leafIndex: entryIndex, treeSize: treeSize)
        } catch {
            throw RPCError(.internalError, "inclusion proof of entry \(entryIndex): \(error)")
        }
        return inclusion
    }
}

/// Where a signed checkpoint is: the head block's, taken from the state under its lock, or an earlier block's, read
/// back from the block log once the lock is released (the committer waits for readers).
enum CheckpointSource: Sendable, Equatable {
    case head(Healthledger_V1_SignedCheckpoint)
    case block(height: UInt64)
}
