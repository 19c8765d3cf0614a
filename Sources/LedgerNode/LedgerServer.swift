import GRPCObservability
import GRPCProtos
import GRPCStandardServices
import HTTP2Transport
import HealthLedgerProtos
import Logging
import RPCCore

/// A node served over gRPC: the Ledger service with health, reflection, tracing, logging and metrics, on one
/// listener (TLS, or h2c for local use). The one way both `healthledger serve` and the end-to-end tests start a node.
public final class LedgerServer: Sendable {
    /// How clients reach the node.
    public enum Security: Sendable {
        /// Plaintext HTTP/2 (h2c), for local use only.
        case plaintext
        /// TLS with this configuration.
        case tls(TLSConfiguration)
    }

    /// The node being served.
    public let node: LedgerNode
    /// The port the listener is bound to.
    public let port: Int
    private let server: GRPCServer
    private let health: HealthStatusRegistry

    /// Starts serving `node` on `host`:`port` (0 picks a free port). gRPC-Web is accepted beside gRPC;
    /// `dashboard` is the page served to GET requests; `webAllowedOrigins` may call it cross-origin (CORS).
    public init(
        node: LedgerNode, host: String, port: Int, security: Security, logger: Logger,
        healthPort: Int? = nil, limits: ServerLimits = ServerLimits(), dashboard: DashboardFiles = .disabled,
        webAllowedOrigins: [String] = []
    ) throws {
        let served = try LedgerServices(node: node, logger: logger)
        var configuration = ServerConfiguration(host: host, port: port)
        if case .tls(let tls) = security { configuration.tls = tls }
        configuration.limits = limits
        configuration.healthPort = healthPort
        configuration.staticFiles = dashboard.source()
        configuration.webAllowedOrigins = webAllowedOrigins
        let server = GRPCServer(
            configuration: configuration, services: served.services, interceptors: served.interceptors,
            healthService: served.healthService)
        self.port = try server.start()
        self.server = server
        self.health = served.health
        self.node = node
    }

    /// Drains calls in flight (health reports NOT_SERVING meanwhile), then stops the node.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        health.markAllNotServing()
        node.endFollowers()
        await server.shutdown(gracePeriod: gracePeriod)
        await node.leaveCluster()
        node.close()
    }
}

/// What a node serves and how: the Ledger, health and reflection services behind the tracing, logging and metrics
/// interceptors. `LedgerServer` serves them on a listener; in-process drivers (the connection fuzzer) on a server
/// of their own.
public struct LedgerServices: Sendable {
    /// Every service, the Ledger's first.
    public let services: [ServiceDefinition]
    /// The health service alone, which a health port serves without interceptors.
    public let healthService: ServiceDefinition
    /// The interceptors, outermost first.
    public let interceptors: [any ServerInterceptor]
    /// The health statuses the health service reports (SERVING for the server and the Ledger).
    public let health: HealthStatusRegistry

    /// The services of `node`, logging served calls to `logger`.
    public init(node: LedgerNode, logger: Logger) throws {
        let ledger = node.service.serviceDefinition
        health = HealthStatusRegistry(serverStatus: .serving)
        health.setStatus(.serving, forService: ledger.name)
        let reflection = try ReflectionService(
            files: [
                HealthledgerV1IdentityProtoFile.descriptor, HealthledgerV1PolicyProtoFile.descriptor,
                HealthledgerV1RecordsProtoFile.descriptor, HealthledgerV1TransactionProtoFile.descriptor,
                HealthledgerV1AuditProtoFile.descriptor, HealthledgerV1ChainProtoFile.descriptor,
                HealthledgerV1StateProtoFile.descriptor, HealthledgerV1LedgerServiceProtoFile.descriptor,
                GrpcHealthV1HealthProtoFile.descriptor, GrpcReflectionV1ReflectionProtoFile.descriptor,
                GrpcReflectionV1alphaReflectionProtoFile.descriptor,
            ],
            servedServices: [ledger.name, "grpc.health.v1.Health"])
        healthService = HealthService(registry: health).serviceDefinition
        services = [ledger, healthService] + reflection.serviceDefinitions
        // Tracing outermost, so the call's log line falls within its span (logs can carry the trace id).
        interceptors = [
            TracingServerInterceptor(), LoggingServerInterceptor(logger: logger, successLevel: .debug),
            MetricsServerInterceptor(),
        ]
    }
}
