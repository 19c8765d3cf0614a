/// When to PING a quiet connection and when to give up waiting for the ACK (gRPC doc/keepalive.md), without
/// I/O: the server and the client connection feed it times and carry out the step it answers.
struct KeepalivePinger {
    /// What the connection does next.
    enum Step: Equatable {
        /// Check again after this long.
        case wait(Duration)
        /// Send a keepalive PING now, then check again after `timeout`.
        case sendPing
        /// The PING went unacknowledged for `timeout`: the peer or the path is gone.
        case peerGone
    }

    /// Quiet time (nothing received) after which a PING is sent.
    let time: Duration
    /// How long an unacknowledged PING may stay out.
    let timeout: Duration
    /// Whether to PING a connection with no calls open.
    let permitWithoutCalls: Bool
    /// When our unacknowledged PING left (monotonic nanoseconds), nil when none is out.
    private(set) var pingSentAt: UInt64?

    /// Creates a pinger with nothing outstanding.
    init(time: Duration, timeout: Duration, permitWithoutCalls: Bool) {
        self.time = time
        self.timeout = timeout
        self.permitWithoutCalls = permitWithoutCalls
    }

    /// The next step at `now`, given when bytes last arrived and whether calls are open. `.sendPing` records
    /// the PING as sent at `now`.
    mutating func next(now: UInt64, lastReceivedAt: UInt64, callsOpen: Bool) -> Step {
        if let sentAt = pingSentAt {
            let waited = now &- sentAt
            if waited < timeout.nanoseconds { return .wait(.nanoseconds(Int64(timeout.nanoseconds - waited))) }
            return .peerGone
        }
        let quiet = now &- lastReceivedAt
        if quiet < time.nanoseconds { return .wait(.nanoseconds(Int64(time.nanoseconds - quiet))) }
        guard permitWithoutCalls || callsOpen else { return .wait(time) }
        pingSentAt = now
        return .sendPing
    }

    /// The ACK of our PING arrived; returns whether one was outstanding.
    mutating func acknowledged() -> Bool {
        defer { pingSentAt = nil }
        return pingSentAt != nil
    }
}
