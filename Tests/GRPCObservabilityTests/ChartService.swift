import RPCCore
import Tracing

/// The methods of a chart service whose handler does traced work of its own, as ledger code would.
enum ChartMethods {
    static let service = "healthledger.test.Charts"
    /// Starts a span "chart lookup" under whatever context the handler runs in, then answers with the
    /// `traceparent` the call carried (empty when none), so tests see what reached the server.
    static let lookup = MethodDescriptor(service: service, method: "Lookup", kind: .unary)
}

/// The chart service; `tracer` is the one its handler starts spans with (nil: it starts none).
func makeChartService(tracer: RecordingTracer?) -> ServiceDefinition {
    ServiceDefinition(
        name: ChartMethods.service,
        methods: [
            ServerMethod(descriptor: ChartMethods.lookup) { requests, responses, context in
                for try await _ in requests {}
                // The default context is the task-local current one: the server span's, if the interceptor set it.
                tracer?.withSpan("chart lookup") { _ in }
                let traceparent = context.metadata.values(forKey: "traceparent").compactMap(\.stringValue)
                try await responses.write(Array(traceparent.joined(separator: ",").utf8))
            }
        ])
}
