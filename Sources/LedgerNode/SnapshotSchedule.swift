/// When a running node writes a state snapshot, so that a start after a crash replays a short tail of the block log
/// instead of all of it: once `everyEntries` entries are not yet covered by a snapshot, or once the oldest such entry
/// is `everySeconds` old, whichever comes first. Zero turns a trigger off; both zero, only a clean shutdown writes one.
public struct SnapshotSchedule: Sendable, Hashable {
    /// Entries committed since the last snapshot that make the next one due; 0: no count trigger.
    public var everyEntries: UInt64
    /// Seconds an entry may stay uncovered by a snapshot; 0: no time trigger.
    public var everySeconds: Double
    /// Seconds to wait after a snapshot failed to write before trying again.
    public var retrySeconds: Double

    /// Every 100,000 entries or 10 minutes, whichever comes first; a failed write is retried after a minute.
    public init(everyEntries: UInt64 = 100_000, everySeconds: Double = 600, retrySeconds: Double = 60) {
        self.everyEntries = everyEntries
        self.everySeconds = everySeconds
        self.retrySeconds = retrySeconds
    }
}

/// The decision of when the next snapshot is due, as a value fed with commits and snapshot outcomes, so it can be
/// checked without threads or files. Times are seconds on any monotonic clock.
struct SnapshotTrigger: Sendable {
    let schedule: SnapshotSchedule
    /// Log size the newest snapshot on disk covers.
    private(set) var coveredEntries: UInt64
    /// Height of that snapshot (nil: none yet).
    private(set) var coveredHeight: UInt64?
    /// Log size after the latest commit.
    private(set) var committedEntries: UInt64
    /// When the oldest entry not covered by a snapshot (nor by the one being written) was committed.
    private var oldestUncovered: Double?
    /// While a snapshot is being written: the log size it covers and `oldestUncovered` before it started.
    private var inFlight: (entries: UInt64, oldestUncovered: Double?)?
    /// After a failure: no new attempt before this time.
    private var retryNotBefore: Double?

    /// A trigger for a node that started with `committedEntries` entries, of which a snapshot at `coveredHeight`
    /// covers `coveredEntries`; the rest, replayed at start, count as committed `now`.
    init(
        schedule: SnapshotSchedule, coveredHeight: UInt64?, coveredEntries: UInt64, committedEntries: UInt64,
        now: Double
    ) {
        self.schedule = schedule
        self.coveredHeight = coveredHeight
        self.coveredEntries = coveredEntries
        self.committedEntries = committedEntries
        oldestUncovered = committedEntries > coveredEntries ? now : nil
    }

    /// Whether a snapshot is being written.
    var isWriting: Bool { inFlight != nil }

    /// A block committed; the log now holds `entries` entries.
    mutating func committed(entries: UInt64, now: Double) {
        guard entries > committedEntries else { return }
        committedEntries = entries
        if oldestUncovered == nil { oldestUncovered = now }
    }

    /// Whether a snapshot should start now (never while one is being written).
    func isDue(now: Double) -> Bool {
        guard inFlight == nil, let oldest = oldestUncovered else { return false }
        if let retryNotBefore, now < retryNotBefore { return false }
        let uncovered = committedEntries - coveredEntries
        if schedule.everyEntries > 0 && uncovered >= schedule.everyEntries { return true }
        return schedule.everySeconds > 0 && now - oldest >= schedule.everySeconds
    }

    /// When `isDue` can next turn true without another commit (nil: only a commit can make it due).
    func nextDeadline() -> Double? {
        guard inFlight == nil, let oldest = oldestUncovered else { return nil }
        var deadline: Double? = schedule.everySeconds > 0 ? oldest + schedule.everySeconds : nil
        if let retryNotBefore {
            let countDue = schedule.everyEntries > 0 && committedEntries - coveredEntries >= schedule.everyEntries
            deadline = countDue ? retryNotBefore : deadline.map { max($0, retryNotBefore) }
        }
        return deadline
    }

    /// A snapshot of the state holding `entries` entries starts being written.
    mutating func started(entries: UInt64) {
        precondition(inFlight == nil, "one snapshot at a time")
        inFlight = (entries, oldestUncovered)
        // Entries committed from now on are not in it.
        oldestUncovered = nil
        if committedEntries > entries { oldestUncovered = inFlight?.oldestUncovered }
    }

    /// The snapshot started last is durable (it covers the state at `height`), or failed to write at `now`.
    mutating func finished(height: UInt64, succeeded: Bool, now: Double) {
        guard let (entries, oldestBefore) = inFlight else { preconditionFailure("no snapshot is being written") }
        inFlight = nil
        if succeeded {
            coveredEntries = entries
            coveredHeight = height
            retryNotBefore = nil
        } else {
            // Nothing got covered: the oldest uncovered entry is the one from before the attempt.
            if let oldestBefore { oldestUncovered = min(oldestUncovered ?? oldestBefore, oldestBefore) }
            retryNotBefore = now + schedule.retrySeconds
        }
    }
}
