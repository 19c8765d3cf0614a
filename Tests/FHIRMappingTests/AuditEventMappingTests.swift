import FHIRMapping
import HealthLedgerProtos
import Testing

/// Audit events as FHIR AuditEvents after IHE BALP: one golden file per kind of event, and the codes checked one by
/// one (fhir.resources checks structure, not value sets).
@Suite struct AuditEventMappingTests {
    static let chainID = "healthledger-test"
    static let patient = "hl1qpatientpatientpatientpatientpatient01"
    static let clinician = "hl1qclinicianclinicianclinicianclinician2"
    static let recordA = String(repeating: "a1", count: 32)
    static let recordB = String(repeating: "b2", count: 32)
    static let grant = String(repeating: "c3", count: 32)
    static let emergencyAccess = String(repeating: "e5", count: 32)

    static func event(
        sequence: UInt64, actor: String = clinician, action: Healthledger_V1_Action,
        categories: [Healthledger_V1_DataCategory], purpose: Healthledger_V1_Purpose, outcome: Healthledger_V1_Outcome,
        basis: Healthledger_V1_DecisionBasis, reason: String
    ) -> Healthledger_V1_AuditEvent {
        var event = Healthledger_V1_AuditEvent()
        event.sequence = sequence
        event.timeUnixMs = 1_795_000_000_250
        event.actor = actor
        event.patient = patient
        event.action = action
        event.categories = categories
        event.purpose = purpose
        event.outcome = outcome
        event.basis = basis
        event.reason = reason
        event.blockHeight = sequence + 10
        event.entryIndex = sequence + 100
        return event
    }

    static func released(_ id: String, _ category: Healthledger_V1_DataCategory, fill: UInt8)
        -> Healthledger_V1_ReleasedRecord
    {
        var record = Healthledger_V1_ReleasedRecord()
        record.recordId = id
        record.contentSha256 = [UInt8](repeating: fill, count: 32)
        record.category = category
        return record
    }

    static var allowedQuery: Healthledger_V1_AuditEvent {
        var query = event(
            sequence: 7, action: .read, categories: [.labs, .mentalHealth], purpose: .treatment, outcome: .allowed,
            basis: .permitGrant, reason: "PERMIT grant matched")
        query.releasedRecords = [released(recordA, .labs, fill: 0x11), released(recordB, .mentalHealth, fill: 0x22)]
        query.decidingGrantIds = [grant]
        return query
    }

    static var deniedQuery: Healthledger_V1_AuditEvent {
        event(
            sequence: 8, action: .read, categories: [.genomics], purpose: .research, outcome: .denied, basis: .noPermit,
            reason: "no PERMIT for DATA_CATEGORY_GENOMICS with PURPOSE_RESEARCH")
    }

    static var emergencyOpened: Healthledger_V1_AuditEvent {
        var opened = event(
            sequence: 9, action: .read, categories: [.allergies, .medications], purpose: .emergency, outcome: .allowed,
            basis: .emergencyAccess, reason: "emergency access opened until 1795003600250: unconscious in the ER")
        opened.emergency = true
        opened.emergencyAccessId = emergencyAccess
        return opened
    }

    static var emergencyUsed: Healthledger_V1_AuditEvent {
        var used = event(
            sequence: 10, action: .read, categories: [.allergies], purpose: .emergency, outcome: .allowed,
            basis: .emergencyAccess, reason: "open emergency access matched")
        used.emergency = true
        used.emergencyAccessId = emergencyAccess
        used.releasedRecords = [released(recordA, .allergies, fill: 0x33)]
        return used
    }

    static var erasure: Healthledger_V1_AuditEvent {
        event(
            sequence: 11, actor: patient, action: .write, categories: [.labs], purpose: .patientRequest,
            outcome: .allowed, basis: .patientSelf,
            reason: "erasure: content of 1 record destroyed; the chain keeps their hashes")
    }

    static var deniedWrite: Healthledger_V1_AuditEvent {
        event(
            sequence: 12, action: .write, categories: [.imaging], purpose: .unspecified, outcome: .denied,
            basis: .noPermit, reason: "no WRITE permit for DATA_CATEGORY_IMAGING")
    }

    static var refusedGrant: Healthledger_V1_AuditEvent {
        event(
            sequence: 13, action: .delegate, categories: [.labs], purpose: .unspecified, outcome: .denied,
            basis: .noPermit, reason: "the author is neither the patient nor an active delegate")
    }

    @Test(arguments: [
        ("auditevent-query-allowed.json", allowedQuery),
        ("auditevent-query-denied.json", deniedQuery),
        ("auditevent-emergency-opened.json", emergencyOpened),
        ("auditevent-emergency-used.json", emergencyUsed),
        ("auditevent-erasure.json", erasure),
        ("auditevent-write-denied.json", deniedWrite),
        ("auditevent-grant-refused.json", refusedGrant),
    ])
    func eachKindOfEventMatchesItsGoldenFile(name: String, event: Healthledger_V1_AuditEvent) throws {
        let resource = AuditEventMapping.auditEvent(for: event, chainID: Self.chainID)
        GoldenFile.expect(resource, equals: name)
        // What is written parses back to the same value.
        #expect(try FHIRJSONParser.parse(resource.serialized(pretty: false)) == resource)
    }

    @Test(arguments: [
        (allowedQuery, "search-type", "E", "0"),
        (deniedQuery, "search-type", "E", "4"),
        (emergencyOpened, "search-type", "E", "0"),
        (erasure, "delete", "D", "0"),
        (deniedWrite, "create", "C", "4"),
        (refusedGrant, "update", "U", "4"),
    ])
    func subtypeActionAndOutcomeFollowTheKindOfEvent(
        event: Healthledger_V1_AuditEvent, subtype: String, action: String, outcome: String
    ) {
        let resource = AuditEventMapping.auditEvent(for: event, chainID: Self.chainID)
        #expect(
            resource["type"]
                == FHIRCoding(AuditEventMapping.auditEventTypeSystem, "rest", display: "Restful Operation").json)
        #expect(
            resource["subtype"]?.arrayValue?.first?["system"]?.stringValue == AuditEventMapping.restfulInteractionSystem
        )
        #expect(resource["subtype"]?.arrayValue?.first?["code"]?.stringValue == subtype)
        #expect(resource["action"] == .string(action))
        #expect(resource["outcome"] == .string(outcome))
        #expect(resource["outcomeDesc"] == .string(event.reason))
    }

    @Test func aWriteByThePatientIsAnErasureOnlyWithItsReason() {
        var write = Self.erasure
        write.reason = "a record written by the patient"
        #expect(AuditEventMapping.interaction(of: write).code == "create")
        #expect(AuditEventMapping.isErasure(Self.erasure))
    }

    @Test func theActorRequestsWithItsPurposeAndTheNodeServes() throws {
        let resource = AuditEventMapping.auditEvent(for: Self.allowedQuery, chainID: Self.chainID)
        let agents = try #require(resource["agent"]?.arrayValue)
        #expect(agents.count == 2)
        #expect(agents[0]["requestor"] == .bool(true))
        #expect(agents[0]["who"]?["identifier"]?["value"] == .string(Self.clinician))
        #expect(agents[0]["who"]?["type"] == nil)
        let purpose = agents[0]["purposeOfUse"]?.arrayValue?.first?["coding"]?.arrayValue?.first
        #expect(
            purpose.flatMap(FHIRCoding.init(json:))
                == FHIRCoding(FHIRSystem.purposeOfUse, "TREAT", display: "treatment"))
        #expect(agents[1]["requestor"] == .bool(false))
        #expect(agents[1]["who"]?["identifier"]?["value"] == .string(Self.chainID))
        #expect(resource["source"]?["observer"] == agents[1]["who"])
        #expect(resource["source"]?["type"]?.arrayValue?.first?["code"] == .string("4"))
        #expect(resource["recorded"] == .string("2026-11-18T11:06:40.250Z"))
        #expect(resource["id"] == .string("audit-7"))

        let patientActor = AuditEventMapping.auditEvent(for: Self.erasure, chainID: Self.chainID)
        #expect(patientActor["agent"]?.arrayValue?.first?["who"]?["type"] == .string("Patient"))
    }

    @Test func entitiesNameThePatientTheRecordsByHashTheGrantsAndTheLedgerEntry() throws {
        let resource = AuditEventMapping.auditEvent(for: Self.allowedQuery, chainID: Self.chainID)
        let entities = try #require(resource["entity"]?.arrayValue)
        #expect(entities.count == 5)
        #expect(entities[0]["role"]?["code"] == .string("1"))
        #expect(entities[0]["what"]?["identifier"]?["value"] == .string(Self.patient))
        #expect(entities[1]["what"]?["identifier"]?["value"] == .string(Self.recordA))
        #expect(entities[1]["detail"]?.arrayValue?.first?["valueString"] == .string(String(repeating: "11", count: 32)))
        #expect(entities[1]["securityLabel"] == nil)
        #expect(entities[2]["securityLabel"]?.arrayValue?.first?["code"] == .string("PSY"))
        #expect(entities[3]["what"]?["identifier"]?["system"] == .string(FHIRSystem.grant))
        let ledgerDetails = try #require(entities[4]["detail"]?.arrayValue)
        func detail(_ type: String) -> [String] {
            ledgerDetails.filter { $0["type"] == .string(type) }.compactMap { $0["valueString"]?.stringValue }
        }
        #expect(detail("audit-sequence") == ["7"])
        #expect(detail("block-height") == ["17"])
        #expect(detail("entry-index") == ["107"])
        #expect(detail("chain-id") == [Self.chainID])
        #expect(detail("category") == ["labs", "mental-health"])
        #expect(entities[4]["what"]?["identifier"]?["value"] == .string("\(Self.chainID)/107"))
    }

    @Test func aDeniedEventReleasesNothingAndAnUnstatedPurposeIsLeftOut() throws {
        let resource = AuditEventMapping.auditEvent(for: Self.deniedWrite, chainID: Self.chainID)
        #expect(resource["purposeOfEvent"] == nil)
        #expect(resource["agent"]?.arrayValue?.first?["purposeOfUse"] == nil)
        #expect(resource["entity"]?.arrayValue?.count == 2)
    }
}
