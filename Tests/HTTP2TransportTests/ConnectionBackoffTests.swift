import Synchronization
import Testing

@testable import HTTP2Transport

/// The backoff schedule of gRPC's doc/connection-backoff.md, without sockets: the sequence, its cap, the jitter
/// bounds, the connect timeout and the reset after a success.
@Suite("Connection backoff schedule")
struct ConnectionBackoffTests {
    /// A jitter source that always answers the same point of the range: 0 is the low end, 1 the high end.
    private static func fixed(_ fraction: Double) -> @Sendable (ClosedRange<Double>) -> Double {
        { range in range.lowerBound + (range.upperBound - range.lowerBound) * fraction }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test("gRPC's defaults are 1 s, ×1.6, ±0.2, 120 s cap, 20 s minimum connect timeout")
    func defaults() {
        let backoff = ConnectionBackoff()
        #expect(backoff.initial == .seconds(1))
        #expect(backoff.multiplier == 1.6)
        #expect(backoff.jitter == 0.2)
        #expect(backoff.maximum == .seconds(120))
        #expect(backoff.minimumConnectTimeout == .seconds(20))
        #expect(ClientConfiguration(host: "h", port: 1).backoff == backoff)
        #expect(ClientConfiguration(host: "h", port: 1).connectTimeout == .seconds(20))
    }

    @Test("with no jitter the waits are 1, 1.6, 2.56, ... seconds, growing ×1.6 until capped at 120 s")
    func sequenceWithoutJitter() {
        var schedule = ConnectionBackoff.Schedule(ConnectionBackoff(), random: Self.fixed(0.5))
        var expected = 1.0
        for attempt in 0..<30 {
            let delay = Self.seconds(schedule.nextDelay())
            #expect(abs(delay - expected) < 1e-6, "attempt \(attempt): \(delay) != \(expected)")
            expected = min(expected * 1.6, 120)
        }
        #expect(expected == 120)
    }

    @Test("the first wait is never jittered; later ones stay within ±20 % of the unjittered value")
    func jitterBounds() {
        for fraction in [0.0, 0.25, 0.5, 0.75, 1.0] {
            var schedule = ConnectionBackoff.Schedule(ConnectionBackoff(), random: Self.fixed(fraction))
            #expect(schedule.nextDelay() == .seconds(1))
            var base = 1.0
            for _ in 0..<20 {
                base = min(base * 1.6, 120)
                let delay = Self.seconds(schedule.nextDelay())
                let expected = base * (0.8 + 0.4 * fraction)
                #expect(abs(delay - expected) < 1e-6, "fraction \(fraction): \(delay) != \(expected)")
            }
        }
    }

    @Test("with real randomness every wait lies within the jitter bounds and the jitter does not compound")
    func randomJitterStaysInBounds() {
        var schedule = ConnectionBackoff.Schedule(ConnectionBackoff())
        #expect(schedule.nextDelay() == .seconds(1))
        var base = 1.0
        for _ in 0..<1000 {
            base = min(base * 1.6, 120)
            let delay = Self.seconds(schedule.nextDelay())
            #expect(delay >= base * 0.8 - 1e-9 && delay <= base * 1.2 + 1e-9)
        }
    }

    @Test("the jitter source is asked for a range of ±jitter × the unjittered wait")
    func jitterRangeAsked() {
        let ranges = Mutex<[ClosedRange<Double>]>([])
        var schedule = ConnectionBackoff.Schedule(ConnectionBackoff()) { range in
            ranges.withLock { $0.append(range) }
            return 0
        }
        for _ in 0..<3 { _ = schedule.nextDelay() }
        let asked = ranges.withLock { $0 }
        #expect(asked.count == 2)
        #expect(abs(asked[0].lowerBound + 0.32) < 1e-9 && abs(asked[0].upperBound - 0.32) < 1e-9)
        #expect(abs(asked[1].lowerBound + 0.512) < 1e-9 && abs(asked[1].upperBound - 0.512) < 1e-9)
    }

    @Test("an initial wait above the maximum is capped, and so is every later one")
    func initialAboveMaximum() {
        var schedule = ConnectionBackoff.Schedule(
            ConnectionBackoff(initial: .seconds(5), jitter: 0, maximum: .seconds(2)))
        #expect(schedule.nextDelay() == .seconds(2))
        #expect(schedule.nextDelay() == .seconds(2))
    }

    @Test("reset after a success starts the sequence over at the initial wait")
    func resetStartsOver() {
        var schedule = ConnectionBackoff.Schedule(ConnectionBackoff(jitter: 0))
        _ = schedule.nextDelay()
        _ = schedule.nextDelay()
        #expect(schedule.nextDelay() > .seconds(2))
        schedule.reset()
        #expect(schedule.nextDelay() == .seconds(1))
        #expect(schedule.nextDelay() == .milliseconds(1600))
    }

    @Test("an attempt may take max(its wait, MIN_CONNECT_TIMEOUT) to connect")
    func connectTimeout() {
        let schedule = ConnectionBackoff.Schedule(ConnectionBackoff())
        #expect(schedule.connectTimeout(forDelay: .seconds(1)) == .seconds(20))
        #expect(schedule.connectTimeout(forDelay: .seconds(90)) == .seconds(90))
    }

    @Test("the schedule scales: 50 ms ×2 with no jitter gives 50, 100, 200, 400 ms, capped at 300 ms")
    func scaledDown() {
        var schedule = ConnectionBackoff.Schedule(
            ConnectionBackoff(initial: .milliseconds(50), multiplier: 2, jitter: 0, maximum: .milliseconds(300)))
        let delays = (0..<5).map { _ in schedule.nextDelay() }
        #expect(delays == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300)])
    }
}
