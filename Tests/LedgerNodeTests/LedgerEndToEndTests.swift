import Foundation
import Logging
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerNode
import RPCCore
import Testing

/// The acceptance stories of the ledger, over the real transport with TLS.
@Suite("Ledger end to end over TLS", .serialized)
struct LedgerEndToEndTests {
    @Test("a patient grants labs for an hour, the clinician reads and is refused notes, the patient revokes, and the patient's live audit trail shows it all in order")
    func grantQueryRevokeAudit() async throws {
        let node = try await LedgerTestNode()
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate(.ecdsaP256)
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)

        let labs = Array("potassium 4.1 mmol/L".utf8)
        let notes = Array("follow-up in two weeks".utf8)
        let labRecord = try await patientClient.write(
            patient: patient.id, category: .labs, content: labs, mediaType: "text/plain", effectiveAt: 1_700_000_000_000)
        _ = try await patientClient.write(
            patient: patient.id, category: .clinicalNotes, content: notes, mediaType: "text/plain")

        let follower = AuditFollower(try await patientClient.auditStream(.following(patient.id)))
        defer { follower.cancel() }

        let oneHour = LedgerClient<HTTP2ClientTransport>.now() + 3_600_000
        let granted = try await patientClient.grant(
            .permit(to: clinician.id, actions: [.read], categories: [.labs], until: oneHour))
        #expect(granted.grantId.count == 64)

        // Allowed and audited.
        let read = try await clinicianClient.query(.of(patient.id, [.labs]))
        #expect(read.records.count == 1)
        #expect(read.records.first?.record.recordId == labRecord.recordId)
        #expect(read.records.first?.content == labs)

        // Not granted: denied and audited.
        await #expect(throws: RPCError.self) { try await clinicianClient.query(.of(patient.id, [.clinicalNotes])) }
        do {
            _ = try await clinicianClient.query(.of(patient.id, [.clinicalNotes]))
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
            #expect(!error.message.contains("follow-up"))
        }

        _ = try await patientClient.revoke(grantID: granted.grantId)
        do {
            _ = try await clinicianClient.query(.of(patient.id, [.labs]))
            Issue.record("a query after the revoke was allowed")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
        }

        let events = try await follower.wait { $0.count >= 4 }
        let clinicianEvents = events.filter { $0.actor == clinician.id }
        #expect(clinicianEvents.map(\.outcome) == [.allowed, .denied, .denied, .denied])
        #expect(clinicianEvents.map(\.categories) == [[.labs], [.clinicalNotes], [.clinicalNotes], [.labs]])
        #expect(clinicianEvents[0].releasedRecords.map(\.recordId) == [labRecord.recordId])
        #expect(clinicianEvents[0].decidingGrantIds == [granted.grantId])
        let sequences = events.map(\.sequence)
        #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count)
        let heights = events.map(\.blockHeight)
        #expect(heights == heights.sorted() && heights.allSatisfy { $0 > 1 })
        await node.stop()
    }

    @Test("an emergency clinician opens break-glass without a grant: allergies are released and flagged, mental health is refused, and the patient's follower sees the flag within a second")
    func breakGlass() async throws {
        let clinician = LedgerIdentity.generate()
        let node = try await LedgerTestNode { configuration in
            configuration.rules.emergencyClinicians = [clinician.id]
        }
        let patient = LedgerIdentity.generate()
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)
        let allergy = Array("penicillin: anaphylaxis".utf8)
        _ = try await patientClient.write(patient: patient.id, category: .allergies, content: allergy, mediaType: "text/plain")
        _ = try await patientClient.write(
            patient: patient.id, category: .mentalHealth, content: Array("private".utf8), mediaType: "text/plain")
        let follower = AuditFollower(try await patientClient.auditStream(.following(patient.id)))
        defer { follower.cancel() }

        // Without emergency access, nothing.
        do {
            _ = try await clinicianClient.query(.of(patient.id, [.allergies], purpose: .emergency))
            Issue.record("allowed before emergency access was opened")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
        }

        let opened = try await clinicianClient.openEmergencyAccess(
            patient: patient.id, categories: [.all], reason: "unconscious in the emergency department")
        #expect(opened.expiresAtUnixMs > LedgerClient<HTTP2ClientTransport>.now())
        let start = ContinuousClock.now
        let read = try await clinicianClient.query(.of(patient.id, [.allergies], purpose: .emergency))
        #expect(read.records.map(\.content) == [allergy])
        let flagged = try await follower.wait(timeout: LatencyBound.allowing(.seconds(1))) { events in
            events.contains { $0.emergency && $0.outcome == .allowed && !$0.releasedRecords.isEmpty }
        }
        #expect(ContinuousClock.now - start < LatencyBound.allowing(.seconds(1)))
        let releaseEvent = flagged.first { $0.emergency && !$0.releasedRecords.isEmpty }
        #expect(releaseEvent?.basis == .emergencyAccess)
        #expect(releaseEvent?.emergencyAccessId == opened.emergencyAccessId)
        #expect(flagged.contains { $0.emergency && $0.reason.contains("unconscious") })

        do {
            _ = try await clinicianClient.query(.of(patient.id, [.mentalHealth], purpose: .emergency))
            Issue.record("mental health released through emergency access")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
        }
        await node.stop()
    }
}

/// A node stopped cleanly starts again from its snapshot and serves the same ledger.
@Suite("Restart from a snapshot", .serialized)
struct LedgerRestartTests {
    @Test("with no block cache, what the state leaves in the block log is read back from disk: record entries, audit replays with proofs and filters, old headers and checkpoints")
    func readsBackFromTheBlockLog() async throws {
        let node = try await LedgerTestNode { $0.blockCacheBytes = 0 }
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate(.ecdsaP256)
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)
        let labs = Array("sodium 139 mmol/L".utf8)
        let written = try await patientClient.write(
            patient: patient.id, category: .labs, content: labs, mediaType: "text/plain")
        _ = try await patientClient.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
        for _ in 0..<3 { _ = try await clinicianClient.query(.of(patient.id, [.labs])) }
        await #expect(throws: RPCError.self) { try await clinicianClient.query(.of(patient.id, [.clinicalNotes])) }

        // The record's entry comes back byte for byte as committed (the client checks its proof and signature).
        let own = try await patientClient.query(.of(patient.id, [.labs]))
        #expect(own.records.map(\.record.recordId) == [written.recordId])
        let entry = try #require(own.records.first?.record.ledgerEntry)
        #expect(entry == written.receipt?.ledgerEntry)

        // A replay with proofs: every event is read back and verified by the client against the latest checkpoint.
        let replay = AuditFollower(try await patientClient.auditStream(.following(patient.id)))
        defer { replay.cancel() }
        let events = try await replay.wait { $0.count >= 5 }
        #expect(events.filter { $0.actor == clinician.id }.map(\.outcome) == [.allowed, .allowed, .allowed, .denied])
        var deniedOnly = Healthledger_V1_AuditStreamRequest.following(patient.id)
        deniedOnly.outcome = .denied
        let filtered = AuditFollower(try await patientClient.auditStream(deniedOnly))
        defer { filtered.cancel() }
        let denied = try await filtered.wait { $0.count >= 1 }
        #expect(denied.count == 1 && denied.first?.outcome == .denied)

        // Every block header and an early checkpoint, from the log.
        let stub = Healthledger_V1_LedgerClient(transport: try node.transport())
        let head = try await stub.getChainHead(Healthledger_V1_GetChainHeadRequest())
        var request = Healthledger_V1_GetBlocksRequest()
        request.startHeight = 1
        var heights: [UInt64] = []
        var ends: [UInt64] = []
        for try await message in try await stub.getBlocks(request) {
            let header = try Healthledger_V1_BlockHeader(serializedBytes: try #require(message.block).header)
            heights.append(header.height)
            ends.append(header.firstEntryIndex + UInt64(header.entryCount))
        }
        #expect(heights == Array(1...head.height))
        var checkpointRequest = Healthledger_V1_GetCheckpointRequest()
        checkpointRequest.treeSize = ends[1]
        let early = try await stub.getCheckpoint(checkpointRequest)
        let checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: try #require(early.checkpoint).checkpoint)
        #expect(checkpoint.treeSize == ends[1] && checkpoint.blockHeight == 2)
        // Proofs at that older size come with the same checkpoint, read back after the state's lock.
        var inclusionRequest = Healthledger_V1_GetInclusionProofRequest()
        inclusionRequest.leafIndex = 0
        inclusionRequest.treeSize = ends[1]
        let inclusion = try await stub.getInclusionProof(inclusionRequest)
        #expect(inclusion.checkpoint == early.checkpoint && inclusion.proof?.treeSize == ends[1])
        var consistencyRequest = Healthledger_V1_GetConsistencyProofRequest()
        consistencyRequest.firstTreeSize = ends[1]
        consistencyRequest.secondTreeSize = ends[2]
        let consistency = try await stub.getConsistencyProof(consistencyRequest)
        #expect(consistency.firstCheckpoint == early.checkpoint)
        let second = try Healthledger_V1_Checkpoint(
            serializedBytes: try #require(consistency.secondCheckpoint).checkpoint)
        #expect(second.treeSize == ends[2] && second.blockHeight == 3)
        await node.stop()
    }

    @Test("after a clean stop the node restarts from its snapshot, keeps every record and grant, and goes on")
    func restartFromSnapshot() async throws {
        let directory = try LedgerTestNode.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "restart-test")
        logger.logLevel = .warning
        let configuration = LedgerNodeConfiguration(dataDirectory: directory + "/data", chainID: "test-chain")
        let patient = LedgerIdentity.generate()
        let content = Array("hba1c 5.4%".utf8)

        let first = try LedgerNode.open(configuration, logger: logger)
        try await first.ensureGenesisBlock()
        #expect(first.recovery.snapshotHeight == nil)
        let firstServer = try LedgerServer(
            node: first, host: "127.0.0.1", port: 0, security: .plaintext, logger: logger,
            limits: LatencyBound.serverLimits)
        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: firstServer.port))
        let client = LedgerClient(transport: transport, identity: patient)
        let written = try await client.write(patient: patient.id, category: .labs, content: content, mediaType: "text/plain")
        let headBefore = first.head
        await transport.close()
        await firstServer.shutdown(gracePeriod: .seconds(1))

        let second = try LedgerNode.open(configuration, logger: logger)
        #expect(second.recovery.snapshotHeight == headBefore.height)
        #expect(second.head.treeSize == headBefore.treeSize)
        let secondServer = try LedgerServer(
            node: second, host: "127.0.0.1", port: 0, security: .plaintext, logger: logger,
            limits: LatencyBound.serverLimits)
        let again = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: secondServer.port))
        let resumed = LedgerClient(transport: again, identity: patient)
        let read = try await resumed.query(.of(patient.id, [.labs], purpose: .patientRequest))
        #expect(read.records.map(\.record.recordId) == [written.recordId])
        #expect(read.records.first?.content == content)
        // The replay guard and the sequence survived: the next write takes sequence 2.
        _ = try await resumed.write(patient: patient.id, category: .labs, content: [1, 2, 3], mediaType: "text/plain")
        await again.close()
        await secondServer.shutdown(gracePeriod: .seconds(1))
    }
}

@Suite("Shutdown with live followers", .serialized)
struct LedgerShutdownTests {
    @Test("a shutdown ends a patient's live audit stream at once with UNAVAILABLE naming the sequence to resume from, instead of holding the node for its grace period")
    func shutdownEndsFollowers() async throws {
        let node = try await LedgerTestNode()
        defer { try? FileManager.default.removeItem(atPath: node.directory) }
        let patient = LedgerIdentity.generate()
        let client = try node.client(patient)
        _ = try await client.write(patient: patient.id, category: .labs, content: [1, 2, 3], mediaType: "text/plain")
        let options = try await client.authenticated()
        let stream = try await client.stub.auditStream(.following(patient.id), options: options)
        let (replayed, replayCompleted) = AsyncStream.makeStream(of: Void.self)
        let following = Task { () -> RPCError? in
            defer { replayCompleted.finish() }
            do {
                for try await message in stream {
                    if case .replayCompleted? = message.item { replayCompleted.yield() }
                }
                return nil
            } catch let error as RPCError {
                return error
            } catch {
                return RPCError(.unknown, "\(error)")
            }
        }
        // The follower is in its live phase once the node has replayed the one event and said so; a fixed wait
        // was too short on a slow machine (sanitizers, load), and the shutdown then refused the stream instead.
        for await _ in replayed { break }
        let started = ContinuousClock.now
        await node.server.shutdown(gracePeriod: .seconds(30))
        let took = ContinuousClock.now - started
        let error = await following.value
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("reconnect from sequence") == true, "\(String(describing: error))")
        #expect(took < .seconds(10), "shutdown waited \(took) for a follower that should have ended at once")
    }
}
