import Synchronization
import Tracing

/// A span as a test reads it back once it has ended.
struct RecordedSpan: Sendable {
    var operationName: String
    var kind: SpanKind
    var identity: SpanIdentity
    /// The span id of the parent, local or propagated; nil for a trace's root.
    var parentSpanID: String?
    var attributes: SpanAttributes
    /// Nil when never set (OpenTelemetry's "unset").
    var status: SpanStatus?
    /// The errors recorded, as text.
    var errors: [String]

    /// The attribute `name`, nil when absent.
    func attribute(_ name: String) -> SpanAttribute? {
        attributes.get(name)
    }
}

/// Which span of which trace: W3C trace context's 32 and 16 lowercase hex digits.
struct SpanIdentity: Sendable, Equatable {
    var traceID: String
    var spanID: String

    /// The `traceparent` header value of a sampled span with this identity.
    var traceparent: String { "00-\(traceID)-\(spanID)-01" }

    /// Parses a W3C `traceparent` ("00-<trace id>-<span id>-<flags>"), or nil.
    init?(traceparent: String) {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16,
            (parts[1] + parts[2]).allSatisfy(\.isHexDigit)
        else { return nil }
        self.init(traceID: String(parts[1]), spanID: String(parts[2]))
    }

    init(traceID: String, spanID: String) {
        self.traceID = traceID
        self.spanID = spanID
    }

    /// A fresh random identity within `traceID`, or within a fresh trace.
    static func random(inTrace traceID: String? = nil) -> SpanIdentity {
        SpanIdentity(
            traceID: traceID ?? hex(.random(in: 1...UInt64.max)) + hex(.random(in: 1...UInt64.max)),
            spanID: hex(.random(in: 1...UInt64.max)))
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// The context key under which a `RecordingTracer` keeps the current span's identity.
private enum SpanIdentityKey: ServiceContextKey {
    typealias Value = SpanIdentity
}

extension ServiceContext {
    /// The identity of the span this context is in, as a `RecordingTracer` put it there.
    var spanIdentity: SpanIdentity? {
        get { self[SpanIdentityKey.self] }
        set { self[SpanIdentityKey.self] = newValue }
    }
}

/// A `Tracer` that keeps every span it ends, for tests; propagates W3C `traceparent` like OpenTelemetry's
/// default propagator. Passed to the interceptors directly, so the process-wide `InstrumentationSystem` stays
/// untouched (swift-distributed-tracing's InMemoryTracing product is not a dependency of this target).
final class RecordingTracer: Tracer, Sendable {
    private let ended = Mutex<[RecordedSpan]>([])
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// The spans ended so far, in the order they ended.
    var spans: [RecordedSpan] { ended.withLock { $0 } }

    /// Waits until `count` spans have ended and returns all ended by then.
    func waitForSpans(_ count: Int) async -> [RecordedSpan] {
        if spans.count >= count { return spans }
        for await _ in stream where spans.count >= count { break }
        return spans
    }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> Recording {
        let parentContext = context()
        let parent = parentContext.spanIdentity
        let identity = SpanIdentity.random(inTrace: parent?.traceID)
        var spanContext = parentContext
        spanContext.spanIdentity = identity
        return Recording(
            tracer: self, context: spanContext,
            record: RecordedSpan(
                operationName: operationName, kind: kind, identity: identity, parentSpanID: parent?.spanID,
                attributes: [:], status: nil, errors: []))
    }

    func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let identity = context.spanIdentity else { return }
        injector.inject(identity.traceparent, forKey: "traceparent", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier),
            let identity = SpanIdentity(traceparent: value)
        else { return }
        context.spanIdentity = identity
    }

    func forceFlush() {}

    fileprivate func end(_ span: RecordedSpan) {
        ended.withLock { $0.append(span) }
        continuation.yield()
    }

    /// A span being recorded; ending it twice is a test failure the second `end` makes visible as a duplicate.
    final class Recording: Tracing.Span {
        private let tracer: RecordingTracer
        let context: ServiceContext
        private let record: Mutex<RecordedSpan>

        fileprivate init(tracer: RecordingTracer, context: ServiceContext, record: RecordedSpan) {
            self.tracer = tracer
            self.context = context
            self.record = Mutex(record)
        }

        var operationName: String {
            get { record.withLock { $0.operationName } }
            set { record.withLock { $0.operationName = newValue } }
        }

        var attributes: SpanAttributes {
            get { record.withLock { $0.attributes } }
            set { record.withLock { $0.attributes = newValue } }
        }

        var isRecording: Bool { true }

        func setStatus(_ status: SpanStatus) {
            record.withLock { $0.status = status }
        }

        func addEvent(_ event: SpanEvent) {}

        func recordError<Instant: TracerInstant>(
            _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
        ) {
            record.withLock { $0.errors.append("\(error)") }
        }

        func addLink(_ link: SpanLink) {}

        func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
            tracer.end(record.withLock { $0 })
        }
    }
}
