import GRPCProtos
import RPCCore

/// grpc.health.v1.Health: reports what a `HealthStatusRegistry` holds (grpc doc/health-checking.md).
public struct HealthService: Grpc_Health_V1_HealthService {
    /// Where statuses come from; the server updates it.
    public let registry: HealthStatusRegistry

    /// The most services List reports; beyond it List fails with RESOURCE_EXHAUSTED, as grpc-go's does.
    public let maxListedServices: Int

    /// Serves the statuses in `registry`.
    public init(registry: HealthStatusRegistry, maxListedServices: Int = 100) {
        self.registry = registry
        self.maxListedServices = maxListedServices
    }

    /// The status of the service asked about ("" for the server); NOT_FOUND when it is not registered.
    public func check(
        request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = registry.status(forService: request.service) else {
            throw RPCError(.notFound, "unknown service: \(request.service)")
        }
        return Self.response(status)
    }

    /// Every registered service's status, the server's ("") included.
    public func list(
        request: Grpc_Health_V1_HealthListRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        let statuses = registry.allStatuses()
        guard statuses.count <= maxListedServices else {
            throw RPCError(
                .resourceExhausted, "\(statuses.count) services exceed the list limit of \(maxListedServices)")
        }
        var response = Grpc_Health_V1_HealthListResponse()
        response.statuses = statuses.mapValues(Self.response)
        return response
    }

    /// Streams the status of one service: the current one at once, then each change. An unregistered
    /// service reads SERVICE_UNKNOWN and the stream stays open until it appears. Runs until the client
    /// goes away.
    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        responses: ResponseWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        var lastSent: HealthStatusRegistry.ServingStatus?
        for await status in registry.statusUpdates(forService: request.service) where status != lastSent {
            // Changes that came and went while the client was slow are skipped; it sees the newest.
            try await responses.write(Self.response(status))
            lastSent = status
        }
        // The updates only end when this task is cancelled: the call is over.
        throw RPCError(.cancelled, "the health watch ended")
    }

    private static func response(_ status: HealthStatusRegistry.ServingStatus) -> Grpc_Health_V1_HealthCheckResponse {
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = status
        return response
    }
}
