import CMalloc
import Glibc
import LedgerDomain
import LedgerStorage
import Logging

/// Writes state snapshots in the background while the node runs, on its own low-priority thread, one at a time.
///
/// The committer reports each block (`blockCommitted`); when `SnapshotTrigger` says a snapshot is due, the thread
/// copies the committed state under the read lock (a copy shares the state's chunks, so this costs microseconds, and
/// the committer's next block copies only the chunks it changes), then encodes it and writes it with
/// `SnapshotFile.write` (durable, atomic, newest two kept) without holding any lock. A failed write is logged and
/// retried later; it never stops the node.
final class SnapshotWriter: @unchecked Sendable {
    private let cell: LedgerStateCell
    private let directory: String
    private let logger: Logger
    private let write: @Sendable ([UInt8], UInt64, String) throws(StorageError) -> Void

    private let wakeup = ThreadCondition()
    // Guarded by wakeup.
    private var trigger: SnapshotTrigger
    private var stopping = false
    private var running = false

    /// A writer for the node whose committed state is `cell`; `trigger` says what the snapshots on disk cover.
    /// `write` is `SnapshotFile.write` (replaceable to make writes fail).
    init(
        cell: LedgerStateCell, directory: String, trigger: SnapshotTrigger, logger: Logger,
        write: @escaping @Sendable ([UInt8], UInt64, String) throws(StorageError) -> Void = {
            bytes, height, directory throws(StorageError) in
            try SnapshotFile.write(bytes, height: height, to: directory)
        }
    ) {
        self.cell = cell
        self.directory = directory
        self.trigger = trigger
        self.logger = logger
        self.write = write
    }

    /// Starts the writer thread.
    func start() {
        wakeup.lock()
        running = true
        wakeup.unlock()
        DedicatedThread.start { self.run() }
    }

    /// Called by the committer after each block: the log now holds `entries` entries.
    func blockCommitted(entries: UInt64) {
        wakeup.lock()
        trigger.committed(entries: entries, now: Self.now())
        if trigger.isDue(now: Self.now()) { wakeup.signal() }
        wakeup.unlock()
    }

    /// Stops the thread, waiting for a snapshot being written to finish. Returns the height the newest snapshot on
    /// disk covers (nil: none).
    func stop() -> UInt64? {
        wakeup.lock()
        stopping = true
        wakeup.signal()
        while running { wakeup.wait() }
        let covered = trigger.coveredHeight
        wakeup.unlock()
        return covered
    }

    private func run() {
        // Below the committer and the request handlers: a snapshot may take a while, and nothing waits for it.
        // (On Linux the nice value is per thread, and "who" 0 is the calling thread.)
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        wakeup.lock()
        while true {
            while !stopping && !trigger.isDue(now: Self.now()) {
                if let deadline = trigger.nextDeadline() {
                    wakeup.wait(untilMonotonicSeconds: deadline)
                } else {
                    wakeup.wait()
                }
            }
            if stopping { break }
            let (height, succeeded) = { () -> (UInt64, Bool) in
                // The copy shares the state's storage; taking it holds the read lock for a moment only.
                let state = cell.read { $0 }
                trigger.started(entries: state.treeSize)
                wakeup.unlock()
                return (state.height, writeSnapshot(of: state))
            }()
            // The copy is released by now, and with it what the committer's changes meanwhile had to duplicate
            // (chunks, shards, tables it shared). The encoding's buffers (as large as the state, more while the
            // encoder grows them) were freed too. glibc keeps freed memory for reuse unless asked to give it back,
            // which would hold the peak of every snapshot as resident memory for the node's lifetime.
            malloc_trim(0)
            wakeup.lock()
            trigger.finished(height: height, succeeded: succeeded, now: Self.now())
        }
        running = false
        wakeup.broadcast()
        wakeup.unlock()
    }

    /// Encodes and writes `state`; logs the outcome. Also used for the snapshot at a clean shutdown.
    @discardableResult
    func writeSnapshot(of state: LedgerState) -> Bool {
        let started = ContinuousClock.now
        let cpuStarted = Self.threadCPUMilliseconds()
        let bytes = state.snapshot().serializedBytes()
        let encoded = ContinuousClock.now
        do {
            try write(bytes, state.height, directory)
        } catch {
            logger.error(
                "could not write a snapshot; will try again later (the block log is intact, a start replays more of it)",
                metadata: ["height": "\(state.height)", "error": "\(error)"])
            return false
        }
        logger.info(
            "wrote a snapshot",
            metadata: [
                "height": "\(state.height)", "entries": "\(state.treeSize)", "bytes": "\(bytes.count)",
                "ms": "\(Self.milliseconds(ContinuousClock.now - started))",
                "encode_ms": "\(Self.milliseconds(encoded - started))",
                "cpu_ms": "\(Self.threadCPUMilliseconds() - cpuStarted)",
            ])
        return true
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// CPU time of the calling thread: a snapshot runs at a low priority, so its wall time says little.
    private static func threadCPUMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// Seconds on the monotonic clock the condition variable waits on.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
