import GRPCProtos
import GRPCStatusDetails
import LedgerCrypto
import RPCCore
import Synchronization
import Testing

@testable import LedgerNode

/// Monotonic nanoseconds the test sets by hand.
final class StepClock: Sendable {
    private let nanoseconds = Mutex<UInt64>(1_000_000_000_000)

    var now: UInt64 { nanoseconds.withLock { $0 } }
    func advance(by step: Duration) {
        let components = step.components
        nanoseconds.withLock { $0 += UInt64(components.seconds) * 1_000_000_000 + UInt64(components.attoseconds / 1_000_000_000) }
    }
    func stepBack(by step: Duration) {
        nanoseconds.withLock { $0 -= UInt64(step.components.seconds) * 1_000_000_000 }
    }
    var source: @Sendable () -> UInt64 { { self.now } }
}

@Suite("Token bucket rate limits")
struct RateLimiterTests {
    private let tenPerSecond = RateLimit(calls: 10, per: .seconds(1), burst: 5)!

    private func calls(_ count: Int, by caller: String, on limiter: RateLimiter) -> (allowed: Int, refused: Int) {
        var allowed = 0
        for _ in 0..<count where limiter.charge(caller) == .allowed { allowed += 1 }
        return (allowed, count - allowed)
    }

    @Test("a new caller may use the whole burst at once, then is refused with the time until the next call")
    func burstThenRefusal() {
        let clock = StepClock()
        let limiter = RateLimiter(limit: tenPerSecond, maxCallers: 100, clock: clock.source)
        #expect(calls(5, by: "alice", on: limiter) == (5, 0))
        // 10/s: one call every 100 ms.
        #expect(limiter.charge("alice") == .refused(retryAfterNanoseconds: 100_000_000))
        clock.advance(by: .milliseconds(30))
        #expect(limiter.charge("alice") == .refused(retryAfterNanoseconds: 70_000_000))
    }

    @Test("the bucket refills at the rate, exactly, and never beyond the burst")
    func refill() {
        let clock = StepClock()
        let limiter = RateLimiter(limit: tenPerSecond, maxCallers: 100, clock: clock.source)
        _ = calls(5, by: "alice", on: limiter)
        clock.advance(by: .milliseconds(250))
        #expect(calls(3, by: "alice", on: limiter) == (2, 1))
        // Three tenths of the 250 ms were left over half a call: 50 ms more make the third.
        clock.advance(by: .milliseconds(49))
        #expect(limiter.charge("alice") != .allowed)
        clock.advance(by: .milliseconds(1))
        #expect(limiter.charge("alice") == .allowed)
        // A day of silence refills the burst, not a day's worth of calls.
        clock.advance(by: .seconds(86_400))
        #expect(calls(8, by: "alice", on: limiter) == (5, 3))
    }

    @Test("callers have separate buckets: one caller's flood refuses no one else")
    func callersAreIndependent() {
        let clock = StepClock()
        let limiter = RateLimiter(limit: tenPerSecond, maxCallers: 100, clock: clock.source)
        #expect(calls(1_000, by: "noisy", on: limiter) == (5, 995))
        #expect(calls(5, by: "quiet", on: limiter) == (5, 0))
    }

    @Test("a clock that steps back refills nothing, and the time it skipped is not credited twice")
    func clockGoingBackwards() {
        let clock = StepClock()
        let limiter = RateLimiter(limit: tenPerSecond, maxCallers: 100, clock: clock.source)
        _ = calls(5, by: "alice", on: limiter)
        clock.stepBack(by: .seconds(10))
        #expect(calls(3, by: "alice", on: limiter) == (0, 3))
        // Back to where it was plus 100 ms: one call's worth, as if the clock had never moved back.
        clock.advance(by: .seconds(10))
        clock.advance(by: .milliseconds(100))
        #expect(calls(2, by: "alice", on: limiter) == (1, 1))
    }

    @Test("peek answers as charge would but takes nothing and remembers no new caller")
    func peekTakesNothing() {
        let clock = StepClock()
        let limiter = RateLimiter(limit: tenPerSecond, maxCallers: 100, clock: clock.source)
        #expect(limiter.peek("stranger") == .allowed)
        #expect(limiter.trackedCallers == 0)
        _ = calls(4, by: "alice", on: limiter)
        for _ in 0..<10 { #expect(limiter.peek("alice") == .allowed) }
        #expect(limiter.charge("alice") == .allowed)
        #expect(limiter.peek("alice") == .refused(retryAfterNanoseconds: 100_000_000))
    }

    @Test("a flood of distinct callers keeps the table at its bound; full buckets go first, then the longest idle")
    func boundedTable() {
        let clock = StepClock()
        let limiter = RateLimiter(limit: tenPerSecond, maxCallers: 1_000, clock: clock.source)
        _ = calls(5, by: "noisy", on: limiter)
        for index in 0..<100_000 {
            clock.advance(by: .nanoseconds(1))
            _ = limiter.charge("flood-\(index)")
            #expect(limiter.trackedCallers <= 1_000)
            // The noisy caller keeps calling, so it is never the longest idle: its bucket stays empty.
            if index.isMultiple(of: 100) { #expect(limiter.charge("noisy") != .allowed) }
        }
        // Idle long enough to refill, every bucket is full and forgotten at the next sweep: the table shrinks.
        clock.advance(by: .seconds(1))
        for index in 0..<1_000 { _ = limiter.charge("late-\(index)") }
        #expect(limiter.trackedCallers <= 1_000)
        #expect(limiter.charge("noisy") == .allowed)
    }

    @Test("limits out of range are refused rather than overflowing")
    func limitRange() {
        #expect(RateLimit(calls: 0, per: .seconds(1), burst: 1) == nil)
        #expect(RateLimit(calls: 1, per: .seconds(1), burst: 0) == nil)
        #expect(RateLimit(calls: 1_000_001, per: .seconds(1), burst: 1) == nil)
        #expect(RateLimit(calls: 1, per: .seconds(3_601), burst: 1) == nil)
        let largest = RateLimit(calls: 1_000_000, per: .seconds(3_600), burst: 1_000_000)!
        let clock = StepClock()
        let limiter = RateLimiter(limit: largest, maxCallers: 10, clock: clock.source)
        #expect(calls(1_000, by: "alice", on: limiter) == (1_000, 0))
        clock.advance(by: .seconds(1_000_000_000))
        #expect(limiter.charge("alice") == .allowed)
        #expect(largest.description == "1000000/h (burst 1000000)")
        #expect(tenPerSecond.description == "10/s (burst 5)")
    }

    @Test("a refusal is RESOURCE_EXHAUSTED naming the caller, the limit and the wait, with RetryInfo")
    func refusalError() throws {
        let error = CallRateLimiter.refusal("principal hl1x", limit: tenPerSecond, retryAfter: 1_500_000_001)
        #expect(error.code == .resourceExhausted)
        #expect(error.message == "rate limit: principal hl1x is over its limit of 10/s (burst 5); retry in 1501 ms")
        #expect(!error.message.contains("\n"))
        let delay = try #require(error.retryDelay)
        #expect(delay.seconds == 1 && delay.nanos == 501_000_000)
        let quota = error.details.compactMap { detail -> Google_Rpc_QuotaFailure? in
            if case .quotaFailure(let quota) = detail { quota } else { nil }
        }
        #expect(quota.first?.violations.first?.subject == "principal hl1x")
    }

    @Test("callers are keyed by address: the port dropped, IPv6 by its /64, IPv4-mapped IPv6 as IPv4")
    func addressKeys() {
        #expect(CallRateLimiter.address(ofPeer: "ipv4:192.0.2.7:51234") == "192.0.2.7")
        #expect(CallRateLimiter.address(ofPeer: "ipv6:[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443") == "2001:db8:1:2::/64")
        #expect(CallRateLimiter.address(ofPeer: "ipv6:[2001:db8:1:2::9]:1") == "2001:db8:1:2::/64")
        #expect(CallRateLimiter.address(ofPeer: "ipv6:[::ffff:192.0.2.7]:51234") == "192.0.2.7")
        #expect(CallRateLimiter.address(ofPeer: "ipv6:[::1]:7443") == "::/64")
        #expect(CallRateLimiter.address(ofPeer: "in-process") == "in-process")
    }
}

extension RPCError {
    /// The google.rpc.RetryInfo delay in the error's status details, if any.
    var retryDelay: Google_Protobuf_Duration? {
        for detail in details {
            if case .retryInfo(let info) = detail { return info.retryDelay }
        }
        return nil
    }
}
