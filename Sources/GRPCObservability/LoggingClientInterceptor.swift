import Logging
import RPCCore

/// Logs one structured line for every call a client makes, when the call ends (its responses end or fail,
/// the caller drops them, or it cannot start).
///
/// Fields and levels are those of `LoggingServerInterceptor`; rpc.peer is the `peer` given here (the server
/// this client talks to), when given.
///
/// Health data privacy: messages are never logged, and request metadata is not logged except the keys in
/// `loggedMetadataKeys`, since metadata carries credentials (`authorization`) and can carry patient
/// identifiers. Only the metadata added by interceptors before this one (earlier in the list) is seen.
public struct LoggingClientInterceptor: ClientInterceptor {
    private let logger: Logger
    private let loggedMetadataKeys: Set<String>
    private let peer: String?
    private let successLevel: Logger.Level

    /// Logs to `logger`; only `loggedMetadataKeys` of the request metadata appear; `peer` names the server.
    public init(
        logger: Logger, loggedMetadataKeys: Set<String> = [], peer: String? = nil, successLevel: Logger.Level = .info
    ) {
        self.logger = logger
        self.loggedMetadataKeys = normalizedMetadataKeys(loggedMetadataKeys)
        self.peer = peer
        self.successLevel = successLevel
    }

    /// Starts the call through `next` and logs how it ends.
    public func intercept(
        _ method: MethodDescriptor,
        requests: RequestStream<[UInt8]>,
        options: CallOptions,
        next: @Sendable (RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>
    ) async throws -> ResponseStream<[UInt8]> {
        let (logger, loggedMetadataKeys, peer, successLevel) = (logger, loggedMetadataKeys, peer, successLevel)
        return try await FinishedCall.measuringClientCall(method) {
            try await next(requests, options)
        } finished: { call in
            logger.log(
                level: call.code.logLevel(success: successLevel), "gRPC call finished",
                metadata: call.logMetadata(
                    peer: peer, requestMetadata: options.metadata, loggedKeys: loggedMetadataKeys))
        }
    }
}
