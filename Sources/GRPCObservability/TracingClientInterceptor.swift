import RPCCore
import Tracing

/// Traces every call a client makes as a span of kind `.client`, after OpenTelemetry's RPC conventions, and
/// propagates the span's context to the server in the request metadata (W3C `traceparent` with OpenTelemetry's
/// default propagator), through the tracer's `inject`.
///
/// The span's parent is the caller's task-local `ServiceContext.current` (a handler's server span, or a span the
/// application started), so calls made while serving a call nest under it. It is named
/// "package.Service/Method" and carries rpc.system=grpc, rpc.service, rpc.method, server.address and
/// server.port (as given here), and rpc.grpc.status_code when it ends; every status but OK sets the span status
/// to error and is recorded as an error. The span ends when the call does: its responses end or fail, the caller
/// drops them (CANCELLED), or it cannot start.
///
/// Put it first among the client interceptors, so that the others run within the span and a call one of them
/// refuses still gets a span. With no tracer bootstrapped (`NoOpTracer`) the interceptor passes calls straight
/// on and adds no metadata.
public struct TracingClientInterceptor: ClientInterceptor {
    /// Nil for `NoOpTracer`, whose spans record nothing: then calls skip span bookkeeping and injection.
    private let tracer: (any Tracer)?
    private let serverAddress: String?
    private let serverPort: Int?

    /// Starts spans with `tracer` (by default the one bootstrapped in `InstrumentationSystem` when this
    /// interceptor is made); `serverAddress` and `serverPort` name the server this client talks to, as the
    /// transport was configured ("ledger.example.org", 7443), for server.address and server.port.
    public init(tracer: any Tracer = InstrumentationSystem.tracer, serverAddress: String? = nil, serverPort: Int? = nil)
    {
        self.tracer = tracer is NoOpTracer ? nil : tracer
        self.serverAddress = serverAddress
        self.serverPort = serverPort
    }

    /// Starts the call through `next` within a client span, with the span's context in the request metadata.
    public func intercept(
        _ method: MethodDescriptor,
        requests: RequestStream<[UInt8]>,
        options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        guard let tracer else { return try await next(requests, options) }
        let span = tracer.startSpan(method.spanName, context: ServiceContext.current ?? .topLevel, ofKind: .client)
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes.setCall(method)
                if let serverAddress { attributes["server.address"] = serverAddress }
                if let serverPort { attributes["server.port"] = serverPort }
            }
        }
        var options = options
        tracer.inject(span.context, into: &options.metadata, using: RequestMetadataInjector())
        return try await FinishedCall.measuringClientCall(method) { [options] in
            try await ServiceContext.withValue(span.context) {
                try await next(requests, options)
            }
        } finished: { call in
            call.end(span, side: .client)
        }
    }
}
