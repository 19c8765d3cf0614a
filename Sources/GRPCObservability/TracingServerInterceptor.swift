import RPCCore
import Tracing

/// Traces every call a server serves as a span of kind `.server`, after OpenTelemetry's RPC conventions.
///
/// The span's parent is the trace context the client propagated in its request metadata (W3C `traceparent`
/// with OpenTelemetry's default propagator), read through the tracer's `extract`. It is named
/// "package.Service/Method" and carries rpc.system=grpc, rpc.service, rpc.method, network.type,
/// network.peer.address and network.peer.port (for socket peers), and rpc.grpc.status_code when it ends. A status
/// that means the server failed (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS)
/// sets the span status to error and is recorded as an error; a status that blames the caller (INVALID_ARGUMENT,
/// PERMISSION_DENIED, ...) leaves it unset, as OpenTelemetry's gRPC conventions ask of server spans.
///
/// The span ends when the call does (for streaming calls, when the handler has read and written its last
/// message), and the handler runs with the span's context as the task-local `ServiceContext.current`, so spans
/// it starts (and calls it makes through `TracingClientInterceptor`) nest under it. Put it first among the
/// interceptors, so that their work, and the lines `LoggingServerInterceptor` logs, fall within the span.
///
/// With no tracer bootstrapped (`NoOpTracer`) the interceptor passes calls straight on. Unknown methods are
/// answered by the router before interceptors run, so they get no span.
public struct TracingServerInterceptor: ServerInterceptor {
    /// Nil for `NoOpTracer`, whose spans record nothing: then calls skip extraction and span bookkeeping.
    private let tracer: (any Tracer)?

    /// Starts spans with `tracer`; by default the one bootstrapped in `InstrumentationSystem` when this
    /// interceptor is made, so bootstrap before building the server.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer is NoOpTracer ? nil : tracer
    }

    /// Serves the call through `next` within a server span that ends when the call does.
    public func intercept(
        requests: RequestStream<[UInt8]>,
        responses: ResponseWriter<[UInt8]>,
        context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        guard let tracer else { return try await next(requests, responses, context) }
        // A served call starts its own trace unless the client sent one: whatever context the transport's task
        // happens to carry is not the caller's.
        var parent = ServiceContext.topLevel
        tracer.extract(context.metadata, into: &parent, using: RequestMetadataExtractor())
        let span = tracer.startSpan(context.method.spanName, context: parent, ofKind: .server)
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes.setCall(context.method)
                if let peer = NetworkPeer(describing: context.peer) {
                    attributes["network.type"] = peer.type
                    attributes["network.peer.address"] = peer.address
                    attributes["network.peer.port"] = peer.port
                }
            }
        }
        try await FinishedCall.measuringServedCall(context.method) {
            try await ServiceContext.withValue(span.context) {
                try await next(requests, responses, context)
            }
        } finished: { call in
            call.end(span, side: .server)
        }
    }
}
