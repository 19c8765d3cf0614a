import HealthLedgerProtos

/// A committed audit event as a FHIR R4 AuditEvent, after IHE Basic Audit Log Patterns (BALP): a RESTful event
/// whose client (the actor) and server (the node) are agents, whose observer is the node, and whose entities are the
/// patient, the records released, the grants the decision rested on and the ledger entry that holds the event.
/// docs/FHIR.md ("Audit events as AuditEvent") has the table field by field.
public enum AuditEventMapping {
    /// DICOM's code system, whose "Source Role ID" and "Destination Role ID" name the client and the server agent.
    public static let dicomSystem = "http://dicom.nema.org/resources/ontology/DCM"
    /// FHIR's audit event types ("rest").
    public static let auditEventTypeSystem = "http://terminology.hl7.org/CodeSystem/audit-event-type"
    /// FHIR's RESTful interactions (read, search-type, create, update, delete), BALP's subtypes.
    public static let restfulInteractionSystem = "http://hl7.org/fhir/restful-interaction"
    /// Audit event source types ("4": application server).
    public static let sourceTypeSystem = "http://terminology.hl7.org/CodeSystem/security-source-type"
    /// Audit entity types ("1": person, "2": system object).
    public static let entityTypeSystem = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
    /// Object roles ("1": patient, "4": domain resource, "13": security resource, "20": job).
    public static let objectRoleSystem = "http://terminology.hl7.org/CodeSystem/object-role"
    /// Identifier system of ledger entries: the value is "<chain id>/<entry index>", an entry index being per chain.
    public static let ledgerEntrySystem = FHIRSystem.base + "/sid/ledger-entry"
    /// Identifier system of emergency accesses (the EmergencyAccess transaction's id).
    public static let emergencyAccessSystem = FHIRSystem.base + "/sid/emergency-access"

    /// How an event's kind is said in BALP terms: the RESTful interaction and the AuditEvent.action code.
    public struct Interaction: Sendable, Equatable {
        /// The restful-interaction code (subtype).
        public var code: String
        /// Its display text.
        public var display: String
        /// AuditEvent.action: C, R, U, D or E.
        public var action: String
    }

    /// The interaction an event records. A Query (READ), a read of the audit trail (AUDIT_READ) and the opening of
    /// an emergency access are searches of the patient's data (E); a Write is a create (C); an erasure (a WRITE by
    /// the patient for PATIENT_REQUEST whose reason starts "erasure:") a delete (D); a refused Grant or Revoke
    /// (DELEGATE) an update of the patient's policy (U).
    public static func interaction(of event: Healthledger_V1_AuditEvent) -> Interaction {
        switch event.action {
        case .write:
            if isErasure(event) { return Interaction(code: "delete", display: "delete", action: "D") }
            return Interaction(code: "create", display: "create", action: "C")
        case .delegate: return Interaction(code: "update", display: "update", action: "U")
        default: return Interaction(code: "search-type", display: "search type", action: "E")
        }
    }

    /// Whether the event records a patient's erasure of record content.
    public static func isErasure(_ event: Healthledger_V1_AuditEvent) -> Bool {
        event.action == .write && event.purpose == .patientRequest && event.actor == event.patient
            && event.reason.hasPrefix("erasure:")
    }

    /// The AuditEvent's logical id: "audit-<sequence>", unique per chain (FHIR ids are at most 64 characters of
    /// [A-Za-z0-9.-]).
    public static func resourceID(of event: Healthledger_V1_AuditEvent) -> String { "audit-\(event.sequence)" }

    /// The FHIR R4 AuditEvent of a committed event of the node of chain `chainID`.
    public static func auditEvent(for event: Healthledger_V1_AuditEvent, chainID: String) -> FHIRJSON {
        let interaction = interaction(of: event)
        let purpose = FHIRVocabulary.coding(event.purpose)
        let purposeConcepts = purpose.map { FHIRJSON.array([.members(["coding": .array([$0.json])])]) }
        let actorType: String? = event.actor == event.patient ? "Patient" : nil
        let node = nodeReference(chainID: chainID)

        var subtypes = [FHIRCoding(restfulInteractionSystem, interaction.code, display: interaction.display).json]
        subtypes += FHIRVocabulary.codings(event.action).filter { $0.system == FHIRSystem.grantAction }.map(\.json)

        var entities: [FHIRJSON] = [
            .members([
                "what": FHIRVocabulary.principalReference(event.patient, type: "Patient"),
                "type": FHIRCoding(entityTypeSystem, "1", display: "Person").json,
                "role": FHIRCoding(objectRoleSystem, "1", display: "Patient").json,
            ])
        ]
        entities += event.releasedRecords.map(recordEntity)
        entities += event.decidingGrantIds.map { grantID in
            .members([
                "what": .members([
                    "type": .string("Consent"), "identifier": FHIRVocabulary.identifier(FHIRSystem.grant, grantID),
                ]),
                "type": FHIRCoding(entityTypeSystem, "2", display: "System Object").json,
                "role": FHIRCoding(objectRoleSystem, "13", display: "Security Resource").json,
                "description": .string("grant the decision rested on"),
            ])
        }
        if let emergencyAccessID = event.emergencyAccessId {
            entities.append(
                .members([
                    "what": .members(["identifier": FHIRVocabulary.identifier(emergencyAccessSystem, emergencyAccessID)]
                    ),
                    "type": FHIRCoding(entityTypeSystem, "2", display: "System Object").json,
                    "role": FHIRCoding(objectRoleSystem, "13", display: "Security Resource").json,
                    "description": .string("emergency access (break-glass) used or opened"),
                ]))
        }
        entities.append(ledgerEntryEntity(event, chainID: chainID))

        return .members([
            "resourceType": .string("AuditEvent"),
            "id": .string(resourceID(of: event)),
            "type": FHIRCoding(auditEventTypeSystem, "rest", display: "Restful Operation").json,
            "subtype": .array(subtypes),
            "action": .string(interaction.action),
            "recorded": .string(FHIRDateTime.text(event.timeUnixMs) ?? FHIRDateTime.text(0)!),
            "outcome": .string(event.outcome == .allowed ? "0" : "4"),
            "outcomeDesc": event.reason.isEmpty ? nil : .string(event.reason),
            "purposeOfEvent": purposeConcepts,
            "agent": .array([
                .members([
                    "type": concept(FHIRCoding(dicomSystem, "110153", display: "Source Role ID")),
                    "who": FHIRVocabulary.principalReference(event.actor, type: actorType),
                    "requestor": .bool(true),
                    "purposeOfUse": purposeConcepts,
                ]),
                .members([
                    "type": concept(FHIRCoding(dicomSystem, "110152", display: "Destination Role ID")),
                    "who": node,
                    "requestor": .bool(false),
                ]),
            ]),
            "source": .members([
                "site": .string(chainID),
                "observer": node,
                "type": .array([FHIRCoding(sourceTypeSystem, "4", display: "Application Server").json]),
            ]),
            "entity": .array(entities),
        ])
    }

    /// The node as a reference: by its chain id, since one node (or one replicated group) serves one chain.
    static func nodeReference(chainID: String) -> FHIRJSON {
        .members([
            "type": .string("Device"),
            "identifier": FHIRVocabulary.identifier(FHIRSystem.chain, chainID),
            "display": .string("HealthLedger node of chain \(chainID)"),
        ])
    }

    /// One released record: its id, its content's SHA-256 and its category (code and sensitivity label).
    static func recordEntity(_ record: Healthledger_V1_ReleasedRecord) -> FHIRJSON {
        let terms = FHIRVocabulary.terms(record.category)
        return .members([
            "what": .members(["identifier": FHIRVocabulary.identifier(FHIRSystem.record, record.recordId)]),
            "type": FHIRCoding(entityTypeSystem, "2", display: "System Object").json,
            "role": FHIRCoding(objectRoleSystem, "4", display: "Domain Resource").json,
            "securityLabel": terms?.sensitivityLabel.map { FHIRJSON.array([$0.json]) },
            "detail": .array([
                detail("content-sha256", hex(record.contentSha256)),
                detail("category", terms?.code ?? "unknown-\(record.category.rawValue)"),
            ]),
        ])
    }

    /// The ledger entry that holds the event: its chain, sequence, block height and entry index (R4's AuditEvent
    /// has no identifier element), and what the decision rested on.
    static func ledgerEntryEntity(_ event: Healthledger_V1_AuditEvent, chainID: String) -> FHIRJSON {
        var details = [
            detail("chain-id", chainID),
            detail("audit-sequence", String(event.sequence)),
            detail("block-height", String(event.blockHeight)),
            detail("entry-index", String(event.entryIndex)),
            detail("decision-basis", basisCode(event.basis)),
        ]
        details += event.categories.map {
            detail("category", FHIRVocabulary.terms($0)?.code ?? "unknown-\($0.rawValue)")
        }
        if event.emergency { details.append(detail("emergency", "true")) }
        return .members([
            "what": .members([
                "identifier": FHIRVocabulary.identifier(ledgerEntrySystem, "\(chainID)/\(event.entryIndex)")
            ]),
            "type": FHIRCoding(entityTypeSystem, "2", display: "System Object").json,
            "role": FHIRCoding(objectRoleSystem, "20", display: "Job").json,
            "description": .string("ledger entry holding this audit event"),
            "detail": .array(details),
        ])
    }

    /// A decision basis as the ledger entry's "decision-basis" detail says it (DecisionBasis, lowercase with hyphens).
    public static func basisCode(_ basis: Healthledger_V1_DecisionBasis) -> String {
        switch basis {
        case .patientSelf: "patient-self"
        case .permitGrant: "permit-grant"
        case .emergencyAccess: "emergency-access"
        case .denyGrant: "deny-grant"
        case .noPermit: "no-permit"
        default: "unspecified"
        }
    }

    private static func detail(_ type: String, _ value: String) -> FHIRJSON {
        .members(["type": .string(type), "valueString": .string(value)])
    }

    private static func concept(_ coding: FHIRCoding) -> FHIRJSON { .members(["coding": .array([coding.json])]) }

    /// Lowercase hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
