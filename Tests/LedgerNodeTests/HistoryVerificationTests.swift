import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerNode
import Logging
import MerkleLog
import RPCCore
import Synchronization
import Testing

/// Clients that remember the last checkpoint they saw, against real nodes over real sockets whose history is forked,
/// rewritten or signed by another key.
@Suite("history verification by the Swift client")
struct HistoryVerificationTests {
    @Test(
        "given a client with verification on, every receipt and audit event verifies and the newest checkpoint is kept")
    func happyPath() async throws {
        let workspace = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let node = try await DirectoryNode(dataDirectory: workspace + "/data")
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate(.ecdsaP256)
        let history = RememberedHistory()
        let client = try node.client(patient, history)
        let granted = try await client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
        let receipt = try #require(granted.receipt)
        #expect(history.witness?.latest?.treeSize == receipt.entryIndex + 1)
        _ = try await client.write(
            patient: patient.id, category: .labs, content: Array("{\"hba1c\": 5.4}".utf8), mediaType: "application/json"
        )
        let read = try await node.client(clinician, RememberedHistory()).query(.of(patient.id, [.labs]))
        #expect(read.records.count == 1)
        let events = try await replay(client, patient: patient.id)
        #expect(events.map(\.sequence) == [read.auditSequence])
        #expect(history.witness?.latest?.treeSize == node.server.node.head.treeSize)
        let raw = try node.client(patient, nil, verification: .disabled)
        _ = try await replay(raw, patient: patient.id)
        #expect(await raw.witness == nil)
        await node.stop()
    }

    @Test(
        "given a patient who followed her audit trail on a node, when she reconnects to a fork of it (same key, same chain id, other transactions), her stream and her next transaction are refused as a fork"
    )
    func forkCaught() async throws {
        let workspace = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate(.ecdsaP256)
        let history = RememberedHistory()
        let original = try await DirectoryNode(dataDirectory: workspace + "/a")
        let setup = try original.client(patient, history)
        _ = try await setup.write(
            patient: patient.id, category: .labs, content: Array("{\"hba1c\": 5.4}".utf8), mediaType: "application/json"
        )
        _ = try await setup.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
        _ = try await original.client(clinician, nil).query(.of(patient.id, [.labs]))
        await original.stop()
        try FileManager.default.copyItem(atPath: workspace + "/a", toPath: workspace + "/b")

        let nodeA = try await DirectoryNode(dataDirectory: workspace + "/a")
        let nodeB = try await DirectoryNode(dataDirectory: workspace + "/b")
        // From here the two copies' histories part: on A the clinician reads again; on B he asks for genomics and
        // is refused (audited all the same).
        _ = try await nodeA.client(clinician, nil).query(.of(patient.id, [.labs]))
        await #expect(throws: RPCError.self) {
            _ = try await nodeB.client(clinician, nil).query(.of(patient.id, [.genomics]))
        }
        let onA = try await replay(try nodeA.client(patient, history), patient: patient.id)
        #expect(onA.count == 2 && onA.allSatisfy { $0.outcome == .allowed })
        let remembered = try #require(history.witness?.latest)

        let onB = try nodeB.client(patient, history)
        let error = await #expect(throws: HistoryVerificationError.self) {
            _ = try await replay(onB, patient: patient.id, from: onA.last!.sequence + 1)
        }
        #expect(error?.kind == .forked)
        #expect(error?.description.contains("tree size \(remembered.treeSize)") == true, "\(String(describing: error))")
        let granting = try nodeB.client(patient, history)
        await #expect(throws: HistoryVerificationError.self) {
            _ = try await granting.grant(.permit(to: clinician.id, actions: [.read], categories: [.vitals]))
        }
        #expect(history.witness?.latest == remembered)
        await nodeA.stop()
        await nodeB.stop()
    }

    @Test(
        "given a patient who saw a clinician's read, when the operator drops that audit event and re-seals every later block with the node's own key, verify --data-dir passes and a new client sees nothing wrong, but her client catches the rewrite on its next call"
    )
    func rewrittenHistoryCaught() async throws {
        let workspace = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let directory = workspace + "/data"
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate(.ecdsaP256)
        let history = RememberedHistory()
        let node = try await DirectoryNode(dataDirectory: directory)
        let setup = try node.client(patient, history)
        _ = try await setup.write(
            patient: patient.id, category: .labs, content: Array("{\"hba1c\": 5.4}".utf8), mediaType: "application/json"
        )
        _ = try await setup.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
        let reader = try node.client(clinician, nil)
        let hidden = try await reader.query(.of(patient.id, [.labs]))
        _ = try await reader.query(.of(patient.id, [.labs]))
        let seen = try await replay(try node.client(patient, history), patient: patient.id)
        #expect(seen.map(\.sequence).contains(hidden.auditSequence))
        let remembered = try #require(history.witness?.latest)
        await node.stop()

        let nodeKey = try SigningPrivateKey(
            pemRepresentation: String(contentsOfFile: directory + "/node-key.pem", encoding: .utf8))
        var log = try StoredBlockLog(path: directory + "/blocks.log")
        try log.dropAuditEvent(sequence: hidden.auditSequence, resealingWith: nodeKey)
        try Data(log.fileBytes()).write(to: URL(fileURLWithPath: directory + "/blocks.log"))
        try? FileManager.default.removeItem(atPath: directory + "/snapshots")
        let verified = CommandLineWorkspace.verify(dataDirectory: directory)
        #expect(verified.status == 0, "\(verified.stderr)")

        let restarted = try await DirectoryNode(dataDirectory: directory)
        let newcomer = try await replay(try restarted.client(patient, nil), patient: patient.id)
        #expect(newcomer.count == seen.count - 1)
        let error = await #expect(throws: HistoryVerificationError.self) {
            _ = try await replay(try restarted.client(patient, history), patient: patient.id)
        }
        #expect(error?.kind == .forked)
        #expect(error?.description.contains("rewritten") == true, "\(String(describing: error))")
        #expect(history.witness?.latest == remembered)
        await restarted.stop()
    }

    @Test(
        "a checkpoint signed by another key is refused: a node with the same chain id but its own key, whether the key was pinned on first use or configured"
    )
    func checkpointSignedByAnotherKey() async throws {
        let workspace = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let patient = LedgerIdentity.generate()
        let history = RememberedHistory()
        let genuine = try await DirectoryNode(dataDirectory: workspace + "/genuine")
        _ = try await genuine.client(patient, history).grant(
            .permit(to: LedgerIdentity.generate().id, actions: [.read], categories: [.labs]))
        let genuineKey = genuine.server.node.nodeKey
        await genuine.stop()
        #expect(history.witness?.pinnedKeys.keys.sorted() == [genuineKey.keyID])

        let impostor = try await DirectoryNode(dataDirectory: workspace + "/impostor")
        let error = await #expect(throws: HistoryVerificationError.self) {
            _ = try await impostor.client(patient, history).grant(
                .permit(to: LedgerIdentity.generate().id, actions: [.read], categories: [.labs]))
        }
        #expect(error?.kind == .unknownNodeKey)
        #expect(error?.description.contains("which is not pinned") == true, "\(String(describing: error))")
        let configured = try impostor.client(
            patient, nil, verification: .enabled(nodeKeys: [PinnedNodeKey(publicKey: genuineKey)]))
        await #expect(throws: HistoryVerificationError.self) { _ = try await configured.chain() }
        await impostor.stop()
    }

    @Test(
        "the command line keeps the pinned key and last checkpoint per chain in a file; a new node under the same chain id exits 6 with one line naming the file, and removing the file re-pins"
    )
    func commandLineRepin() throws {
        let workspace = try CommandLineWorkspace()
        defer { workspace.remove() }
        let first = try CommandLineNode(dataDirectory: workspace.path + "/data")
        let run = { (port: Int, arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:\(port)") }
        #expect(run(first.port, ["keygen", "--identity", "patient.pem"]).status == 0)
        let granted = run(
            first.port, ["grant", LedgerIdentity.generate().id, "--identity", "patient.pem", "--categories", "labs"])
        #expect(granted.status == 0, "\(granted.stderr)")
        first.stop()
        let file = workspace.path + "/state/healthledger/checkpoints/healthledger-local.json"
        let kept = try #require(
            JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        #expect(kept["chain_id"] as? String == "healthledger-local")
        #expect((kept["node_keys"] as? [[String: Any]])?.count == 1)
        #expect((kept["checkpoint"] as? [String: Any])?["tree_size"] as? Int == 1)

        // The operator starts afresh: a new data directory, so a new node key, under the same default chain id.
        try FileManager.default.createDirectory(atPath: workspace.path + "/other", withIntermediateDirectories: true)
        let second = try CommandLineNode(dataDirectory: workspace.path + "/other/data")
        defer { second.stop() }
        let listing = ["grants", "--identity", "patient.pem", "--ca-file", workspace.path + "/other/data/tls/ca.pem"]
        let refused = run(second.port, listing)
        #expect(refused.status == 6)
        #expect(refused.isOneLineError, "\(refused.stderr)")
        #expect(refused.stderr.contains("which is not pinned"), "\(refused.stderr)")
        #expect(refused.stderr.contains("remove \(file) to pin the node's keys again"), "\(refused.stderr)")
        try FileManager.default.removeItem(atPath: file)
        let repinned = run(second.port, listing)
        #expect(repinned.status == 0, "\(repinned.stderr)")
        #expect(FileManager.default.fileExists(atPath: file))
    }

    /// Every audit event of `patient` from `start`, without following.
    private func replay<Transport: ClientTransport>(
        _ client: LedgerClient<Transport>, patient: String, from start: UInt64 = 1
    ) async throws -> [Healthledger_V1_AuditEvent] {
        var request = Healthledger_V1_AuditStreamRequest.following(patient, from: start)
        request.follow = false
        var events: [Healthledger_V1_AuditEvent] = []
        for try await message in try await client.auditStream(request) {
            if case .event(let logged)? = message.item, let event = logged.event { events.append(event) }
        }
        return events
    }
}

/// A node over TLS on a loopback port with a data directory that outlives it, so it can be copied, tampered with and
/// served again.
final class DirectoryNode: Sendable {
    let server: LedgerServer
    let certificate: DevelopmentCertificate

    init(dataDirectory: String) async throws {
        var logger = Logger(label: "history-test-node")
        logger.logLevel = .warning
        let node = try LedgerNode.open(
            LedgerNodeConfiguration(dataDirectory: dataDirectory, chainID: "test-chain"), logger: logger)
        try await node.ensureGenesisBlock()
        certificate = try DevelopmentCertificate.generate(directory: dataDirectory + "-tls-" + UUID().uuidString)
        server = try LedgerServer(
            node: node, host: "127.0.0.1", port: 0, security: .tls(certificate.serverConfiguration()), logger: logger,
            limits: LatencyBound.serverLimits)
    }

    /// A client acting as `identity` that keeps its history in `history` (nowhere when nil).
    func client(
        _ identity: LedgerIdentity, _ history: RememberedHistory?, verification: HistoryVerification? = nil
    ) throws -> LedgerClient<HTTP2ClientTransport> {
        var configuration = ClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.tls = TLSClientConfiguration(
            trustRootsPEMPath: certificate.certificateAuthorityPath, serverNameOverride: "localhost")
        return LedgerClient(
            transport: try HTTP2ClientTransport(configuration: configuration), identity: identity,
            verification: verification ?? .enabled(store: history))
    }

    /// Stops the node; its data directory stays.
    func stop() async { await server.shutdown(gracePeriod: .seconds(1)) }
}

/// What a client remembered between runs, in memory.
final class RememberedHistory: WitnessStore {
    private let saved = Mutex<CheckpointWitness?>(nil)

    func load(chainID: String) throws -> CheckpointWitness? { saved.withLock { $0 } }
    func save(_ witness: CheckpointWitness) throws { saved.withLock { $0 = witness } }

    /// The witness last saved.
    var witness: CheckpointWitness? { saved.withLock { $0 } }
}

extension CommandLineWorkspace {
    /// `healthledger verify --data-dir directory` in a scratch workspace.
    static func verify(dataDirectory: String) -> CommandLineResult {
        guard let workspace = try? CommandLineWorkspace() else {
            return CommandLineResult(status: -1, stdout: "", stderr: "no workspace")
        }
        defer { workspace.remove() }
        return workspace.run(["verify", "--data-dir", dataDirectory], server: "127.0.0.1:1")
    }
}

extension StoredBlockLog {
    /// What a malicious operator does to hide audit event `sequence`: remove its entry, renumber the later audit
    /// events (sequence and log index) so the trail has no gap, and re-seal every block from there on with the node's
    /// own key, so every header, root, checkpoint and signature is valid again.
    mutating func dropAuditEvent(sequence: UInt64, resealingWith key: SigningPrivateKey) throws {
        var found: (height: Int, offset: Int)?
        for (blockIndex, block) in blocks.enumerated() {
            for (offset, bytes) in block.entries.enumerated() {
                var entry = try Healthledger_V1_LedgerEntry(serializedBytes: bytes)
                guard case .auditEvent(var event)? = entry.entry else { continue }
                if found == nil {
                    if event.sequence == sequence { found = (blockIndex + 1, offset) }
                    continue
                }
                event.sequence -= 1
                event.entryIndex -= 1
                entry.entry = .auditEvent(event)
                blocks[blockIndex].entries[offset] = entry.serializedBytes()
            }
        }
        let (height, offset) = try #require(found, "no audit event \(sequence)")
        blocks[height - 1].entries.remove(at: offset)
        try rebuildHeaders(from: height, signingWith: key)
    }
}
