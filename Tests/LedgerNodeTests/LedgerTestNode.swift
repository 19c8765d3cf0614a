import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerDomain
import LedgerNode
import Logging
import RPCCore

/// A node served over real TLS on a loopback port, with a fresh data directory, for end-to-end stories.
final class LedgerTestNode: Sendable {
    let directory: String
    let server: LedgerServer
    let certificate: DevelopmentCertificate

    /// Starts a node; `configure` adjusts its configuration (rules, clock).
    init(configure: (inout LedgerNodeConfiguration) -> Void = { _ in }) async throws {
        directory = try Self.makeTemporaryDirectory()
        var configuration = LedgerNodeConfiguration(dataDirectory: directory + "/data", chainID: "test-chain")
        configure(&configuration)
        var logger = Logger(label: "ledger-test-node")
        logger.logLevel = .warning
        let node = try LedgerNode.open(configuration, logger: logger)
        try await node.ensureGenesisBlock()
        certificate = try DevelopmentCertificate.generate(directory: directory + "/tls")
        server = try LedgerServer(
            node: node, host: "127.0.0.1", port: 0, security: .tls(certificate.serverConfiguration()), logger: logger,
            limits: LatencyBound.serverLimits)
    }

    /// A client transport that verifies the node's development certificate.
    func transport() throws -> HTTP2ClientTransport {
        var configuration = ClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.tls = TLSClientConfiguration(
            trustRootsPEMPath: certificate.certificateAuthorityPath, serverNameOverride: "localhost")
        return try HTTP2ClientTransport(configuration: configuration)
    }

    /// A client acting as `identity`.
    func client(_ identity: LedgerIdentity) throws -> LedgerClient<HTTP2ClientTransport> {
        LedgerClient(transport: try transport(), identity: identity)
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(1))
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "healthledger-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Collects a live AuditStream in the background.
final class AuditFollower: Sendable {
    private final class Events: Sendable {
        let list = Mutex<[Healthledger_V1_AuditEvent]>([])
    }
    private let events = Events()
    private let task: Task<Void, Error>

    init(_ stream: ResponseStream<Healthledger_V1_AuditStreamResponse>) {
        let events = self.events
        task = Task {
            for try await message in stream {
                if case .event(let logged)? = message.item, let event = logged.event {
                    events.list.withLock { $0.append(event) }
                }
            }
        }
    }

    var received: [Healthledger_V1_AuditEvent] { events.list.withLock { $0 } }

    /// Waits until `predicate` holds for the events received, up to `timeout`; returns the events.
    func wait(
        timeout: Duration = LatencyBound.allowing(.seconds(5)), until predicate: ([Healthledger_V1_AuditEvent]) -> Bool
    ) async throws -> [Healthledger_V1_AuditEvent] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = received
            if predicate(current) { return current }
            try await Task.sleep(for: .milliseconds(5))
        }
        return received
    }

    func cancel() { task.cancel() }
}

import Synchronization

extension Healthledger_V1_Grant {
    /// A PERMIT grant of `actions` on `categories` for `purposes` to `grantee`, valid until `until`.
    static func permit(
        to grantee: String, actions: [Healthledger_V1_Action], categories: [Healthledger_V1_DataCategory],
        purposes: [Healthledger_V1_Purpose] = [.treatment], until: Int64? = nil
    ) -> Healthledger_V1_Grant {
        var grant = Healthledger_V1_Grant()
        grant.grantee = grantee
        grant.actions = actions
        grant.categories = categories
        grant.purposes = purposes
        grant.validUntilUnixMs = until
        grant.effect = .permit
        return grant
    }
}

extension Healthledger_V1_QueryRequest {
    /// A query of `patient`'s records in `categories` for `purpose`.
    static func of(
        _ patient: String, _ categories: [Healthledger_V1_DataCategory], purpose: Healthledger_V1_Purpose = .treatment,
        includeContent: Bool = true
    ) -> Healthledger_V1_QueryRequest {
        var request = Healthledger_V1_QueryRequest()
        request.patient = patient
        request.categories = categories
        request.purpose = purpose
        request.includeContent = includeContent
        return request
    }
}

extension Healthledger_V1_AuditStreamRequest {
    /// Follow `patient`'s audit trail from the first event.
    static func following(_ patient: String, from start: UInt64 = 1) -> Healthledger_V1_AuditStreamRequest {
        var request = Healthledger_V1_AuditStreamRequest()
        request.patient = patient
        request.startSequence = start
        request.follow = true
        return request
    }
}
