/// Counts events in a sliding fixed window; says when a limit is exceeded (flood protection).
struct WindowCounter {
    private var windowStart: UInt64?
    private var count = 0
    let limit: Int
    let window: UInt64

    /// A counter allowing `limit` events per `window`.
    init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window.nanoseconds
    }

    /// Records one event; true when the limit is now exceeded.
    mutating func record(now: UInt64 = MonotonicTime.now) -> Bool {
        if let start = windowStart, now - start <= window {
            count += 1
        } else {
            windowStart = now
            count = 1
        }
        return count > limit
    }
}
