import Metrics
import RPCCore

/// Measures every call a server serves after OpenTelemetry's RPC semantic conventions: the timer
/// rpc.server.duration, and for streaming calls the histograms rpc.server.requests_per_rpc (messages received)
/// and rpc.server.responses_per_rpc (messages sent), each with the dimensions rpc.system=grpc, rpc.service,
/// rpc.method and rpc.grpc.status_code (the number, "0" for OK).
///
/// Unknown methods are answered by the router before interceptors run, so they are not measured here.
public struct MetricsServerInterceptor: ServerInterceptor {
    private let factory: any MetricsFactory

    /// Records through `factory`; by default the one bootstrapped in `MetricsSystem`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// Serves the call through `next`, counting its messages, and records the metrics when it ends.
    public func intercept(
        requests: RequestStream<[UInt8]>,
        responses: ResponseWriter<[UInt8]>,
        context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        let received = MessageCounter()
        let sent = MessageCounter()
        try await FinishedCall.measuringServedCall(context.method) {
            try await next(requests.counted(by: received), responses.counted(by: sent), context)
        } finished: { call in
            call.record(side: .server, requests: received.value, responses: sent.value, factory: factory)
        }
    }
}
