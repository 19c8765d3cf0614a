import Foundation

/// Bounds on how long a delivery may take (a follower seeing an event, a stream ending), widened in one place for a
/// build slowed down by a sanitizer: scripts/sanitize sets HEALTHLEDGER_TEST_TIME_SCALE to its sanitizer's slowdown.
/// Bounds that decide correctness (a grant's expiry, a rate limit's window) are never scaled.
enum LatencyBound {
    /// HEALTHLEDGER_TEST_TIME_SCALE, a whole number of at least 1; 1 in a plain build, so the bounds stay tight there.
    static let timeScale: Int = {
        guard let configured = ProcessInfo.processInfo.environment["HEALTHLEDGER_TEST_TIME_SCALE"] else { return 1 }
        guard let scale = Int(configured), scale >= 1 else {
            fatalError("HEALTHLEDGER_TEST_TIME_SCALE must be a whole number of at least 1, not \"\(configured)\"")
        }
        return scale
    }()

    /// `duration` in a plain build, `timeScale` times it under a sanitizer.
    static func allowing(_ duration: Duration) -> Duration {
        duration * timeScale
    }
}
