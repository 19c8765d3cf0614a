/// How a `LedgerClient` repeats a call that failed with UNAVAILABLE (the node went away, is restarting, or cannot
/// serve the call now): once after each of `delays`. Through a failover transport the next attempt goes to whichever
/// node it uses then, so a client of a cluster sees no error when one node dies. A transaction is repeated with the
/// very same signed bytes, which the ledger's replay guard makes safe; a read is simply asked again.
public struct RetrySchedule: Sendable, Hashable {
    /// The wait before each repetition, in order; as many repetitions as waits.
    public var delays: [Duration]

    /// Repeats after each of `delays`.
    public init(delays: [Duration]) {
        self.delays = delays
    }

    /// Three repetitions, 200, 400 and 800 ms apart: long enough for a failover transport to find another node, or a
    /// node that restarts at once to be back.
    public static let standard = RetrySchedule(delays: [.milliseconds(200), .milliseconds(400), .milliseconds(800)])

    /// No repetition: the first UNAVAILABLE is the caller's.
    public static let none = RetrySchedule(delays: [])

    /// The wait before repetition `attempt` (1 for the first), or nil when there is none left.
    public func delay(beforeRepetition attempt: Int) -> Duration? {
        attempt >= 1 && attempt <= delays.count ? delays[attempt - 1] : nil
    }
}
