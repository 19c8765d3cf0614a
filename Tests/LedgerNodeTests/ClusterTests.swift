import EtcdClient
import EtcdTestSupport
import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerDomain
import Logging
import RPCCore
import Testing

@testable import LedgerNode

/// A node of a cluster served over plaintext HTTP/2 on a loopback port, its data directory kept across restarts.
private final class ClusterTestNode: @unchecked Sendable {
    let dataDirectory: String
    let etcd: [EtcdEndpoint]
    private(set) var node: LedgerNode?
    private(set) var server: LedgerServer?

    init(dataDirectory: String, etcd: [EtcdEndpoint]) {
        self.dataDirectory = dataDirectory
        self.etcd = etcd
    }

    /// Starts the node; the leader's lease lives 2 s, stretched like the tests' other bounds under the sanitizers.
    func start(
        leaseTTLSeconds: Int64 = Int64(min(2 * LatencyBound.timeScale, 60)),
        configure: (inout LedgerNodeConfiguration) -> Void = { _ in }
    ) async throws {
        var logger = Logger(label: "cluster-test-node")
        logger.logLevel = .warning
        var configuration = LedgerNodeConfiguration(dataDirectory: dataDirectory, chainID: "cluster-test-chain")
        configure(&configuration)
        // etcd calls and the read index wait as long as the tests' other bounds under the sanitizers.
        var settings = ClusterSettings(
            etcd: try EtcdClient(endpoints: etcd, callTimeout: LatencyBound.allowing(.seconds(3))),
            prefix: "/test/cluster", advertisedAddress: "127.0.0.1:0")
        settings.leaseTTLSeconds = leaseTTLSeconds
        settings.readIndexTimeout = LatencyBound.allowing(.seconds(5))
        let node = try await LedgerNode.open(configuration, cluster: settings, logger: logger)
        try await node.ensureGenesisBlock()
        self.node = node
        server = try LedgerServer(
            node: node, host: "127.0.0.1", port: 0, security: .plaintext, logger: logger,
            limits: LatencyBound.serverLimits)
    }

    func stop() async {
        await server?.shutdown(gracePeriod: .seconds(1))
        server = nil
        node = nil
    }

    var isLeader: Bool {
        guard case .leader = (node?.runtime.committer as? ClusterCommitter)?.currentRole else { return false }
        return true
    }

    var head: (height: UInt64, hash: [UInt8]) {
        node!.runtime.cell.read { ($0.height, $0.lastBlockHash) }
    }

    func client(_ identity: LedgerIdentity) throws -> LedgerClient<HTTP2ClientTransport> {
        let transport = try HTTP2ClientTransport(
            configuration: ClientConfiguration(host: "127.0.0.1", port: server!.port))
        return LedgerClient(transport: transport, identity: identity)
    }
}

@Suite("A cluster of three nodes ordered through a real etcd", .serialized)
struct ClusterTests {
    /// Runs `body` with three started nodes of one cluster on a one-member etcd; stops them and removes their data.
    private func withCluster(_ body: ([ClusterTestNode], EtcdTestCluster) async throws -> Void) async throws {
        try await EtcdTestCluster.with(size: 1) { etcd in
            let root = NSTemporaryDirectory() + "healthledger-cluster-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: root) }
            let nodes = (1...3).map { ClusterTestNode(dataDirectory: "\(root)/node\($0)", etcd: etcd.endpoints) }
            for node in nodes { try await node.start() }
            do {
                try await body(nodes, etcd)
            } catch {
                for node in nodes { await node.stop() }
                throw error
            }
            for node in nodes { await node.stop() }
        }
    }

    /// Waits (at most `seconds`) until `condition` holds.
    private func eventually(_ seconds: Int = 20, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: LatencyBound.allowing(.seconds(seconds)))
        while !condition() {
            if ContinuousClock.now > deadline { throw ClusterTestTimeout() }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private struct ClusterTestTimeout: Error {}

    @Test("calls on any node commit into one chain; a revoke returned on one node refuses the next query on every other; refusals keep their status across nodes")
    func oneChainAndLinearizableRevocation() async throws {
        try await withCluster { nodes, _ in
            try await eventually { nodes.filter(\.isLeader).count == 1 }
            let patient = LedgerIdentity.generate()
            let clinician = LedgerIdentity.generate()
            let labs = Array("potassium 4.1 mmol/L".utf8)
            let record = try await nodes[1].client(patient).write(
                patient: patient.id, category: .labs, content: labs, mediaType: "text/plain")
            let until = LedgerClient<HTTP2ClientTransport>.now() + 3_600_000
            for round in 0..<6 {
                let granting = nodes[round % 3]
                let revoking = nodes[(round + 1) % 3]
                let asking = nodes[(round + 2) % 3]
                let grant = try await granting.client(patient).grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs], until: until))
                // Content stays on the node that received the Write (docs/REPLICATION.md): metadata from any node.
                let allowed = try await asking.client(clinician).query(.of(patient.id, [.labs], includeContent: false))
                #expect(allowed.records.map(\.record.recordId) == [record.recordId])
                _ = try await revoking.client(patient).revoke(grantID: grant.grantId)
                // Right after the revoke returned elsewhere: decided against it.
                do {
                    _ = try await asking.client(clinician).query(.of(patient.id, [.labs], includeContent: false))
                    Issue.record("round \(round): a query after the revoke was allowed")
                } catch let error as RPCError {
                    #expect(error.code == .permissionDenied)
                }
            }
            // A grant by someone who is not the patient, sent to a follower, is refused with the leader's status.
            let follower = try #require(nodes.first { !$0.isLeader })
            var forged = Healthledger_V1_Grant.permit(to: clinician.id, actions: [.read], categories: [.labs], until: until)
            forged.patient = patient.id
            do {
                _ = try await follower.client(clinician).grant(forged)
                Issue.record("a grant by a non-patient was committed")
            } catch let error as RPCError {
                #expect(error.code == .permissionDenied)
            }
            // The node that received the Write serves the content; another says where it is.
            let own = try await nodes[1].client(patient).query(.of(patient.id, [.labs], purpose: .patientRequest))
            #expect(own.records.first?.content == labs)
            do {
                _ = try await nodes[2].client(patient).query(.of(patient.id, [.labs], purpose: .patientRequest))
                Issue.record("a node without the content served it")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition)
                #expect(error.message.contains("content stays on the node that received its Write"))
            }
            let heads = nodes.map(\.head)
            try await eventually { Set(nodes.map { $0.head.height }).count == 1 }
            #expect(Set(nodes.map { $0.head.hash }).count == 1, "the nodes' chains differ: \(heads)")
        }
    }

    @Test("when the leader stops another node leads within seconds, no acknowledged transaction is lost, and the stopped node catches up on restart to the same chain")
    func leaderFailoverAndCatchUp() async throws {
        try await withCluster { nodes, _ in
            try await eventually { nodes.filter(\.isLeader).count == 1 }
            let patient = LedgerIdentity.generate()
            let clinician = LedgerIdentity.generate()
            let until = LedgerClient<HTTP2ClientTransport>.now() + 3_600_000
            var acknowledged: [String] = []
            for index in 0..<6 {
                let response = try await nodes[index % 3].client(patient).grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs], until: until))
                acknowledged.append(response.grantId)
            }
            let leader = try #require(nodes.firstIndex { $0.isLeader })
            await nodes[leader].stop()
            let survivors = nodes.indices.filter { $0 != leader }.map { nodes[$0] }
            try await eventually { survivors.contains(where: \.isLeader) }
            for (index, node) in survivors.enumerated() {
                let response = try await node.client(patient).grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.vitals], until: until + Int64(index)))
                acknowledged.append(response.grantId)
            }
            try await nodes[leader].start()
            try await eventually { Set(nodes.map { $0.head.height }).count == 1 && Set(nodes.map { $0.head.hash }).count == 1 }
            for node in nodes {
                let grants = node.node!.runtime.cell.read { state in acknowledged.filter { state.grants[$0] != nil } }
                #expect(grants == acknowledged, "a node lacks acknowledged grants")
            }
        }
    }

    @Test("a single node's chain becomes an empty cluster's first chain: a node joining later catches up to it and both go on as one")
    func singleNodeSeedsCluster() async throws {
        try await EtcdTestCluster.with(size: 1) { etcd in
            let root = NSTemporaryDirectory() + "healthledger-cluster-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: root) }
            let patient = LedgerIdentity.generate()
            let clinician = LedgerIdentity.generate()
            let until = LedgerClient<HTTP2ClientTransport>.now() + 3_600_000
            // A single node with a history of its own.
            var logger = Logger(label: "single-node")
            logger.logLevel = .warning
            let single = try LedgerNode.open(
                LedgerNodeConfiguration(dataDirectory: "\(root)/node1", chainID: "cluster-test-chain"), logger: logger)
            try await single.ensureGenesisBlock()
            let singleServer = try LedgerServer(node: single, host: "127.0.0.1", port: 0, security: .plaintext, logger: logger)
            var before: [String] = []
            for _ in 0..<3 {
                let transport = try HTTP2ClientTransport(
                    configuration: ClientConfiguration(host: "127.0.0.1", port: singleServer.port))
                let response = try await LedgerClient(transport: transport, identity: patient).grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs], until: until))
                before.append(response.grantId)
            }
            let singleHead = single.runtime.cell.read { ($0.height, $0.lastBlockHash) }
            await singleServer.shutdown(gracePeriod: .seconds(1))

            let first = ClusterTestNode(dataDirectory: "\(root)/node1", etcd: etcd.endpoints)
            try await first.start()
            #expect(first.head.height == singleHead.0 && first.head.hash == singleHead.1)
            let second = ClusterTestNode(dataDirectory: "\(root)/node2", etcd: etcd.endpoints)
            do {
                try await second.start()
                try await eventually { second.head.height >= singleHead.0 }
                let after = try await second.client(patient).grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.vitals], until: until))
                try await eventually { first.head == second.head }
                for node in [first, second] {
                    let known = node.node!.runtime.cell.read { state in
                        (before + [after.grantId]).filter { state.grants[$0] != nil }
                    }
                    #expect(known.count == 4)
                }
            } catch {
                await first.stop()
                await second.stop()
                throw error
            }
            await first.stop()
            await second.stop()
        }
    }

    @Test("a node whose policy settings differ from the cluster's is refused at start, naming the setting, and leaves no key behind")
    func differentRulesRefused() async throws {
        try await EtcdTestCluster.with(size: 1) { etcd in
            let root = NSTemporaryDirectory() + "healthledger-cluster-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: root) }
            let first = ClusterTestNode(dataDirectory: "\(root)/node1", etcd: etcd.endpoints)
            try await first.start()
            let other = ClusterTestNode(dataDirectory: "\(root)/node2", etcd: etcd.endpoints)
            do {
                try await other.start { $0.rules.emergencyClinicians = ["hl1someclinician"] }
                Issue.record("a node with other emergency clinicians joined")
                await other.stop()
            } catch let error as LedgerNodeError {
                #expect(error.description.contains("emergency_clinicians=hl1someclinician"), "\(error)")
            }
            let client = try etcd.client()
            let registered = try await client.range(
                Array("/test/cluster/nodes/".utf8), end: EtcdClient.prefixEnd(Array("/test/cluster/nodes/".utf8)))
            #expect(registered.kvs.count == 1, "the refused node registered its key")
            await client.close()
            await first.stop()
        }
    }
}
