import Foundation
import HTTP2Transport

/// Bounds on how long a delivery may take (a follower seeing an event, a stream ending) or a test client may take to
/// start talking, widened in one place for a build slowed down by a sanitizer: scripts/sanitize sets
/// HEALTHLEDGER_TEST_TIME_SCALE to its sanitizer's slowdown. Bounds that decide correctness (a grant's expiry, a rate
/// limit's window) are never scaled.
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

    /// A test node's server limits: the defaults, with the time a new connection has to send its preface and a call
    /// its headers scaled. They bound how soon a client starts talking, which a client starved by a sanitized run on
    /// a loaded machine can miss; the abuse tests check these limits on servers of their own.
    static var serverLimits: ServerLimits {
        var limits = ServerLimits()
        limits.prefaceTimeout = allowing(limits.prefaceTimeout)
        limits.requestHeadersTimeout = allowing(limits.requestHeadersTimeout)
        return limits
    }
}
