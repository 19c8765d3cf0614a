import RPCCore

/// What a client transport carries from one connection to the next (loop thread only): the backoff between
/// failed attempts, the last connect error, and the keepalive time the server has made us lengthen.
final class ClientReconnection {
    private var schedule: ConnectionBackoff.Schedule
    /// The backoff wait of the attempt in progress, from `attemptStarting`.
    private var attemptDelay: Duration = .zero
    private var attemptStartedAt: UInt64 = 0
    /// When the next attempt may start (monotonic ns); nil when it may start at once.
    private(set) var retryAt: UInt64?
    /// Why the last attempt failed.
    private(set) var lastError: RPCError?
    /// The keepalive for the next connection; its time doubles on each "too_many_pings".
    private(set) var keepalive: ClientKeepalive?
    /// Connection attempts made so far (for tests and diagnostics).
    private(set) var attempts = 0
    /// The latest attempts (at most `recentAttemptLimit`), oldest first, for tests and diagnostics.
    private(set) var recentAttempts: [ConnectionAttemptRecord] = []
    private static let recentAttemptLimit = 16

    /// Reconnection state for `backoff`, with `keepalive` for the first connection.
    init(backoff: ConnectionBackoff, keepalive: ClientKeepalive?) {
        self.schedule = ConnectionBackoff.Schedule(backoff)
        self.keepalive = keepalive
    }

    /// An attempt starts now; returns how long it may take to connect.
    func attemptStarting() -> Duration {
        attempts += 1
        attemptStartedAt = MonotonicTime.now
        attemptDelay = schedule.nextDelay()
        retryAt = nil
        if recentAttempts.count == Self.recentAttemptLimit { recentAttempts.removeFirst() }
        recentAttempts.append(ConnectionAttemptRecord(startedAt: attemptStartedAt, keepaliveTime: keepalive?.time))
        return schedule.connectTimeout(forDelay: attemptDelay)
    }

    /// The attempt failed (or the connection closed before it was ready): the next waits out the backoff,
    /// counted from this attempt's start as in the doc's pseudo-code.
    func attemptFailed(_ error: RPCError) {
        lastError = error
        retryAt = attemptStartedAt &+ attemptDelay.nanoseconds
    }

    /// The connection is ready: the next run of failures starts again at the initial backoff.
    func attemptSucceeded() {
        schedule.reset()
        retryAt = nil
        lastError = nil
    }

    /// The error for a call made while backing off, naming the last connect error; nil when not backing off.
    func backoffError(now: UInt64 = MonotonicTime.now) -> RPCError? {
        guard let retryAt, now < retryAt, let lastError else { return nil }
        let remaining = Duration.nanoseconds(Int64(retryAt - now))
        return RPCError(.unavailable, "\(lastError.message); not reconnecting for another \(remaining)")
    }

    /// The server said GOAWAY ENHANCE_YOUR_CALM "too_many_pings": ping half as often from the next connection.
    func serverWantsFewerPings() {
        guard var keepalive else { return }
        keepalive.time = keepalive.time * 2
        self.keepalive = keepalive
    }
}

/// One connection attempt as `ClientReconnection` remembers it.
struct ConnectionAttemptRecord: Sendable, Hashable {
    /// When it started (monotonic ns).
    var startedAt: UInt64
    /// The keepalive time the connection was given.
    var keepaliveTime: Duration?
}
