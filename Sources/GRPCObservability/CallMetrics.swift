import Metrics
import RPCCore

/// Which side of a call is observed; names the metrics rpc.server.* or rpc.client.*, and decides which statuses
/// are span errors.
enum RPCSide: String, Sendable {
    case server
    case client
}

extension FinishedCall {
    /// Records OpenTelemetry's RPC metrics (https://opentelemetry.io/docs/specs/semconv/rpc/rpc-metrics/) for
    /// this call through `factory`: rpc.<side>.duration always; for streaming calls also
    /// rpc.<side>.requests_per_rpc and rpc.<side>.responses_per_rpc, as aggregated recorders (histograms).
    func record(side: RPCSide, requests: Int, responses: Int, factory: any MetricsFactory) {
        let dimensions = [
            ("rpc.system", "grpc"),
            ("rpc.service", method.service),
            ("rpc.method", method.method),
            ("rpc.grpc.status_code", String(code.rawValue)),
        ]
        let prefix = "rpc.\(side.rawValue)"
        let durations = Timer(
            label: "\(prefix).duration", dimensions: dimensions, preferredDisplayUnit: .milliseconds, factory: factory)
        durations.record(duration: duration)
        guard method.kind != .unary else { return }  // always 1 and 1: OpenTelemetry asks for streaming calls only
        let requestCounts = Recorder(
            label: "\(prefix).requests_per_rpc", dimensions: dimensions, aggregate: true, factory: factory)
        requestCounts.record(requests)
        let responseCounts = Recorder(
            label: "\(prefix).responses_per_rpc", dimensions: dimensions, aggregate: true, factory: factory)
        responseCounts.record(responses)
    }
}
