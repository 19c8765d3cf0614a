import HealthLedgerProtos

/// The code systems and identifier systems the mapping writes and reads. HealthLedger's own live under
/// `https://healthledger.dev/fhir/`, a namespace: the URIs name things, they need not resolve.
public enum FHIRSystem {
    /// Base of HealthLedger's own code and identifier systems.
    public static let base = "https://healthledger.dev/fhir"
    /// Principal ids (patients, grantees, authors, actors).
    public static let principal = base + "/sid/principal"
    /// Grant ids (the Grant transaction's id).
    public static let grant = base + "/sid/grant"
    /// Record ids (the Write transaction's id).
    public static let record = base + "/sid/record"
    /// A record content's SHA-256, lowercase hex.
    public static let contentSHA256 = base + "/sid/content-sha256"
    /// A node's chain id; audit sequence numbers and block heights are per chain.
    public static let chain = base + "/sid/chain"
    /// HealthLedger's data categories (DataCategory, by their command-line names).
    public static let dataCategory = base + "/CodeSystem/data-category"
    /// Grant actions without a code in FHIR's consentaction system (AUDIT_READ, DELEGATE), and all four for a
    /// lossless round trip.
    public static let grantAction = base + "/CodeSystem/grant-action"
    /// Extension holding a grant's free-text note (Consent has no element for it).
    public static let grantNoteExtension = base + "/StructureDefinition/grant-note"

    /// FHIR resource type names.
    public static let resourceTypes = "http://hl7.org/fhir/resource-types"
    /// HL7 v3 ActReason, whose PurposeOfUse codes FHIR uses for purposes of use.
    public static let purposeOfUse = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    /// HL7 v3 ActCode: consent policy rules (OPTIN, OPTOUT) and information sensitivity labels.
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    /// Consent scopes (patient-privacy).
    public static let consentScope = "http://terminology.hl7.org/CodeSystem/consentscope"
    /// Consent actions (access, collect, use, disclose, correct).
    public static let consentAction = "http://terminology.hl7.org/CodeSystem/consentaction"
    /// LOINC.
    public static let loinc = "http://loinc.org"
    /// Observation categories (laboratory, vital-signs, imaging, ...), used by US Core.
    public static let observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
    /// Condition categories (problem-list-item, ...), used by US Core.
    public static let conditionCategory = "http://terminology.hl7.org/CodeSystem/condition-category"
    /// US Core's DocumentReference categories (clinical-note).
    public static let usCoreDocumentReferenceCategory =
        "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
}

/// A FHIR Coding: a code in a code system, with an optional display text.
public struct FHIRCoding: Sendable, Equatable {
    public var system: String
    public var code: String
    public var display: String?

    public init(_ system: String, _ code: String, display: String? = nil) {
        self.system = system
        self.code = code
        self.display = display
    }

    /// The Coding as JSON: system, code, display.
    public var json: FHIRJSON { .members(["system": .string(system), "code": .string(code), "display": display.map(FHIRJSON.string)]) }

    /// The Coding in `json` when it has a system and a code; display is ignored.
    public init?(json: FHIRJSON) {
        guard let system = json["system"]?.stringValue, let code = json["code"]?.stringValue else { return nil }
        self.init(system, code, display: json["display"]?.stringValue)
    }

    /// Whether `other` names the same code (displays aside).
    public func sameCode(as other: FHIRCoding) -> Bool { system == other.system && code == other.code }
}

/// How each data category is said in FHIR: HealthLedger's own code, the resource types a record of it may hold,
/// and the standard codes (LOINC, US Core categories, v3 sensitivity labels) that name it where they exist.
public struct FHIRCategoryTerms: Sendable {
    /// The category.
    public let category: Healthledger_V1_DataCategory
    /// Its code in `FHIRSystem.dataCategory` (its command-line name).
    public let code: String
    /// Its display text.
    public let display: String
    /// Resource types a record of this category may hold, its usual one first.
    public let resourceTypes: [String]
    /// Standard codes for the category (LOINC section or document codes, US Core category codes); empty where
    /// none fits.
    public let standardCodes: [FHIRCoding]
    /// The v3 ActCode information-sensitivity label of a sensitive category.
    public let sensitivityLabel: FHIRCoding?

    /// Every coding of the category, HealthLedger's own first: one CodeableConcept's codings.
    public var codings: [FHIRCoding] { [FHIRCoding(FHIRSystem.dataCategory, code, display: display)] + standardCodes }

    /// The category as a CodeableConcept.
    public var codeableConcept: FHIRJSON { .members(["coding": .array(codings.map(\.json)), "text": .string(display)]) }
}

/// The FHIR vocabulary of data categories, actions and purposes, both ways.
public enum FHIRVocabulary {
    /// Resource types of clinical content that a sensitive category's records may hold.
    private static let clinicalResourceTypes = [
        "Condition", "Observation", "DocumentReference", "DiagnosticReport", "Procedure", "MedicationStatement",
        "MedicationRequest", "CarePlan", "ClinicalImpression", "QuestionnaireResponse", "Composition",
    ]

    /// Every concrete category's terms, in proto order.
    public static let categories: [FHIRCategoryTerms] = [
        FHIRCategoryTerms(
            category: .demographics, code: "demographics", display: "Demographics",
            resourceTypes: ["Patient", "RelatedPerson", "DocumentReference"], standardCodes: [], sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .conditions, code: "conditions", display: "Conditions",
            resourceTypes: ["Condition", "DocumentReference"],
            standardCodes: [
                FHIRCoding(FHIRSystem.loinc, "11450-4", display: "Problem list - Reported"),
                FHIRCoding(FHIRSystem.conditionCategory, "problem-list-item", display: "Problem List Item"),
            ], sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .medications, code: "medications", display: "Medications",
            resourceTypes: [
                "MedicationStatement", "MedicationRequest", "MedicationAdministration", "MedicationDispense",
                "Medication", "DocumentReference",
            ],
            standardCodes: [FHIRCoding(FHIRSystem.loinc, "10160-0", display: "History of Medication use Narrative")],
            sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .allergies, code: "allergies", display: "Allergies and intolerances",
            resourceTypes: ["AllergyIntolerance", "DocumentReference"],
            standardCodes: [FHIRCoding(FHIRSystem.loinc, "48765-2", display: "Allergies and adverse reactions Document")],
            sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .labs, code: "labs", display: "Laboratory results",
            resourceTypes: ["Observation", "DiagnosticReport", "Specimen", "DocumentReference"],
            standardCodes: [
                FHIRCoding(FHIRSystem.loinc, "30954-2", display: "Relevant diagnostic tests/laboratory data Narrative"),
                FHIRCoding(FHIRSystem.observationCategory, "laboratory", display: "Laboratory"),
            ], sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .imaging, code: "imaging", display: "Imaging",
            resourceTypes: ["ImagingStudy", "DiagnosticReport", "Media", "Observation", "DocumentReference"],
            standardCodes: [
                FHIRCoding(FHIRSystem.loinc, "18748-4", display: "Diagnostic imaging study"),
                FHIRCoding(FHIRSystem.observationCategory, "imaging", display: "Imaging"),
            ], sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .vitals, code: "vitals", display: "Vital signs",
            resourceTypes: ["Observation", "DocumentReference"],
            standardCodes: [
                FHIRCoding(FHIRSystem.loinc, "8716-3", display: "Vital signs"),
                FHIRCoding(FHIRSystem.observationCategory, "vital-signs", display: "Vital Signs"),
            ], sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .immunizations, code: "immunizations", display: "Immunizations",
            resourceTypes: ["Immunization", "ImmunizationRecommendation", "ImmunizationEvaluation", "DocumentReference"],
            standardCodes: [FHIRCoding(FHIRSystem.loinc, "11369-6", display: "History of Immunization Narrative")],
            sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .procedures, code: "procedures", display: "Procedures",
            resourceTypes: ["Procedure", "DocumentReference"],
            standardCodes: [FHIRCoding(FHIRSystem.loinc, "47519-4", display: "History of Procedures Document")],
            sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .clinicalNotes, code: "clinical-notes", display: "Clinical notes",
            resourceTypes: ["DocumentReference", "Composition", "ClinicalImpression"],
            standardCodes: [
                FHIRCoding(FHIRSystem.usCoreDocumentReferenceCategory, "clinical-note", display: "Clinical Note")
            ], sensitivityLabel: nil),
        FHIRCategoryTerms(
            category: .mentalHealth, code: "mental-health", display: "Mental health",
            resourceTypes: clinicalResourceTypes, standardCodes: [],
            sensitivityLabel: FHIRCoding(FHIRSystem.actCode, "PSY", display: "psychiatry information sensitivity")),
        FHIRCategoryTerms(
            category: .sexualHealth, code: "sexual-health", display: "Sexual and reproductive health",
            resourceTypes: clinicalResourceTypes, standardCodes: [],
            sensitivityLabel: FHIRCoding(
                FHIRSystem.actCode, "SEX", display: "sexuality and reproductive health information sensitivity")),
        FHIRCategoryTerms(
            category: .substanceUse, code: "substance-use", display: "Substance use",
            resourceTypes: clinicalResourceTypes, standardCodes: [],
            sensitivityLabel: FHIRCoding(FHIRSystem.actCode, "ETH", display: "substance abuse information sensitivity")),
        FHIRCategoryTerms(
            category: .genomics, code: "genomics", display: "Genomics",
            resourceTypes: ["MolecularSequence", "Observation", "DiagnosticReport", "DocumentReference"],
            standardCodes: [],
            sensitivityLabel: FHIRCoding(FHIRSystem.actCode, "GDIS", display: "genetic disease information sensitivity")),
    ]

    /// The terms of a concrete category; nil for ALL, UNSPECIFIED and unknown numbers.
    public static func terms(_ category: Healthledger_V1_DataCategory) -> FHIRCategoryTerms? {
        categories.first { $0.category == category }
    }

    /// The categories `coding` names: one for HealthLedger's own code, a standard code or a sensitivity label;
    /// every non-sensitive category for HealthLedger's "all"; empty when the coding names none.
    public static func categories(named coding: FHIRCoding) -> [Healthledger_V1_DataCategory] {
        if coding.system == FHIRSystem.dataCategory && coding.code == "all" { return [.all] }
        return categories.filter { terms in
            terms.codings.contains { $0.sameCode(as: coding) } || terms.sensitivityLabel?.sameCode(as: coding) == true
        }.map(\.category)
    }

    /// The categories whose records may hold a resource of `resourceType`.
    public static func categories(holding resourceType: String) -> [Healthledger_V1_DataCategory] {
        categories.filter { $0.resourceTypes.contains(resourceType) }.map(\.category)
    }

    /// Purposes of use and their v3 PurposeOfUse codes (system `FHIRSystem.purposeOfUse`).
    public static let purposes: [(purpose: Healthledger_V1_Purpose, coding: FHIRCoding)] = [
        (.treatment, FHIRCoding(FHIRSystem.purposeOfUse, "TREAT", display: "treatment")),
        (.emergency, FHIRCoding(FHIRSystem.purposeOfUse, "ETREAT", display: "emergency treatment")),
        (.research, FHIRCoding(FHIRSystem.purposeOfUse, "HRESCH", display: "healthcare research")),
        (.payment, FHIRCoding(FHIRSystem.purposeOfUse, "HPAYMT", display: "healthcare payment")),
        (.operations, FHIRCoding(FHIRSystem.purposeOfUse, "HOPERAT", display: "healthcare operations")),
        (.patientRequest, FHIRCoding(FHIRSystem.purposeOfUse, "PATRQT", display: "patient requested")),
    ]

    /// The PurposeOfUse coding of `purpose`; nil for UNSPECIFIED and unknown numbers.
    public static func coding(_ purpose: Healthledger_V1_Purpose) -> FHIRCoding? {
        purposes.first { $0.purpose == purpose }?.coding
    }

    /// The purpose a PurposeOfUse coding names, if it is one of the six.
    public static func purpose(_ coding: FHIRCoding) -> Healthledger_V1_Purpose? {
        purposes.first { $0.coding.sameCode(as: coding) }?.purpose
    }

    /// Grant actions and their codings: FHIR's consentaction code where one fits (access for READ, collect for
    /// WRITE), then HealthLedger's own.
    public static let actions: [(action: Healthledger_V1_Action, codings: [FHIRCoding])] = [
        (.read, [FHIRCoding(FHIRSystem.consentAction, "access", display: "Access"), FHIRCoding(FHIRSystem.grantAction, "read")]),
        (.write, [FHIRCoding(FHIRSystem.consentAction, "collect", display: "Collect"), FHIRCoding(FHIRSystem.grantAction, "write")]),
        (.auditRead, [FHIRCoding(FHIRSystem.grantAction, "audit-read", display: "Read the audit trail")]),
        (.delegate, [FHIRCoding(FHIRSystem.grantAction, "delegate", display: "Grant and revoke on the patient's behalf")]),
    ]

    /// The codings of `action`; empty for UNSPECIFIED and unknown numbers.
    public static func codings(_ action: Healthledger_V1_Action) -> [FHIRCoding] {
        actions.first { $0.action == action }?.codings ?? []
    }

    /// The action a coding names, if any.
    public static func action(_ coding: FHIRCoding) -> Healthledger_V1_Action? {
        actions.first { entry in entry.codings.contains { $0.sameCode(as: coding) } }?.action
    }

    /// A logical reference to a principal by its id: `{"identifier": {"system": ..., "value": id}}`.
    public static func principalReference(_ principal: String, type: String? = nil) -> FHIRJSON {
        .members([
            "type": type.map(FHIRJSON.string),
            "identifier": .members(["system": .string(FHIRSystem.principal), "value": .string(principal)]),
        ])
    }

    /// An Identifier in `system`.
    public static func identifier(_ system: String, _ value: String) -> FHIRJSON {
        .members(["system": .string(system), "value": .string(value)])
    }
}
