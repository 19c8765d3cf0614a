import Synchronization

/// Latencies in nanoseconds, summarised by nearest-rank percentiles.
struct LatencySamples: Sendable {
    private(set) var values: [Int64] = []

    init() {}

    /// Adds one latency.
    mutating func add(_ nanoseconds: Int64) { values.append(nanoseconds) }

    /// Adds every latency of `other`.
    mutating func merge(_ other: LatencySamples) { values += other.values }

    var count: Int { values.count }

    /// The percentiles `ps` (0...100) in nanoseconds, nearest rank; 0 when there are no samples.
    func percentiles(_ ps: [Double]) -> [Int64] {
        guard !values.isEmpty else { return ps.map { _ in 0 } }
        let sorted = values.sorted()
        return ps.map { p in
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[min(sorted.count - 1, max(0, rank - 1))]
        }
    }
}

/// Latencies added from many tasks at once (open-loop runs, where each request is its own task).
final class SharedSamples: Sendable {
    private let samples = Mutex<[String: LatencySamples]>([:])

    /// Adds `nanoseconds` to the series `series`.
    func add(_ nanoseconds: Int64, to series: String) {
        samples.withLock { $0[series, default: LatencySamples()].add(nanoseconds) }
    }

    /// The series `series` so far.
    func series(_ series: String) -> LatencySamples { samples.withLock { $0[series] ?? LatencySamples() } }
}

/// A counter shared by concurrent tasks (an `Atomic` cannot be captured by escaping closures itself).
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)

    init() {}

    /// Adds 1; returns the value before.
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// The current value.
    var current: Int { value.load(ordering: .relaxed) }
}

/// A flag one task sets and others wait for.
final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    init() {}

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Times by audit sequence, written by concurrent tasks.
final class SharedTable: Sendable {
    private let table = Mutex<[UInt64: Int64]>([:])

    init() {}

    func withLock<T>(_ body: (inout [UInt64: Int64]) -> T) -> T { table.withLock { body(&$0) } }
}
