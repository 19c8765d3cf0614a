import Logging
import RPCCore

/// Logs one structured line for every call a server serves, when the call ends.
///
/// The line carries rpc.system=grpc, rpc.service, rpc.method, rpc.grpc.status_code (and the status message
/// of a failure), rpc.duration_ms and rpc.peer. OK is logged at `successLevel`; a status that blames the
/// caller (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, CANCELLED, ...) at `.warning`; one that means the
/// server failed (UNKNOWN, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS) at `.error`.
///
/// Health data privacy: messages are never logged, and request metadata is not logged except the keys in
/// `loggedMetadataKeys` (e.g. "x-request-id"), since metadata can carry credentials and patient identifiers.
/// Status messages are logged; handlers must not put health data in them (the client receives them too).
///
/// Unknown methods are answered by the router before interceptors run, so they are not logged here. A call the
/// transport tears down (client gone, deadline) is logged as CANCELLED, as its handler sees it.
public struct LoggingServerInterceptor: ServerInterceptor {
    private let logger: Logger
    private let loggedMetadataKeys: Set<String>
    private let successLevel: Logger.Level

    /// Logs to `logger` (its own metadata is kept); only `loggedMetadataKeys` of the request metadata appear.
    public init(logger: Logger, loggedMetadataKeys: Set<String> = [], successLevel: Logger.Level = .info) {
        self.logger = logger
        self.loggedMetadataKeys = normalizedMetadataKeys(loggedMetadataKeys)
        self.successLevel = successLevel
    }

    /// Serves the call through `next` and logs how it ended.
    public func intercept(
        requests: RequestStream<[UInt8]>,
        responses: ResponseWriter<[UInt8]>,
        context: ServerContext,
        next: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) async throws {
        try await FinishedCall.measuringServedCall(context.method) {
            try await next(requests, responses, context)
        } finished: { call in
            logger.log(
                level: call.code.logLevel(success: successLevel), "gRPC call served",
                metadata: call.logMetadata(
                    peer: context.peer, requestMetadata: context.metadata, loggedKeys: loggedMetadataKeys))
        }
    }
}
