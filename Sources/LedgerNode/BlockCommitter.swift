import Glibc
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import Metrics
import RPCCore

/// What a committed submission got: its admission (transactions), its audit entries, and where they landed.
struct CommitReceipt: Sendable {
    var admission: Admission?
    var audits: [AuditEntry]
    var blockHeight: UInt64
    var committedAt: Int64
}

/// Work for the next block.
enum CommitWork: Sendable {
    /// A transaction whose signature was verified, received at `receivedAt` (milliseconds since the Unix epoch: the
    /// time of the audit events its commit or refusal adds, see ``TransactionAudits``).
    case transaction(ValidatedTransaction, receivedAt: Int64)
    /// An access decision to log before anything is released.
    case audit(Healthledger_V1_AuditEvent)
    /// A block even without entries (the first block of a new chain).
    case emptyBlock

    var isEmptyBlock: Bool {
        if case .emptyBlock = self { true } else { false }
    }
}

extension BlockDraft {
    /// Adds `work` as the next entries: a transaction admitted against `state` and what this draft already holds,
    /// with the audit events its outcome calls for; an audit event as it is. A refused transaction adds only its
    /// audit event, and its error is the result.
    mutating func add(
        _ work: CommitWork, salts: inout EntrySalts, on state: borrowing LedgerState, rules: LedgerRules
    ) -> Result<(admission: Admission?, audits: [AuditEntry]), RPCError> {
        switch work {
        case .transaction(let transaction, let receivedAt):
            do throws(RPCError) {
                let admission = try admit(transaction, salt: salts.next(), on: state)
                var audits: [AuditEntry] = []
                if let event = TransactionAudits.onSuccess(
                    transaction, admission: admission, rules: rules, receivedAt: receivedAt)
                {
                    audits.append(appendAudit(event, salt: salts.next()))
                }
                return .success((admission, audits))
            } catch {
                if let event = TransactionAudits.onDenial(
                    transaction, error: error, rules: rules, receivedAt: receivedAt, in: state)
                {
                    appendAudit(event, salt: salts.next())
                }
                return .failure(error)
            }
        case .audit(let event):
            return .success((nil, [appendAudit(event, salt: salts.next())]))
        case .emptyBlock:
            return .success((nil, []))
        }
    }
}

/// Turns submitted work into committed blocks: ``BlockCommitter`` on a single node, ``ClusterCommitter`` in a
/// cluster.
protocol CommitPipeline: Sendable {
    /// Starts committing.
    func start()
    /// Stops; work submitted later gets UNAVAILABLE.
    func stop()
    /// Puts `work` into a block and waits until that block is durable (or the work refused).
    func submit(_ work: CommitWork) async -> Result<CommitReceipt, RPCError>
}

/// Group commit on one dedicated thread: takes every submission waiting, admits them in order into one block,
/// seals it, appends it to the block log with fsync, and only then publishes the new state and answers the
/// submitters. While one block is being made durable the next batch accumulates, so the batch grows with load
/// and a lone request waits for one fsync only.
final class BlockCommitter: CommitPipeline, @unchecked Sendable {
    private struct Submission {
        var work: CommitWork
        var continuation: CheckedContinuation<Result<CommitReceipt, RPCError>, Never>
    }

    /// Most submissions in one block.
    static let maxSubmissionsPerBlock = 4096
    /// A block stops taking submissions once its entries pass this size, well inside the block log's frame limit
    /// (one query's audit event may list 10,000 released records).
    static let maxBlockBytes = 16 << 20

    private let cell: LedgerStateCell
    private let blockLog: BlockLog
    private let sealer: BlockSealer
    private let rules: LedgerRules
    private let clock: @Sendable () -> Int64
    private let onCommit: @Sendable (BlockDraft, BlockSummary) -> Void

    // What operators watch: block commit latency (seal + append + fsync), throughput, refusals, height.
    private let commitDuration = Metrics.Timer(label: "healthledger_block_commit_duration")
    private let committedEntries = Counter(label: "healthledger_entries_committed_total")
    private let committedTransactions = Counter(label: "healthledger_transactions_committed_total")
    private let refusedTransactions = Counter(label: "healthledger_transactions_refused_total")
    private let storageFailures = Counter(label: "healthledger_block_append_failures_total")
    private let chainHeight = Gauge(label: "healthledger_chain_height")

    private let wakeup = ThreadCondition()
    // Guarded by wakeup.
    private var queue: [Submission] = []
    private var stopping = false
    private var stopped = false
    private var unavailableReason: String?

    init(
        cell: LedgerStateCell, blockLog: BlockLog, sealer: BlockSealer, rules: LedgerRules,
        clock: @escaping @Sendable () -> Int64, onCommit: @escaping @Sendable (BlockDraft, BlockSummary) -> Void
    ) {
        self.cell = cell
        self.blockLog = blockLog
        self.sealer = sealer
        self.rules = rules
        self.clock = clock
        self.onCommit = onCommit
    }

    /// Starts the committer thread.
    func start() {
        DedicatedThread.start { self.run() }
    }

    /// Commits the pending work and stops; later submissions get UNAVAILABLE.
    func stop() {
        wakeup.lock()
        stopping = true
        wakeup.signal()
        while !stopped { wakeup.wait() }
        wakeup.unlock()
    }

    /// Puts `work` into the next block and waits until that block is durable (or refused).
    func submit(_ work: CommitWork) async -> Result<CommitReceipt, RPCError> {
        await withCheckedContinuation { continuation in
            wakeup.lock()
            if stopping {
                wakeup.unlock()
                continuation.resume(returning: .failure(RPCError(.unavailable, "the node is shutting down")))
                return
            }
            queue.append(Submission(work: work, continuation: continuation))
            if queue.count == 1 { wakeup.signal() }
            wakeup.unlock()
        }
    }

    private func requeue(_ submissions: [Submission]) {
        wakeup.lock()
        queue.insert(contentsOf: submissions, at: 0)
        wakeup.unlock()
    }

    private func run() {
        while true {
            wakeup.lock()
            while queue.isEmpty && !stopping { wakeup.wait() }
            if queue.isEmpty && stopping {
                stopped = true
                wakeup.broadcast()
                wakeup.unlock()
                return
            }
            let batch: [Submission]
            if queue.count <= Self.maxSubmissionsPerBlock {
                batch = queue
                queue = []
                queue.reserveCapacity(batch.count)
            } else {
                batch = Array(queue.prefix(Self.maxSubmissionsPerBlock))
                queue.removeFirst(Self.maxSubmissionsPerBlock)
            }
            wakeup.unlock()
            commit(batch)
        }
    }

    private func commit(_ batch: [Submission]) {
        let started = ContinuousClock.now
        var draft = cell.readAsCommitter { state in
            BlockDraft(after: state, time: clock(), rules: rules)
        }
        var outcomes: [Result<(Admission?, [AuditEntry]), RPCError>] = []
        outcomes.reserveCapacity(batch.count)
        var blockBytes = 0
        var batch = batch
        var salts = EntrySalts(entries: 2 * batch.count)
        for (position, submission) in batch.enumerated() {
            if blockBytes > Self.maxBlockBytes {
                // The rest goes first into the next block.
                requeue(Array(batch[position...]))
                batch.removeSubrange(position...)
                break
            }
            let entriesBefore = draft.entryCount
            defer { blockBytes += draft.entries[entriesBefore...].reduce(0) { $0 + $1.count } }
            let outcome = cell.readAsCommitter { state in
                draft.add(submission.work, salts: &salts, on: state, rules: rules)
            }
            if case .transaction = submission.work {
                if case .success = outcome { committedTransactions.increment() } else { refusedTransactions.increment() }
            }
            outcomes.append(outcome.map { ($0.admission, $0.audits) })
        }

        if draft.entryCount > 0 || batch.contains(where: { $0.work.isEmptyBlock }) {
            let (summary, stored) = cell.write { state in sealer.seal(draft, onto: &state) }
            do {
                try blockLog.append(stored)
            } catch {
                storageFailures.increment()
                cell.write { $0.discardUncommittedLeaves() }
                let failure = RPCError(.unavailable, "the node cannot commit right now (\(error)); retry later")
                for submission in batch { submission.continuation.resume(returning: .failure(failure)) }
                return
            }
            cell.write { $0.commit(draft, summary: summary) }
            onCommit(draft, summary)
            commitDuration.record(duration: ContinuousClock.now - started)
            committedEntries.increment(by: draft.entryCount)
            chainHeight.record(Int64(draft.height))
        }
        for (submission, outcome) in zip(batch, outcomes) {
            submission.continuation.resume(
                returning: outcome.map { admission, audits in
                    CommitReceipt(admission: admission, audits: audits, blockHeight: draft.height, committedAt: draft.time)
                })
        }
    }
}

/// The 16-byte salts of a block's entries, drawn from the CSPRNG in one call per block rather than one per entry.
struct EntrySalts {
    static let byteCount = 16
    private var pool: [UInt8]
    private var used = 0

    /// Salts for up to `entries` entries; more are drawn one at a time.
    init(entries: Int) {
        pool = SecureRandom.bytes(entries * Self.byteCount)
    }

    /// The next unused salt.
    mutating func next() -> [UInt8] {
        guard used + Self.byteCount <= pool.count else { return SecureRandom.bytes(Self.byteCount) }
        defer { used += Self.byteCount }
        return Array(pool[used..<used + Self.byteCount])
    }
}
