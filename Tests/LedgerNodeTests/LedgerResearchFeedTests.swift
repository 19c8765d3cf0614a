import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import LedgerNode
import Logging
import RPCCore
import Testing

/// The research feed: registered researchers see the audit events of opted-in patients under pseudonyms of their
/// own, and nothing that names a person or a record.
@Suite("Research feed", .serialized)
struct LedgerResearchFeedTests {
    /// A node on a data directory that survives a restart, served in plaintext on a loopback port.
    final class RestartableNode: Sendable {
        let directory: String
        let configuration: LedgerNodeConfiguration
        let node: LedgerNode
        let server: LedgerServer

        init(directory: String, researchers: Set<String>) async throws {
            self.directory = directory
            var configuration = LedgerNodeConfiguration(dataDirectory: directory + "/data", chainID: "test-chain")
            configuration.researchers = researchers
            self.configuration = configuration
            var logger = Logger(label: "research-feed-test")
            logger.logLevel = .warning
            node = try LedgerNode.open(configuration, logger: logger)
            try await node.ensureGenesisBlock()
            server = try LedgerServer(
                node: node, host: "127.0.0.1", port: 0, security: .plaintext, logger: logger,
                limits: LatencyBound.serverLimits)
        }

        func client(_ identity: LedgerIdentity) throws -> LedgerClient<HTTP2ClientTransport> {
            LedgerClient(
                transport: try HTTP2ClientTransport(
                    configuration: ClientConfiguration(host: "127.0.0.1", port: server.port)),
                identity: identity)
        }

        func stop() async { await server.shutdown(gracePeriod: .seconds(1)) }
    }

    /// Every message of a non-following feed from sequence `from`.
    static func feed(_ client: LedgerClient<HTTP2ClientTransport>, from: UInt64 = 1) async throws
        -> [Healthledger_V1_ResearchFeedResponse]
    {
        var request = Healthledger_V1_ResearchFeedRequest()
        request.startSequence = from
        var messages: [Healthledger_V1_ResearchFeedResponse] = []
        for try await message in try await client.stub.researchFeed(request, options: try await client.authenticated())
        {
            messages.append(message)
        }
        return messages
    }

    static func events(_ messages: [Healthledger_V1_ResearchFeedResponse]) -> [Healthledger_V1_ResearchEvent] {
        messages.compactMap { if case .event(let event)? = $0.item { event } else { nil } }
    }

    static func trail(_ client: LedgerClient<HTTP2ClientTransport>, of patient: String) async throws
        -> [Healthledger_V1_AuditEvent]
    {
        var request = Healthledger_V1_AuditStreamRequest()
        request.patient = patient
        request.startSequence = 1
        var events: [Healthledger_V1_AuditEvent] = []
        for try await message in try await client.auditStream(request) {
            if case .event(let logged)? = message.item, let event = logged.event { events.append(event) }
        }
        return events
    }

    /// The pseudonym computed straight from the definition, with the secret read from the data directory.
    static func expectedPseudonym(of principal: String, researcher: String, dataDirectory: String) throws -> String {
        let secret = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dataDirectory + "/research-pseudonym.key")))
        let key = HMACSHA256.authenticationCode(
            for: Array("healthledger.v1.research-pseudonym".utf8) + [0] + Array(researcher.utf8), key: secret)
        return "ps-" + Hex.encode(Array(HMACSHA256.authenticationCode(for: Array(principal.utf8), key: key).prefix(16)))
    }

    /// The runs of `[0-9a-z]` characters (ids are Bech32m or hex) at least `length` long in `bytes` read as text.
    static func longRuns(in bytes: [UInt8], atLeast length: Int) -> [String] {
        var runs: [String] = []
        var current: [UInt8] = []
        for byte in bytes + [0] {
            if (0x30...0x39).contains(byte) || (0x61...0x7a).contains(byte) {
                current.append(byte)
            } else {
                if current.count >= length { runs.append(String(decoding: current, as: UTF8.self)) }
                current = []
            }
        }
        return runs
    }

    @Test(
        "given two researchers, a patient who opted in, one who did not and a stranger: only the opted-in patient's events arrive, under pseudonyms stable per researcher across calls and restarts, different between researchers, with no id in them; the read is in the patient's trail"
    )
    func researchFeedStory() async throws {
        let directory = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let alpha = LedgerIdentity.generate()
        let beta = LedgerIdentity.generate(.ecdsaP256)
        let stranger = LedgerIdentity.generate()
        let optedIn = LedgerIdentity.generate()
        let optedOut = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate()
        var node = try await RestartableNode(directory: directory, researchers: [alpha.id, beta.id])
        let dataDirectory = node.configuration.dataDirectory

        // Both patients share lab results with the clinician, who reads them; only one opts in to research.
        var recordIDs: [String] = []
        for patient in [optedIn, optedOut] {
            let client = try node.client(patient)
            recordIDs.append(
                try await client.write(patient: patient.id, category: .labs, content: [1, 2], mediaType: "text/plain")
                    .recordId)
            _ = try await client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
        }
        let optIns = try node.client(optedIn)
        let alphaOptIn = try await optIns.grant(
            .permit(to: alpha.id, actions: [.auditRead], categories: [.all], purposes: [.research]))
        _ = try await optIns.grant(
            .permit(to: beta.id, actions: [.auditRead], categories: [.all], purposes: [.research]))
        let clinicianClient = try node.client(clinician)
        for patient in [optedIn, optedOut] {
            let read = try await clinicianClient.query(.of(patient.id, [.labs]))
            #expect(read.records.count == 1)
            _ = try? await clinicianClient.query(.of(patient.id, [.imaging]))
        }

        // A principal the operator did not register is refused.
        do {
            _ = try await Self.feed(try node.client(stranger))
            Issue.record("a stranger read the research feed")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
            #expect(!error.message.contains("\n"))
        }
        // Nor does a patient's own standing make them a researcher.
        do {
            _ = try await Self.feed(try node.client(optedIn))
            Issue.record("a patient read the research feed")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
        }

        let alphaClient = try node.client(alpha)
        let firstMessages = try await Self.feed(alphaClient)
        let first = Self.events(firstMessages)
        #expect(firstMessages.last.map { if case .replayCompleted? = $0.item { true } else { false } } == true)
        let alphaSeesPatient = try Self.expectedPseudonym(
            of: optedIn.id, researcher: alpha.id, dataDirectory: dataDirectory)
        let alphaSeesClinician = try Self.expectedPseudonym(
            of: clinician.id, researcher: alpha.id, dataDirectory: dataDirectory)
        #expect(!first.isEmpty)
        #expect(first.allSatisfy { $0.patientPseudonym == alphaSeesPatient })
        #expect(first.contains { $0.actorPseudonym == alphaSeesClinician && $0.releasedRecordCount == 1 })
        #expect(first.allSatisfy { $0.timeUnixMs % 60_000 == 0 })

        // The patient's trail: every event of it reached the researcher, the researcher's read among them.
        let trail = try await Self.trail(optIns, of: optedIn.id)
        #expect(first.map(\.sequence) == trail.map(\.sequence))
        let researchReads = trail.filter { $0.actor == alpha.id && $0.action == .auditRead && $0.purpose == .research }
        #expect(researchReads.count == 1)
        #expect(researchReads.first?.decidingGrantIds == [alphaOptIn.grantId])
        let alphaSeesItself = try Self.expectedPseudonym(
            of: alpha.id, researcher: alpha.id, dataDirectory: dataDirectory)
        #expect(first.contains { $0.sequence == researchReads.first?.sequence && $0.actorPseudonym == alphaSeesItself })

        // A research opt-in does not open the identified AuditStream: the researcher sees only their own actions.
        let identified = try await Self.trail(alphaClient, of: optedIn.id)
        #expect(!identified.isEmpty && identified.allSatisfy { $0.actor == alpha.id })

        // Nothing in the encoded responses names a principal or a record.
        let encoded = firstMessages.flatMap { $0.serializedBytes() }
        let named = [alpha, beta, stranger, optedIn, optedOut, clinician].map(\.id) + recordIDs
        for id in named {
            #expect(Self.longRuns(in: encoded, atLeast: 32).allSatisfy { !$0.contains(id) }, "\(id) leaked")
        }
        #expect(Self.longRuns(in: encoded, atLeast: 33).isEmpty, "\(Self.longRuns(in: encoded, atLeast: 33))")

        // Stable across calls; another researcher sees other pseudonyms for the same people.
        let again = Self.events(try await Self.feed(alphaClient))
        #expect(again.allSatisfy { $0.patientPseudonym == alphaSeesPatient })
        #expect(Array(again.prefix(first.count)) == first)
        let betaEvents = Self.events(try await Self.feed(try node.client(beta)))
        let betaSeesPatient = try Self.expectedPseudonym(
            of: optedIn.id, researcher: beta.id, dataDirectory: dataDirectory)
        #expect(betaSeesPatient != alphaSeesPatient)
        #expect(!betaEvents.isEmpty && betaEvents.allSatisfy { $0.patientPseudonym == betaSeesPatient })
        #expect(Set(betaEvents.map(\.actorPseudonym)).isDisjoint(with: Set(first.map(\.actorPseudonym))))

        // Stable across a restart: the secret is in the data directory.
        await node.stop()
        node = try await RestartableNode(directory: directory, researchers: [alpha.id, beta.id])
        let afterRestart = Self.events(try await Self.feed(try node.client(alpha)))
        #expect(Array(afterRestart.prefix(first.count)) == first)
        await node.stop()
    }

    @Test("a researcher's live feed stops carrying a patient's events once the patient revokes the opt-in")
    func revokeStopsTheFollow() async throws {
        let directory = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let researcher = LedgerIdentity.generate()
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate()
        let node = try await RestartableNode(directory: directory, researchers: [researcher.id])
        let patientClient = try node.client(patient)
        _ = try await patientClient.write(patient: patient.id, category: .labs, content: [7], mediaType: "text/plain")
        _ = try await patientClient.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
        let optIn = try await patientClient.grant(
            .permit(to: researcher.id, actions: [.auditRead], categories: [.all], purposes: [.research]))

        let researcherClient = try node.client(researcher)
        var request = Healthledger_V1_ResearchFeedRequest()
        request.startSequence = 0
        request.follow = true
        // The deadline ends the follow; it bounds the queries, the revoke and the deliveries, so it is scaled for a
        // slow build.
        let options = try await researcherClient.authenticated(CallOptions(timeout: LatencyBound.allowing(.seconds(3))))
        let stream = try await researcherClient.stub.researchFeed(request, options: options)
        let (delivered, deliveries) = AsyncStream<Healthledger_V1_ResearchEvent>.makeStream()
        let (replayed, replayCompleted) = AsyncStream<Void>.makeStream()
        let following = Task { () -> [Healthledger_V1_ResearchEvent] in
            var events: [Healthledger_V1_ResearchEvent] = []
            do {
                for try await message in stream {
                    switch message.item {
                    case .event(let event)?:
                        events.append(event)
                        deliveries.yield(event)
                    case .replayCompleted?: replayCompleted.yield()
                    default: break
                    }
                }
            } catch {}  // the deadline ends the follow
            replayCompleted.finish()
            deliveries.finish()
            return events
        }
        // The stream starts from now (sequence 0): the clinician's read must come after the node has replayed.
        for await _ in replayed { break }
        let clinicianClient = try node.client(clinician)
        _ = try await clinicianClient.query(.of(patient.id, [.labs]))
        for await event in delivered where event.action == .read { break }
        _ = try await patientClient.revoke(grantID: optIn.grantId)
        let revokedAt = node.node.head.auditSequence
        _ = try await clinicianClient.query(.of(patient.id, [.labs]))
        _ = try await clinicianClient.query(.of(patient.id, [.labs]))

        let events = await following.value
        #expect(events.contains { $0.action == .read })
        let leaked = events.filter { $0.sequence > revokedAt }
        #expect(leaked.isEmpty, "\(leaked.count) events committed after the revoke reached the researcher")
        await node.stop()
    }
}
