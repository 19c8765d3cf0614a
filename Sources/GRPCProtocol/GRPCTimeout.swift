/// grpc-timeout: TimeoutValue (1-8 ASCII digits) + unit H M S m u n (PROTOCOL-HTTP2.md, "Timeout").
public enum GRPCTimeout {
    /// The largest TimeoutValue the spec allows ("positive integer as ASCII string of at most 8 digits").
    public static let maxValue: Int64 = 99_999_999

    // Finest first, so `format` picks the most precise unit that fits.
    private static let units: [(symbol: UInt8, nanoseconds: Int128)] = [
        (UInt8(ascii: "n"), 1),
        (UInt8(ascii: "u"), 1_000),
        (UInt8(ascii: "m"), 1_000_000),
        (UInt8(ascii: "S"), 1_000_000_000),
        (UInt8(ascii: "M"), 60_000_000_000),
        (UInt8(ascii: "H"), 3_600_000_000_000),
    ]

    /// The duration a grpc-timeout value means, or nil unless it is 1-8 ASCII digits followed by one unit
    /// letter and nothing else. "0n" is accepted (grpc-core and grpc-go do): an already expired deadline.
    public static func parse(_ value: String) -> Duration? {
        let bytes = value.utf8
        guard bytes.count >= 2, bytes.count <= 9, let unit = bytes.last else { return nil }
        var amount: Int64 = 0
        for byte in bytes.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        // 99999999H is about 3.6e11 seconds: far inside Duration's range, so no unit can overflow.
        switch unit {
        case UInt8(ascii: "H"): return .seconds(amount * 3600)
        case UInt8(ascii: "M"): return .seconds(amount * 60)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }

    /// The grpc-timeout value for `duration`: the finest unit whose value fits in 8 digits, rounded up so the
    /// peer's deadline is never earlier than ours. Zero or negative durations give "1n" (the smallest positive
    /// value, as grpc-core sends for an expired deadline); anything past 99999999 hours is capped there.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        // Sub-nanosecond remainders round up too.
        let nanoseconds =
            Int128(seconds) * 1_000_000_000 + Int128(attoseconds / 1_000_000_000)
            + (attoseconds % 1_000_000_000 > 0 ? 1 : 0)
        guard nanoseconds > 0 else { return "1n" }
        for unit in units {
            let amount = (nanoseconds + unit.nanoseconds - 1) / unit.nanoseconds
            if amount <= Int128(maxValue) {
                return String(amount) + String(UnicodeScalar(unit.symbol))
            }
        }
        return "\(maxValue)H"
    }
}
