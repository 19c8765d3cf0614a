import Metrics
import RPCCore

/// Measures every call a client makes after OpenTelemetry's RPC semantic conventions: the timer
/// rpc.client.duration (from start to the end of the responses), and for streaming calls the histograms
/// rpc.client.requests_per_rpc (messages the transport took to send) and rpc.client.responses_per_rpc
/// (messages read), each with the dimensions rpc.system=grpc, rpc.service, rpc.method and
/// rpc.grpc.status_code. Responses dropped before their end count as CANCELLED.
public struct MetricsClientInterceptor: ClientInterceptor {
    private let factory: any MetricsFactory

    /// Records through `factory`; by default the one bootstrapped in `MetricsSystem`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// Starts the call through `next`, counting its messages, and records the metrics when it ends.
    public func intercept(
        _ method: MethodDescriptor,
        requests: RequestStream<[UInt8]>,
        options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        let sent = MessageCounter()
        let received = MessageCounter()
        let factory = factory
        return try await FinishedCall.measuringClientCall(method) {
            try await next(requests.counted(by: sent), options).counted(by: received)
        } finished: { call in
            call.record(side: .client, requests: sent.value, responses: received.value, factory: factory)
        }
    }
}
