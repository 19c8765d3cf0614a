import FHIRMapping
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Testing

/// The patient's FHIR export (Ledger.ExportFhirBundle) over the real transport with TLS.
@Suite("FHIR Bundle export", .serialized)
struct LedgerFHIRExportTests {
    /// The whole stream of an export: its opening message and the Bundle's text.
    static func export(_ client: LedgerClient<HTTP2ClientTransport>) async throws
        -> (started: Healthledger_V1_ExportFhirBundleStarted, bundle: [UInt8], chunkSizes: [Int])
    {
        var started: Healthledger_V1_ExportFhirBundleStarted?
        var bundle: [UInt8] = []
        var chunkSizes: [Int] = []
        for try await message in try await client.exportFhirBundle() {
            switch message.part {
            case .started(let opening)?:
                #expect(started == nil && bundle.isEmpty, "the started message comes first, once")
                started = opening
            case .bundleChunk(let chunk)?:
                bundle += chunk
                chunkSizes.append(chunk.count)
            case nil: Issue.record("a message with nothing in it")
            }
        }
        return (try #require(started), bundle, chunkSizes)
    }

    @Test(
        "a patient with a FHIR lab result, a PDF note, an erased record and a grant exports everything: the FHIR record byte for byte, the others as DocumentReferences, and every audit event including the export's own, committed before the first byte"
    )
    func patientExportsEverything() async throws {
        let node = try await LedgerTestNode()
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate()
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)

        // Written pretty, with a member order and a decimal's trailing zero that a re-encoding would not keep.
        let observation = Array(
            """
            {
              "resourceType": "Observation",
              "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3", "display": "Potassium"}]},
              "valueQuantity": {"value": 4.10, "unit": "mmol/L"}
            }

            """.utf8)
        let fhirRecord = try await patientClient.write(
            patient: patient.id, category: .labs, content: observation, mediaType: "application/fhir+json",
            effectiveAt: 1_700_000_000_000)
        let note = try await patientClient.write(
            patient: patient.id, category: .mentalHealth, content: Array("%PDF-1.7 session notes".utf8),
            mediaType: "application/pdf")
        let erased = try await patientClient.write(
            patient: patient.id, category: .vitals, content: Array("bp 120/80".utf8), mediaType: "text/plain")
        _ = try await patientClient.erase(recordIDs: [erased.recordId], reason: "no longer relevant")
        let grantedGrant = Healthledger_V1_Grant.permit(to: clinician.id, actions: [.read], categories: [.labs])
        let granted = try await patientClient.grant(grantedGrant)
        _ = try await clinicianClient.query(.of(patient.id, [.labs]))
        await #expect(throws: RPCError.self) { try await clinicianClient.query(.of(patient.id, [.genomics])) }

        let (started, bundleText, chunkSizes) = try await Self.export(patientClient)
        #expect(chunkSizes.allSatisfy { (1...(1 << 20)).contains($0) })
        #expect(started.recordCount == 3)
        #expect(started.auditEvents.count == 1)
        let exportEvent = try #require(started.auditEvents.first?.event)
        #expect(exportEvent.actor == patient.id && exportEvent.patient == patient.id)
        #expect(exportEvent.outcome == .allowed && exportEvent.purpose == .patientRequest)
        #expect(
            Set(exportEvent.releasedRecords.map(\.recordId)) == [
                fhirRecord.recordId, note.recordId, erased.recordId,
            ])
        #expect(exportEvent.categories.contains(.mentalHealth), "the patient's own sensitive data is theirs to export")

        // The Bundle parses with a strict parser, and holds what the opening message counted.
        let bundle = try FHIRJSONParser.parse(bundleText)
        #expect(bundle["resourceType"] == .string("Bundle"))
        #expect(bundle["type"] == .string("collection"))
        #expect(bundle["id"] == .string("export-\(exportEvent.sequence)"))
        let resources = try #require(bundle["entry"]?.arrayValue).compactMap { $0["resource"] }
        let auditEvents = resources.filter { $0["resourceType"] == .string("AuditEvent") }
        let documents = resources.filter { $0["resourceType"] == .string("DocumentReference") }
        let observations = resources.filter { $0["resourceType"] == .string("Observation") }
        #expect(UInt64(auditEvents.count) == started.auditEventCount)
        let consents = resources.filter { $0["resourceType"] == .string("Consent") }
        #expect(UInt64(consents.count) == started.consentCount)
        // The grant reads as its Consent: its id, active, permitting the clinician to read labs.
        let consent = try #require(consents.first)
        #expect(consents.count == 1)
        #expect(consent["id"] == .string(granted.receipt?.transactionId ?? ""))
        #expect(consent["status"] == .string("active"))
        #expect(consent["provision"]?["type"] == .string("permit"))
        #expect(
            consent["provision"]?["actor"]?.arrayValue?.first?["reference"]?["identifier"]?["value"]
                == .string(clinician.id))
        var signedGrant = grantedGrant
        signedGrant.patient = patient.id
        #expect(try ConsentMapping.grantProposals(from: consent) == [signedGrant], "the Consent reads back as the grant")
        #expect(observations.count == 1)
        #expect(documents.count == 2)

        // The FHIR record is in the Bundle's text exactly as written.
        #expect(bundleText.firstRange(of: observation) != nil)

        // The others are described, not embedded: ids, hash, category, erasure.
        let byID = Dictionary(uniqueKeysWithValues: documents.map { ($0["id"]?.stringValue ?? "", $0) })
        let noteDocument = try #require(byID[note.recordId])
        #expect(noteDocument["content"]?.arrayValue?.first?["attachment"]?["contentType"] == .string("application/pdf"))
        #expect(noteDocument["meta"]?["security"]?.arrayValue?.first?["code"] == .string("PSY"))
        #expect(
            noteDocument["identifier"]?.arrayValue?.last?["value"]
                == .string(Hex.encode(SHA256.hash(Array("%PDF-1.7 session notes".utf8)))))
        #expect(byID[erased.recordId]?["description"] != nil)

        // Every audit event of the patient, the denied query and the export's own included.
        let outcomes = auditEvents.compactMap { $0["outcome"]?.stringValue }
        #expect(outcomes.contains("4"))
        let exportAudit = try #require(auditEvents.last)
        #expect(exportAudit["id"] == .string("audit-\(exportEvent.sequence)"))
        #expect(
            exportAudit["purposeOfEvent"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"] == .string("PATRQT")
        )
        let releasedEntities = exportAudit["entity"]?.arrayValue?.filter { $0["role"]?["code"] == .string("4") }
        #expect(releasedEntities?.count == 3)
        let grantAudits = auditEvents.filter { event in
            event["entity"]?.arrayValue?.contains { $0["what"]?["identifier"]?["value"] == .string(granted.grantId) }
                == true
        }
        #expect(grantAudits.count == 1, "the clinician's query rested on the grant")

        // The export's event is in the patient's committed trail.
        var replay = Healthledger_V1_AuditStreamRequest()
        replay.patient = patient.id
        replay.startSequence = exportEvent.sequence
        var replayed: [Healthledger_V1_AuditEvent] = []
        for try await message in try await patientClient.auditStream(replay) {
            if case .event(let logged)? = message.item, let event = logged.event { replayed.append(event) }
        }
        #expect(replayed.first?.sequence == exportEvent.sequence)
        await node.stop()
    }

    @Test("anyone but the patient is refused with PERMISSION_DENIED, and the attempt shows in the patient's trail")
    func othersAreRefused() async throws {
        let node = try await LedgerTestNode()
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate()
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)
        _ = try await patientClient.write(
            patient: patient.id, category: .labs, content: Array("k 4.1".utf8), mediaType: "text/plain")
        // Even a holder of every READ permit may not take the patient's export.
        _ = try await patientClient.grant(
            .permit(to: clinician.id, actions: [.read, .auditRead], categories: [.all], purposes: [.patientRequest]))

        var request = Healthledger_V1_ExportFhirBundleRequest()
        request.patient = patient.id
        var bytesReceived = 0
        do {
            for try await message in try await clinicianClient.stub.exportFhirBundle(
                request, options: try await clinicianClient.authenticated())
            {
                if case .bundleChunk(let chunk)? = message.part { bytesReceived += chunk.count }
            }
            Issue.record("the export of another principal's data was allowed")
        } catch let error as RPCError {
            #expect(error.code == .permissionDenied)
        }
        #expect(bytesReceived == 0)

        var replay = Healthledger_V1_AuditStreamRequest()
        replay.patient = patient.id
        replay.startSequence = 1
        var events: [Healthledger_V1_AuditEvent] = []
        for try await message in try await patientClient.auditStream(replay) {
            if case .event(let logged)? = message.item, let event = logged.event { events.append(event) }
        }
        let refused = events.filter { $0.actor == clinician.id && $0.outcome == .denied }
        #expect(refused.count == 1)
        #expect(refused.first?.reason.contains("export") == true)
        await node.stop()
    }

    @Test(
        "an export of more records than one audit event may list is logged in parts, all committed before the first byte, each listing its own records in order"
    )
    func largeExportIsLoggedInParts() async throws {
        // The node lists 4 records per event here (10,000 by default, the API's limit), so that 10 records need 3.
        let node = try await LedgerTestNode { $0.exportRecordsPerAuditEvent = 4 }
        let patient = LedgerIdentity.generate()
        let patientClient = try node.client(patient)
        var written: [String] = []
        for index in 0..<10 {
            written.append(
                try await patientClient.write(
                    patient: patient.id, category: .vitals, content: Array("pulse \(index)".utf8),
                    mediaType: "text/plain"
                ).recordId)
        }
        let (started, bundleText, _) = try await Self.export(patientClient)
        #expect(started.recordCount == 10)
        let parts = started.auditEvents.compactMap(\.event)
        #expect(parts.map(\.releasedRecords.count) == [4, 4, 2])
        #expect(parts.flatMap { $0.releasedRecords.map(\.recordId) } == written)
        #expect(
            parts.map(\.reason) == [
                "FHIR export by the patient, part 1 of 3: records 1 to 4 of 10",
                "FHIR export by the patient, part 2 of 3: records 5 to 8 of 10",
                "FHIR export by the patient, part 3 of 3: records 9 to 10 of 10",
            ])
        let bundle = try FHIRJSONParser.parse(bundleText)
        #expect(bundle["id"] == .string("export-\(parts[0].sequence)"))
        let resources = try #require(bundle["entry"]?.arrayValue).compactMap { $0["resource"] }
        #expect(
            resources.filter { $0["resourceType"] == .string("DocumentReference") }.compactMap { $0["id"]?.stringValue }
                == written)
        let audits = resources.filter { $0["resourceType"] == .string("AuditEvent") }
        #expect(audits.suffix(3).map { $0["id"] } == parts.map { .string("audit-\($0.sequence)") })
        await node.stop()
    }
}
