import Glibc
import Synchronization

/// A sustained call rate with a burst: `calls` per period on average, up to `burst` at once after a quiet spell.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Calls the bucket regains per period.
    public let calls: Int64
    /// The period `calls` are regained over, in nanoseconds.
    public let periodNanoseconds: Int64
    /// Calls a full bucket holds.
    public let burst: Int64

    /// Largest `calls` and `burst`: with them and `maxPeriod` a bucket's fixed-point arithmetic (one call is
    /// `periodNanoseconds` units) stays below 2^63.
    public static let maxCalls: Int64 = 1_000_000
    /// Longest period, one hour (see `maxCalls`).
    public static let maxPeriod: Duration = .seconds(3_600)

    /// nil when a value is out of range: calls and burst 1 ... 1,000,000, period 1 ns ... 1 hour.
    public init?(calls: Int, per period: Duration, burst: Int) {
        let components = period.components
        guard (1...Int(Self.maxCalls)).contains(calls), (1...Int(Self.maxCalls)).contains(burst),
            period > .zero, period <= Self.maxPeriod
        else { return nil }
        self.calls = Int64(calls)
        self.burst = Int64(burst)
        periodNanoseconds = components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
        guard periodNanoseconds > 0 else { return nil }
    }

    /// "200/s (burst 400)" (or "/min", "/h"; other periods in nanoseconds).
    public var description: String {
        let unit: String
        switch periodNanoseconds {
        case 1_000_000_000: unit = "/s"
        case 60_000_000_000: unit = "/min"
        case 3_600_000_000_000: unit = "/h"
        default: unit = " per \(periodNanoseconds) ns"
        }
        return "\(calls)\(unit) (burst \(burst))"
    }

    /// The units a full bucket holds.
    var capacity: Int64 { burst * periodNanoseconds }
}

/// What a token bucket says to one call.
enum RateDecision: Sendable, Equatable {
    case allowed
    /// Over the limit; the bucket holds a call again after this many nanoseconds.
    case refused(retryAfterNanoseconds: UInt64)
}

/// One caller's bucket, in fixed point: a call costs `periodNanoseconds` units and every nanosecond adds `calls`
/// units, so refilling is exact integer arithmetic with no drift.
struct TokenBucket: Sendable, Equatable {
    /// Units held, 0 ... the limit's capacity.
    private(set) var units: Int64
    /// Monotonic time of the last refill; never moves back, so a clock that steps back refills nothing until it
    /// passes this again instead of crediting the same time twice.
    private(set) var updatedAt: UInt64

    /// A full bucket: a caller seen for the first time may use the whole burst.
    init(full limit: RateLimit, now: UInt64) {
        units = limit.capacity
        updatedAt = now
    }

    /// Refills for the time since the last refill, then takes one call if the bucket holds one.
    mutating func take(_ limit: RateLimit, now: UInt64) -> RateDecision {
        refill(limit, now: now)
        guard units >= limit.periodNanoseconds else { return .refused(retryAfterNanoseconds: wait(limit)) }
        units -= limit.periodNanoseconds
        return .allowed
    }

    /// What `take` would answer, without taking.
    func peek(_ limit: RateLimit, now: UInt64) -> RateDecision {
        var copy = self
        copy.refill(limit, now: now)
        return copy.units >= limit.periodNanoseconds ? .allowed : .refused(retryAfterNanoseconds: copy.wait(limit))
    }

    /// Whether the bucket has refilled completely by `now`: it then says nothing a fresh bucket would not.
    func isFull(_ limit: RateLimit, now: UInt64) -> Bool {
        var copy = self
        copy.refill(limit, now: now)
        return copy.units == limit.capacity
    }

    private mutating func refill(_ limit: RateLimit, now: UInt64) {
        guard now > updatedAt else { return }
        let elapsed = now - updatedAt
        updatedAt = now
        let missing = limit.capacity - units
        guard missing > 0 else { return }
        // Compared before multiplying: a long idle spell times the rate could overflow.
        let untilFull = UInt64((missing + limit.calls - 1) / limit.calls)
        units = elapsed >= untilFull ? limit.capacity : units + Int64(elapsed) * limit.calls
    }

    /// Nanoseconds until the bucket holds one call, rounded up.
    private func wait(_ limit: RateLimit) -> UInt64 {
        UInt64((limit.periodNanoseconds - units + limit.calls - 1) / limit.calls)
    }
}

/// Token buckets per caller for one rate limit, in a table of bounded size, safe to call from any thread.
///
/// A caller's first call finds a full bucket, so forgetting a caller whose bucket has refilled loses nothing; the
/// table forgets those first when it is full, then (under a flood of distinct callers) the least recently seen,
/// which at worst hands a forgotten caller a fresh burst. A call of a known caller allocates nothing. Keys are strings
/// (principal ids, addresses) rather than a generic type: a generic class's methods are not always specialised, and
/// unspecialised the table lookup costs several times as much.
final class RateLimiter: Sendable {
    /// The limit every caller's bucket follows.
    let limit: RateLimit
    /// Most callers the table holds.
    let maxCallers: Int
    private let clock: @Sendable () -> UInt64
    private let buckets: Mutex<[String: TokenBucket]>

    /// `clock` is monotonic nanoseconds (`RateLimits.monotonicClock` outside tests).
    init(limit: RateLimit, maxCallers: Int, clock: @escaping @Sendable () -> UInt64) {
        self.limit = limit
        self.maxCallers = max(maxCallers, 1)
        self.clock = clock
        buckets = Mutex([:])
    }

    /// Takes one call from `caller`'s bucket.
    func charge(_ caller: String) -> RateDecision {
        let now = clock()
        let limit = self.limit
        let maxCallers = self.maxCallers
        return buckets.withLock { table -> RateDecision in
            // One hash of the key, and no heap-allocated accessor frame: `table[caller]?.take(...)` goes through
            // Dictionary's modify coroutines, which allocated twice per call and cost 60% more instructions.
            if let index = table.index(forKey: caller) {
                var bucket = table.values[index]
                let decision = bucket.take(limit, now: now)
                table.values[index] = bucket
                return decision
            }
            if table.count >= maxCallers { Self.makeRoom(in: &table, limit: limit, maxCallers: maxCallers, now: now) }
            var bucket = TokenBucket(full: limit, now: now)
            let decision = bucket.take(limit, now: now)
            table[caller] = bucket
            return decision
        }
    }

    /// What `charge` would answer now, without taking anything (and without remembering an unknown caller).
    func peek(_ caller: String) -> RateDecision {
        let now = clock()
        let limit = self.limit
        return buckets.withLock { table in table[caller]?.peek(limit, now: now) ?? .allowed }
    }

    /// Callers the table holds now.
    var trackedCallers: Int { buckets.withLock { $0.count } }

    /// Forgets every caller whose bucket is full; when that frees less than a quarter of the table, also the least
    /// recently seen until a quarter is free, so the next quarter of new callers costs no sweep.
    private static func makeRoom(in table: inout [String: TokenBucket], limit: RateLimit, maxCallers: Int, now: UInt64) {
        table = table.filter { !$0.value.isFull(limit, now: now) }
        let target = maxCallers - max(maxCallers / 4, 1)
        guard table.count > target else { return }
        let oldest = table.sorted { $0.value.updatedAt < $1.value.updatedAt }.prefix(table.count - target)
        for (caller, _) in oldest { table[caller] = nil }
    }
}
