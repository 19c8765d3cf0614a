import GRPCProtocol
import Testing

/// Timeout -> "grpc-timeout" TimeoutValue TimeoutUnit; TimeoutValue is at most 8 digits (PROTOCOL-HTTP2.md).
@Suite("grpc-timeout")
struct GRPCTimeoutTests {
    @Test(
        "every unit parses",
        arguments: [
            ("1H", Duration.seconds(3600)), ("2M", .seconds(120)), ("3S", .seconds(3)), ("4m", .milliseconds(4)),
            ("5u", .microseconds(5)), ("6n", .nanoseconds(6)), ("0n", .zero), ("0H", .zero), ("00000001S", .seconds(1)),
            ("99999999n", .nanoseconds(99_999_999)), ("99999999H", .seconds(99_999_999 * 3600)),
            ("12345678m", .milliseconds(12_345_678)),
        ])
    func parses(text: String, expected: Duration) {
        #expect(GRPCTimeout.parse(text) == expected)
    }

    @Test(
        "anything else is malformed",
        arguments: [
            "", "1", "S", "100000000S", "123456789n", "18446744073709551616n", "1s", "1h", "1x", "-1S", "+1S", " 1S",
            "1S ", "1 S", "1.5S", "1SS", "0x1S", "１S", "1٣S",
        ])
    func rejects(text: String) {
        #expect(GRPCTimeout.parse(text) == nil)
    }

    @Test(
        "formatting picks the finest unit whose value fits in 8 digits",
        arguments: [
            (Duration.nanoseconds(1), "1n"), (.nanoseconds(99_999_999), "99999999n"),
            (.nanoseconds(100_000_000), "100000u"), (.milliseconds(250), "250000u"), (.seconds(1), "1000000u"),
            (.seconds(99), "99000000u"), (.seconds(100), "100000m"), (.seconds(3600), "3600000m"),
            (.seconds(99_999), "99999000m"), (.seconds(100_000), "100000S"), (.seconds(99_999_999), "99999999S"),
            (.seconds(100_000_000), "1666667M"), (.seconds(6_000_000_000), "1666667H"),
            (.seconds(99_999_999 * 3600), "99999999H"),
        ])
    func formats(duration: Duration, expected: String) {
        #expect(GRPCTimeout.format(duration) == expected)
    }

    @Test("formatting rounds up, so the peer's deadline is never earlier than ours")
    func roundsUp() {
        #expect(GRPCTimeout.format(.nanoseconds(100_000_001)) == "100001u")
        #expect(GRPCTimeout.format(.seconds(100) + .nanoseconds(1)) == "100001m")
        #expect(GRPCTimeout.format(.seconds(100_000_000) + .nanoseconds(1)) == "1666667M")
        #expect(GRPCTimeout.format(.seconds(6_000_000_000)) == "1666667H")
        // Below a nanosecond is still a positive timeout, not zero.
        #expect(GRPCTimeout.format(Duration(secondsComponent: 0, attosecondsComponent: 1)) == "1n")
    }

    @Test("zero, negative and huge durations are clamped to what the header can say")
    func clamps() {
        #expect(GRPCTimeout.format(.zero) == "1n")
        #expect(GRPCTimeout.format(.seconds(-5)) == "1n")
        #expect(GRPCTimeout.format(.seconds(Int64.max)) == "99999999H")
    }

    @Test("what we format parses back to at least the duration, within one unit")
    func roundTrip() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2000 {
            let duration = Duration.nanoseconds(
                Int64.random(in: 1...(Int64(1) << 62), using: &generator) >> Int64.random(in: 0...60, using: &generator)
            )
            let text = GRPCTimeout.format(duration)
            guard let parsed = GRPCTimeout.parse(text) else {
                Issue.record("\(text) does not parse")
                continue
            }
            #expect(parsed >= duration, "\(duration) -> \(text)")
            #expect(text.utf8.count <= 9)
        }
    }
}
