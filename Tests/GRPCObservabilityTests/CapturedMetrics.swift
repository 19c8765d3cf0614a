import Metrics
import Synchronization

/// One metric as a test reads it back: its label, its dimensions and every value recorded, in order.
struct CapturedMetric: Sendable, Equatable {
    /// What made it: a timer records nanoseconds, a recorder values, a counter increments.
    enum Kind: Sendable, Equatable {
        case counter
        case recorder(aggregate: Bool)
        case timer
    }

    var kind: Kind
    var label: String
    var dimensions: [String: String]
    var values: [Double]
}

/// A `MetricsFactory` that keeps every value recorded through it, for tests; passed to the interceptors
/// directly, so the process-wide `MetricsSystem` stays untouched. (swift-metrics' MetricsTestKit product is
/// not a dependency of this target.)
final class CapturedMetrics: MetricsFactory {
    private let metrics = Mutex<[CapturedMetric]>([])

    /// Every metric made so far, with its values.
    var all: [CapturedMetric] { metrics.withLock { $0 } }

    /// The metrics with `label`.
    func metrics(_ label: String) -> [CapturedMetric] {
        all.filter { $0.label == label }
    }

    fileprivate func record(_ value: Double, kind: CapturedMetric.Kind, label: String, dimensions: [(String, String)]) {
        let dimensions = Dictionary(dimensions, uniquingKeysWith: { _, last in last })
        metrics.withLock { metrics in
            if let index = metrics.firstIndex(where: {
                $0.kind == kind && $0.label == label && $0.dimensions == dimensions
            }) {
                metrics[index].values.append(value)
            } else {
                metrics.append(CapturedMetric(kind: kind, label: label, dimensions: dimensions, values: [value]))
            }
        }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        CapturedHandler(metrics: self, kind: .counter, label: label, dimensions: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        CapturedHandler(metrics: self, kind: .recorder(aggregate: aggregate), label: label, dimensions: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        CapturedHandler(metrics: self, kind: .timer, label: label, dimensions: dimensions)
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

/// Forwards every value to its `CapturedMetrics`.
private final class CapturedHandler: CounterHandler, RecorderHandler, TimerHandler {
    let metrics: CapturedMetrics
    let kind: CapturedMetric.Kind
    let label: String
    let dimensions: [(String, String)]

    init(metrics: CapturedMetrics, kind: CapturedMetric.Kind, label: String, dimensions: [(String, String)]) {
        self.metrics = metrics
        self.kind = kind
        self.label = label
        self.dimensions = dimensions
    }

    func increment(by amount: Int64) { save(Double(amount)) }
    func reset() {}
    func record(_ value: Int64) { save(Double(value)) }
    func record(_ value: Double) { save(value) }
    func recordNanoseconds(_ duration: Int64) { save(Double(duration)) }

    private func save(_ value: Double) {
        metrics.record(value, kind: kind, label: label, dimensions: dimensions)
    }
}
