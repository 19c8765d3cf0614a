/// How long a client waits between connection attempts, after gRPC's doc/connection-backoff.md: the first wait
/// is `initial`, each later one `multiplier` times the previous, capped at `maximum`, and spread by ±`jitter`
/// so that clients which lost a server together do not come back together.
public struct ConnectionBackoff: Sendable, Hashable {
    /// INITIAL_BACKOFF: the wait after the first failed attempt.
    public var initial: Duration
    /// MULTIPLIER: how much each wait grows over the previous one.
    public var multiplier: Double
    /// JITTER: the fraction by which a wait (not the first) is randomly lengthened or shortened.
    public var jitter: Double
    /// MAX_BACKOFF: the longest wait, before jitter.
    public var maximum: Duration
    /// MIN_CONNECT_TIMEOUT: the least time one attempt is given to connect.
    public var minimumConnectTimeout: Duration

    /// gRPC's defaults: 1 s, ×1.6, ±20 %, at most 120 s, attempts given at least 20 s.
    public init(
        initial: Duration = .seconds(1), multiplier: Double = 1.6, jitter: Double = 0.2,
        maximum: Duration = .seconds(120), minimumConnectTimeout: Duration = .seconds(20)
    ) {
        self.initial = initial
        self.multiplier = multiplier
        self.jitter = jitter
        self.maximum = maximum
        self.minimumConnectTimeout = minimumConnectTimeout
    }

    /// The waits of one run of attempts, in order; `reset` after a successful connection starts over.
    public struct Schedule: Sendable {
        /// The policy this schedule follows.
        public let backoff: ConnectionBackoff
        private let random: @Sendable (ClosedRange<Double>) -> Double
        private var current: Double?

        /// A schedule for `backoff` drawing jitter from `random` (a uniform sample of the given range).
        public init(
            _ backoff: ConnectionBackoff,
            random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
        ) {
            self.backoff = backoff
            self.random = random
        }

        /// The wait (from the start of the attempt about to be made) before the attempt after it may start.
        /// The first is exactly `initial`: the doc's pseudo-code jitters only the grown waits.
        public mutating func nextDelay() -> Duration {
            let maximum = seconds(backoff.maximum)
            guard let previous = current else {
                let first = min(backoff.initial, backoff.maximum)
                current = seconds(first)
                return first
            }
            let grown = min(previous * backoff.multiplier, maximum)
            current = grown
            let spread = backoff.jitter * grown
            let jittered = spread > 0 ? grown + random(-spread...spread) : grown
            return .nanoseconds(Int64(max(0, jittered) * 1e9))
        }

        /// How long the attempt given `delay` by `nextDelay` may take to connect: max(delay, MIN_CONNECT_TIMEOUT).
        public func connectTimeout(forDelay delay: Duration) -> Duration {
            max(delay, backoff.minimumConnectTimeout)
        }

        /// Starts over at `initial` (a connection succeeded).
        public mutating func reset() {
            current = nil
        }

        private func seconds(_ duration: Duration) -> Double {
            let parts = duration.components
            return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
        }
    }
}
