import Glibc
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import Logging
import Metrics
import RPCCore

/// The committer of a node in a cluster. Every node applies the one block sequence etcd orders, in order, on this
/// thread (the state's only writer). The leader fills blocks with its own callers' work and the work other nodes
/// forwarded, seals them, and has etcd order each one conditionally on still leading; a follower forwards its
/// callers' work to the leader through etcd and answers them once the block holding it is applied here.
final class ClusterCommitter: CommitPipeline, @unchecked Sendable {
    private struct Submission {
        var work: CommitWork
        var continuation: CheckedContinuation<Result<CommitReceipt, RPCError>, Never>

        func resume(_ result: Result<CommitReceipt, RPCError>) { continuation.resume(returning: result) }
    }

    /// What etcd told, in its order.
    enum Event: Sendable {
        /// A block ordered by the cluster.
        case block(height: UInt64, bytes: [UInt8])
        /// Forwarded work put in the inbox (any node's).
        case inboxPut(node: String, batch: String, bytes: [UInt8])
        /// A batch left the inbox (a leader consumed it).
        case inboxDeleted(node: String, batch: String)
        /// The whole inbox, after a resynchronisation.
        case inboxReplaced([(node: String, batch: String, bytes: [UInt8])])
        /// What became of a batch this node forwarded.
        case outcome(batch: String, bytes: [UInt8])
    }

    enum Role: Sendable, Equatable {
        /// Not yet in touch with the cluster: work waits.
        case starting
        case follower
        case leader(LeaderFence)
    }

    /// Most forwarded batches in one block: etcd takes at most 128 operations in a transaction (its default
    /// --max-txn-ops) and each batch needs two (delete from the inbox, write the outcome), beside the block and head.
    static let maxForwardedBatchesPerBlock = 60
    /// Longest a forwarded call waits for its outcome (no leader, or etcd unreachable) before it is answered
    /// UNAVAILABLE with its outcome unknown.
    static let outcomeTimeoutSeconds = 30.0
    /// Applied blocks kept to answer forwarded calls from: an outcome comes in the same etcd revision as its block,
    /// so a few cover any order of delivery.
    static let appliedBlocksKept: UInt64 = 8

    private let cell: LedgerStateCell
    private let blockLog: BlockLog
    private let sealer: BlockSealer
    private let rules: LedgerRules
    private let clock: @Sendable () -> Int64
    private let ordering: any ClusterOrdering
    private let nodeKeys: ClusterNodeKeys
    private let heights: HeightWaiters
    private let logger: Logger
    private let onCommit: @Sendable (BlockDraft, BlockSummary) -> Void
    /// Destroys this node's copy of content that erasures in a block made by another node's call erased.
    private let onErasures: @Sendable ([Admission]) -> Void
    /// Called when a proposal shows this node no longer leads.
    private let onLeadershipLost: @Sendable (LeaderFence) -> Void
    /// Largest block the leader proposes: etcd refuses a request over its --max-request-bytes (1.5 MiB by default).
    private let maxBlockBytes: Int
    /// This node's key id: its inbox and outcome keys are under it.
    private let nodeID: String
    /// Makes this run's batch ids unique across restarts.
    private let runID = SecureRandom.bytes(6).map { String($0, radix: 16) }.joined()

    private let commitDuration = Metrics.Timer(label: "healthledger_block_commit_duration")
    private let appliedBlocks = Counter(label: "healthledger_cluster_blocks_applied_total")
    private let forwardedBatches = Counter(label: "healthledger_cluster_batches_forwarded_total")
    private let chainHeight = Gauge(label: "healthledger_chain_height")
    /// 1 while this node leads its cluster, else 0: exactly one node of a healthy cluster reports 1.
    private let leading = Gauge(label: "healthledger_cluster_leader")

    private let wakeup = ThreadCondition()
    // Guarded by wakeup.
    private var queue: [Submission] = []
    private var events: [Event] = []
    private var role: Role = .starting
    private var stopping = false
    private var stopped = false

    // Only the committer thread touches these.
    private var inbox: [(node: String, batch: String, work: ForwardedBatch?)] = []
    private var waitingForOutcome: [String: [Submission]] = [:]
    /// When each batch in `waitingForOutcome` was forwarded (CLOCK_MONOTONIC seconds), oldest first.
    private var forwardedAt: [(batch: String, at: Double)] = []
    private var outcomesWaitingForBlock: [UInt64: [(batch: String, outcome: ForwardedOutcome)]] = [:]
    private var recentlyApplied: [UInt64: AppliedBlock] = [:]
    private var nextBatchNumber: UInt64 = 0
    private var halted: String?

    init(
        cell: LedgerStateCell, blockLog: BlockLog, sealer: BlockSealer, rules: LedgerRules,
        clock: @escaping @Sendable () -> Int64, ordering: any ClusterOrdering, nodeKeys: ClusterNodeKeys,
        heights: HeightWaiters, maxBlockBytes: Int, logger: Logger,
        onLeadershipLost: @escaping @Sendable (LeaderFence) -> Void,
        onErasures: @escaping @Sendable ([Admission]) -> Void,
        onCommit: @escaping @Sendable (BlockDraft, BlockSummary) -> Void
    ) {
        self.onErasures = onErasures
        self.cell = cell
        self.blockLog = blockLog
        self.sealer = sealer
        self.rules = rules
        self.clock = clock
        self.ordering = ordering
        self.nodeKeys = nodeKeys
        self.heights = heights
        self.maxBlockBytes = maxBlockBytes
        self.logger = logger
        self.onLeadershipLost = onLeadershipLost
        self.onCommit = onCommit
        nodeID = sealer.nodeKeyID
    }

    func start() {
        DedicatedThread.start { self.run() }
    }

    /// Answers the work waiting with UNAVAILABLE and stops.
    func stop() {
        wakeup.lock()
        stopping = true
        wakeup.signal()
        while !stopped { wakeup.wait() }
        wakeup.unlock()
    }

    func submit(_ work: CommitWork) async -> Result<CommitReceipt, RPCError> {
        await withCheckedContinuation { continuation in
            wakeup.lock()
            if stopping {
                wakeup.unlock()
                continuation.resume(returning: .failure(RPCError(.unavailable, "the node is shutting down")))
                return
            }
            queue.append(Submission(work: work, continuation: continuation))
            wakeup.signal()
            wakeup.unlock()
        }
    }

    /// Hands over what etcd told, in its order.
    func deliver(_ newEvents: [Event]) {
        guard !newEvents.isEmpty else { return }
        wakeup.lock()
        events.append(contentsOf: newEvents)
        wakeup.signal()
        wakeup.unlock()
    }

    /// This node's role from now on.
    func setRole(_ newRole: Role) {
        wakeup.lock()
        role = newRole
        wakeup.signal()
        wakeup.unlock()
        if case .leader = newRole { leading.record(1) } else { leading.record(0) }
    }

    /// Becomes a follower unless the role changed since `fence` was current (a new leadership already began).
    func stepDown(from fence: LeaderFence) {
        wakeup.lock()
        let stepped = role == .leader(fence)
        if stepped { role = .follower }
        wakeup.unlock()
        if stepped { leading.record(0) }
    }

    /// Whether this node leads and has applied every block ordered before it won: its state then holds every
    /// block the cluster ordered (a block needs its fence), so its own checks need no read index.
    var leadsCaughtUp: Bool {
        guard case .leader(let fence) = currentRole else { return false }
        return cell.read { $0.height } >= fence.headAtElection
    }

    var currentRole: Role {
        wakeup.lock()
        defer { wakeup.unlock() }
        return role
    }

    // MARK: The committer thread

    private func run() {
        while true {
            wakeup.lock()
            while !stopping && events.isEmpty && !hasWork(role: role) {
                guard let oldest = forwardedAt.first else {
                    wakeup.wait()
                    continue
                }
                let deadline = oldest.at + Self.outcomeTimeoutSeconds
                if Self.monotonicSeconds() >= deadline { break }
                wakeup.wait(untilMonotonicSeconds: deadline)
            }
            if stopping {
                let leftover = queue
                queue = []
                stopped = true
                wakeup.broadcast()
                wakeup.unlock()
                let failure = RPCError(.unavailable, "the node is shutting down")
                for submission in leftover { submission.resume(.failure(failure)) }
                for batch in waitingForOutcome.values { for submission in batch { submission.resume(.failure(failure)) } }
                waitingForOutcome = [:]
                return
            }
            let newEvents = events
            events = []
            let currentRole = role
            var batch: [Submission] = []
            if hasWork(role: currentRole) || !queue.isEmpty {
                if canTakeLocalWork(role: currentRole) {
                    batch = Array(queue.prefix(BlockCommitter.maxSubmissionsPerBlock))
                    queue.removeFirst(batch.count)
                }
            }
            wakeup.unlock()

            for event in newEvents { handle(event) }
            expireForwardedBatches()
            if let halted {
                let failure = RPCError(.unavailable, "this node stopped following the cluster (\(halted)); see its log")
                for submission in batch { submission.resume(.failure(failure)) }
                continue
            }
            switch currentRole {
            case .starting:
                break
            case .follower:
                if !batch.isEmpty { forward(batch) }
            case .leader(let fence):
                if isCaughtUp(fence) && (!batch.isEmpty || inbox.contains(where: { $0.work != nil })) {
                    lead(batch, fence: fence)
                } else if !batch.isEmpty {
                    requeue(batch)
                }
            }
        }
    }

    /// Whether the thread has something to do for its role (called under the lock, on the committer thread).
    private func hasWork(role: Role) -> Bool {
        // A halted node only answers its callers that it cannot serve them.
        if halted != nil { return !queue.isEmpty }
        switch role {
        case .starting: return false
        case .follower: return !queue.isEmpty
        case .leader(let fence):
            guard isCaughtUp(fence) else { return false }
            return !queue.isEmpty || inbox.contains(where: { $0.work != nil })
        }
    }

    private func canTakeLocalWork(role: Role) -> Bool {
        if halted != nil { return true }
        switch role {
        case .starting: return false
        case .follower: return true
        case .leader(let fence): return isCaughtUp(fence)
        }
    }

    private func isCaughtUp(_ fence: LeaderFence) -> Bool {
        cell.readAsCommitter { $0.height } >= fence.headAtElection
    }

    private func requeue(_ submissions: [Submission]) {
        wakeup.lock()
        queue.insert(contentsOf: submissions, at: 0)
        wakeup.unlock()
    }

    private func handle(_ event: Event) {
        switch event {
        case .block(let height, let bytes):
            apply(height: height, bytes: bytes)
        case .inboxPut(let node, let batch, let bytes):
            inbox.removeAll { $0.node == node && $0.batch == batch }
            inbox.append((node, batch, Self.decodeBatch(bytes, logger: logger, node: node, batch: batch)))
        case .inboxDeleted(let node, let batch):
            inbox.removeAll { $0.node == node && $0.batch == batch }
        case .inboxReplaced(let entries):
            inbox = entries.map { ($0.node, $0.batch, Self.decodeBatch($0.bytes, logger: logger, node: $0.node, batch: $0.batch)) }
        case .outcome(let batch, let bytes):
            ordering.discardOutcome(node: nodeID, batchID: batch)
            guard waitingForOutcome[batch] != nil else { return }
            guard let outcome = try? ForwardedOutcome(serializedBytes: bytes) else {
                logger.error("an undecodable outcome of a forwarded batch", metadata: ["batch": "\(batch)"])
                answer(batch: batch, with: nil)
                return
            }
            if outcome.blockHeight == 0 {
                answer(batch: batch, refusals: outcome)
            } else if outcome.blockHeight <= cell.readAsCommitter({ $0.height }) {
                resolve(batch: batch, outcome: outcome)
            } else {
                outcomesWaitingForBlock[outcome.blockHeight, default: []].append((batch, outcome))
            }
        }
    }

    /// A batch that cannot be decoded is kept (so it is consumed and answered) with no work.
    private static func decodeBatch(_ bytes: [UInt8], logger: Logger, node: String, batch: String) -> ForwardedBatch? {
        do { return try ForwardedBatch(serializedBytes: bytes) } catch {
            logger.error("an undecodable forwarded batch", metadata: ["node": "\(node)", "batch": "\(batch)", "error": "\(error)"])
            return ForwardedBatch()
        }
    }

    // MARK: Applying the cluster's blocks

    private func apply(height: UInt64, bytes: [UInt8]) {
        guard halted == nil else { return }
        let current = cell.readAsCommitter { $0.height }
        // A block this node committed as leader, or one a resynchronisation delivers again.
        if height <= current { return }
        guard height == current + 1 else {
            halt("block \(height) arrived after block \(current): a block is missing")
            return
        }
        let started = ContinuousClock.now
        let keys = nodeKeys.current
        let rules = rules
        let applied: AppliedBlock
        do {
            applied = try cell.write { (state) throws(ChainVerificationError) in
                try BlockReplay.apply(
                    bytes, to: &state, rules: rules, nodeKeys: keys, verifySignatures: true, collectAdmissions: true)
            }
        } catch {
            halt("block \(height) from the cluster does not verify: \(error)")
            return
        }
        do { try blockLog.append(bytes) } catch {
            // The block is the cluster's; this node serves it from memory and takes it from etcd again on restart.
            logger.error("could not append a cluster block to the block log", metadata: ["height": "\(height)", "error": "\(error)"])
        }
        onCommit(applied.draft, applied.summary)
        eraseContent(applied.admissions.values)
        commitDuration.record(duration: ContinuousClock.now - started)
        appliedBlocks.increment()
        chainHeight.record(Int64(height))
        recentlyApplied[height] = applied
        recentlyApplied[height &- Self.appliedBlocksKept] = nil
        heights.reached(height)
        for (batch, outcome) in outcomesWaitingForBlock.removeValue(forKey: height) ?? [] {
            resolve(batch: batch, outcome: outcome)
        }
    }

    private func eraseContent(_ admissions: some Collection<Admission>) {
        let erasures = admissions.filter { $0.erasesAllOf != nil || !$0.erasedRecords.isEmpty }
        if !erasures.isEmpty { onErasures(erasures) }
    }

    private func halt(_ reason: String) {
        logger.critical("this node stopped applying the cluster's blocks", metadata: ["reason": "\(reason)"])
        halted = reason
    }

    // MARK: Following: forwarding work to the leader

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Answers UNAVAILABLE the calls whose forwarded batch has waited too long for an outcome: it may still be
    /// ordered later, and a transaction resent with the same bytes is then refused as a replay (ALREADY_EXISTS).
    private func expireForwardedBatches() {
        let now = Self.monotonicSeconds()
        forwardedAt.removeAll { waitingForOutcome[$0.batch] == nil }
        while let oldest = forwardedAt.first, now - oldest.at >= Self.outcomeTimeoutSeconds {
            forwardedAt.removeFirst()
            guard let submissions = waitingForOutcome.removeValue(forKey: oldest.batch) else { continue }
            let failure = RPCError(
                .unavailable,
                "no leader ordered this call within \(Int(Self.outcomeTimeoutSeconds)) s; its outcome is unknown, retry it")
            for submission in submissions { submission.resume(.failure(failure)) }
        }
    }

    private func forward(_ batch: [Submission]) {
        var work: [ForwardedWork] = []
        var forwarded: [Submission] = []
        let now = clock()
        for submission in batch {
            switch submission.work {
            case .transaction(let transaction, let receivedAt):
                work.append(ForwardedWork(.transaction(transaction.signed), receivedAt: receivedAt))
                forwarded.append(submission)
            case .audit(let event):
                work.append(ForwardedWork(.auditEvent(event), receivedAt: now))
                forwarded.append(submission)
            case .emptyBlock:
                submission.resume(.failure(RPCError(.failedPrecondition, "only the cluster's leader starts a chain")))
            }
        }
        guard !work.isEmpty else { return }
        nextBatchNumber += 1
        let batchID = "\(runID)-\(nextBatchNumber)"
        waitingForOutcome[batchID] = forwarded
        forwardedAt.append((batchID, Self.monotonicSeconds()))
        do {
            try ordering.forward(ForwardedBatch(work: work), node: nodeID, batchID: batchID)
            forwardedBatches.increment()
        } catch where error.isUnprocessed {
            waitingForOutcome[batchID] = nil
            for submission in forwarded { submission.resume(.failure(error)) }
        } catch {
            // The batch may be in the inbox after all: its callers wait for an outcome (up to the timeout) rather
            // than hear UNAVAILABLE for work that is then committed.
            logger.warning("forwarding a batch lost its answer; waiting for its outcome", metadata: ["batch": "\(batchID)"])
        }
    }

    /// Answers the callers of a forwarded batch from its outcome and the applied block that holds it.
    private func resolve(batch: String, outcome: ForwardedOutcome) {
        guard let applied = recentlyApplied[outcome.blockHeight] else {
            answer(batch: batch, with: nil)
            return
        }
        answer(batch: batch, with: (applied, outcome))
    }

    /// Answers a batch refused as a whole, without a block.
    private func answer(batch: String, refusals: ForwardedOutcome) {
        guard let submissions = waitingForOutcome.removeValue(forKey: batch) else { return }
        for (index, submission) in submissions.enumerated() {
            let refusal = index < refusals.outcomes.count ? refusals.outcomes[index] : WorkOutcome()
            let code = RPCError.Code(rawValue: Int(refusal.statusCode)) ?? .unknown
            submission.resume(.failure(RPCError(code == .ok ? .unavailable : code, refusal.statusMessage)))
        }
    }

    private func answer(batch: String, with settled: (applied: AppliedBlock, outcome: ForwardedOutcome)?) {
        guard let submissions = waitingForOutcome.removeValue(forKey: batch) else { return }
        guard let (applied, outcome) = settled, outcome.outcomes.count == submissions.count else {
            let failure = RPCError(.unavailable, "the outcome of this call is unknown; retry it")
            for submission in submissions { submission.resume(.failure(failure)) }
            return
        }
        for (submission, result) in zip(submissions, outcome.outcomes) {
            submission.resume(Self.receipt(result, in: applied))
        }
    }

    /// The receipt of one piece of work from its outcome, with what its admission did in the applied block.
    private static func receipt(_ outcome: WorkOutcome, in applied: AppliedBlock) -> Result<CommitReceipt, RPCError> {
        guard outcome.statusCode == 0 else {
            let code = RPCError.Code(rawValue: Int(outcome.statusCode)) ?? .unknown
            return .failure(RPCError(code, outcome.statusMessage))
        }
        let entries = outcome.firstEntryIndex..<(outcome.firstEntryIndex + UInt64(outcome.entryCount))
        let audits = applied.draft.auditEvents.filter { entries.contains($0.event.entryIndex) }
        return .success(
            CommitReceipt(
                admission: applied.admissions[outcome.firstEntryIndex], audits: audits,
                blockHeight: applied.draft.height, committedAt: applied.draft.time))
    }

    // MARK: Leading: filling, sealing and ordering blocks

    private func lead(_ batch: [Submission], fence: LeaderFence) {
        let started = ContinuousClock.now
        let rules = rules
        var draft = cell.readAsCommitter { state in BlockDraft(after: state, time: clock(), rules: rules) }
        var salts = EntrySalts(entries: 2 * batch.count)
        var outcomes: [Result<(Admission?, [AuditEntry]), RPCError>] = []
        var batch = batch
        var blockBytes = 0
        for (position, submission) in batch.enumerated() {
            if blockBytes > maxBlockBytes {
                requeue(Array(batch[position...]))
                batch.removeSubrange(position...)
                break
            }
            let before = draft.entryCount
            let outcome = cell.readAsCommitter { state in draft.add(submission.work, salts: &salts, on: state, rules: rules) }
            outcomes.append(outcome.map { ($0.admission, $0.audits) })
            blockBytes += draft.entries[before...].reduce(0) { $0 + $1.count }
        }
        var consumed: [(node: String, batch: String, outcome: ForwardedOutcome)] = []
        var forwardedAdmissions: [UInt64: Admission] = [:]
        for pending in inbox where pending.work != nil {
            if blockBytes > maxBlockBytes || consumed.count == Self.maxForwardedBatchesPerBlock { break }
            let before = draft.entryCount
            var outcome = ForwardedOutcome()
            outcome.blockHeight = draft.height
            for work in pending.work!.work {
                let (result, admission) = admitForwarded(work, into: &draft, salts: &salts)
                outcome.outcomes.append(result)
                if let admission { forwardedAdmissions[admission.entryIndex] = admission }
            }
            blockBytes += draft.entries[before...].reduce(0) { $0 + $1.count }
            consumed.append((pending.node, pending.batch, outcome))
        }
        let needsBlock =
            draft.entryCount > 0 || !consumed.isEmpty || batch.contains(where: { $0.work.isEmptyBlock })
        guard needsBlock else {
            answer(batch, outcomes, draft: draft)
            return
        }
        let (summary, stored) = cell.write { state in sealer.seal(draft, onto: &state) }
        let result: ProposalResult
        do {
            result = try ordering.propose(
                BlockProposal(height: draft.height, storedBlock: stored, consumed: consumed), fence: fence)
        } catch {
            cell.write { $0.discardUncommittedLeaves() }
            if error.code == .resourceExhausted && !consumed.isEmpty {
                refuseForwarded(consumed.map { ($0.node, $0.batch) }, error: error, fence: fence)
            }
            for submission in batch { submission.resume(.failure(error)) }
            return
        }
        guard result == .committed else {
            cell.write { $0.discardUncommittedLeaves() }
            if case .superseded(let reason) = result {
                logger.warning("this node no longer leads the cluster", metadata: ["reason": "\(reason)"])
            }
            stepDown(from: fence)
            onLeadershipLost(fence)
            let failure = RPCError(.unavailable, "the cluster's leader changed while this call was being committed; retry it")
            for submission in batch { submission.resume(.failure(failure)) }
            return
        }
        do { try blockLog.append(stored) } catch {
            // Ordered by the cluster, so not lost: this node takes it from etcd again when it restarts.
            logger.error("could not append a block to the block log", metadata: ["height": "\(draft.height)", "error": "\(error)"])
        }
        cell.write { $0.commit(draft, summary: summary) }
        onCommit(draft, summary)
        commitDuration.record(duration: ContinuousClock.now - started)
        chainHeight.record(Int64(draft.height))
        heights.reached(draft.height)
        // This node's own forwarded batches (sent while it followed) are answered from here when their outcome comes.
        recentlyApplied[draft.height] = AppliedBlock(draft: draft, summary: summary, admissions: forwardedAdmissions)
        recentlyApplied[draft.height &- Self.appliedBlocksKept] = nil
        eraseContent(forwardedAdmissions.values)
        let taken = Set(consumed.map { "\($0.node)/\($0.batch)" })
        inbox.removeAll { taken.contains("\($0.node)/\($0.batch)") }
        answer(batch, outcomes, draft: draft)
    }

    /// Answers forwarded batches with `error` without a block, so they leave the inbox.
    private func refuseForwarded(_ batches: [(node: String, batch: String)], error: RPCError, fence: LeaderFence) {
        let refusals = batches.map { pending in
            let count = inbox.first { $0.node == pending.node && $0.batch == pending.batch }?.work?.work.count ?? 0
            var refusal = WorkOutcome()
            refusal.statusCode = UInt32(error.code.rawValue)
            refusal.statusMessage = error.message
            var outcome = ForwardedOutcome()
            outcome.outcomes = Array(repeating: refusal, count: count)
            return (pending.node, pending.batch, outcome)
        }
        do {
            try ordering.refuse(refusals, fence: fence)
            let refused = Set(batches.map { "\($0.node)/\($0.batch)" })
            inbox.removeAll { refused.contains("\($0.node)/\($0.batch)") }
        } catch {
            logger.error("could not refuse forwarded work etcd cannot take", metadata: ["error": "\(error)"])
        }
    }

    /// Admits one piece of another node's work: a transaction is checked again here, signature included, since
    /// the etcd inbox is not where trust comes from.
    private func admitForwarded(_ work: ForwardedWork, into draft: inout BlockDraft, salts: inout EntrySalts)
        -> (WorkOutcome, Admission?)
    {
        var outcome = WorkOutcome()
        let first = draft.nextEntryIndex
        let result: Result<(admission: Admission?, audits: [AuditEntry]), RPCError>
        switch work.work {
        case .transaction(let signed)?:
            do throws(RPCError) {
                let transaction = try cell.readAsCommitter { (state) throws(RPCError) in
                    try Self.verified(signed, in: state)
                }
                result = cell.readAsCommitter { state in
                    draft.add(.transaction(transaction, receivedAt: work.receivedAtUnixMs), salts: &salts, on: state, rules: rules)
                }
            } catch {
                result = .failure(error)
            }
        case .auditEvent(let event)?:
            result = cell.readAsCommitter { state in draft.add(.audit(event), salts: &salts, on: state, rules: rules) }
        case nil:
            result = .failure(RPCError(.internalError, "forwarded work without a transaction or an audit event"))
        }
        switch result {
        case .success(let admitted):
            outcome.firstEntryIndex = first
            outcome.entryCount = UInt32(draft.nextEntryIndex - first)
            return (outcome, admitted.admission)
        case .failure(let error):
            outcome.statusCode = UInt32(error.code.rawValue)
            outcome.statusMessage = error.message
            return (outcome, nil)
        }
    }

    /// A forwarded transaction validated and its signature verified with its author's key in `state`.
    static func verified(_ signed: Healthledger_V1_SignedTransaction, in state: borrowing LedgerState) throws(RPCError)
        -> ValidatedTransaction
    {
        let transaction = try TransactionValidator.validate(signed, expecting: nil)
        guard let key = transaction.attachedKey ?? state.keys[signed.keyId]?.key else {
            throw RPCError(.unauthenticated, "transaction.key_id: key \(signed.keyId) is not known")
        }
        try TransactionValidator.verifySignature(of: transaction, with: key)
        return transaction
    }

    private func answer(
        _ batch: [Submission], _ outcomes: [Result<(Admission?, [AuditEntry]), RPCError>], draft: BlockDraft
    ) {
        for (submission, outcome) in zip(batch, outcomes) {
            submission.resume(
                outcome.map { admission, audits in
                    CommitReceipt(admission: admission, audits: audits, blockHeight: draft.height, committedAt: draft.time)
                })
        }
    }
}
