import HealthLedgerProtos
import RPCCore

/// Grants as FHIR R4 `Consent` resources (https://hl7.org/fhir/R4/consent.html), and a Consent drafted elsewhere
/// (an EHR, by hand) read back as the grants a patient would sign. docs/FHIR.md has the table, field by field.
///
/// A grant is one rule, so its Consent has one provision. Reading is stricter than writing: whatever would change
/// what a Consent allows and has no place in a grant is refused with INVALID_ARGUMENT naming the element, never
/// dropped.
public enum ConsentMapping {
    /// v3 ParticipationType, whose IRCP ("information recipient") is the grantee's role in a provision.
    public static let participationTypeSystem = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
    /// The Consent category R4 requires: LOINC 59284-0, "Patient Consent".
    public static let consentCategory = FHIRCoding(FHIRSystem.loinc, "59284-0", display: "Patient Consent")
    /// The only scope a grant has: a privacy consent.
    public static let privacyScope = FHIRCoding(FHIRSystem.consentScope, "patient-privacy", display: "Privacy Consent")
    /// Roles accepted for a provision's actor on import: information recipient, primary information recipient.
    public static let recipientRoles = ["IRCP", "PRCP"]
    /// The most categories a grant may list (the node's limit).
    public static let maximumCategories = 15
    /// The largest note in UTF-8 bytes (the node's limit).
    public static let maximumNoteBytes = 1024

    // MARK: Grant → Consent

    /// The Consent that states `record`'s grant: `active`, or `inactive` once revoked or once its validity has
    /// ended at `now` (milliseconds since the Unix epoch).
    public static func consent(for record: Healthledger_V1_GrantRecord, now: Int64) -> FHIRJSON {
        let grant = record.grant ?? Healthledger_V1_Grant()
        let revoked = record.state == .revoked || record.revokedAtUnixMs != nil
        let ended = record.state == .expired || (grant.validUntilUnixMs.map { $0 <= now } ?? false)
        let author = record.author.isEmpty ? grant.patient : record.author
        return .members([
            "resourceType": .string("Consent"),
            "id": record.grantId.isEmpty ? nil : .string(record.grantId),
            "extension": grant.note.isEmpty
                ? nil
                : .array([
                    .members(["url": .string(FHIRSystem.grantNoteExtension), "valueString": .string(grant.note)])
                ]),
            "identifier": record.grantId.isEmpty
                ? nil : .array([FHIRVocabulary.identifier(FHIRSystem.grant, record.grantId)]),
            "status": .string(revoked || ended ? "inactive" : "active"),
            "scope": codeableConcept([privacyScope]),
            "category": .array([codeableConcept([consentCategory])]),
            "patient": FHIRVocabulary.principalReference(grant.patient, type: "Patient"),
            "dateTime": FHIRDateTime.text(record.createdAtUnixMs).map(FHIRJSON.string),
            "performer": .array([
                FHIRVocabulary.principalReference(author, type: author == grant.patient ? "Patient" : "RelatedPerson")
            ]),
            "sourceReference": grant.delegationGrantId.map { id in
                .members(["type": .string("Consent"), "identifier": FHIRVocabulary.identifier(FHIRSystem.grant, id)])
            },
            "policyRule": codeableConcept([policyRule(grant.effect)]),
            "provision": provision(for: grant),
        ])
    }

    private static func policyRule(_ effect: Healthledger_V1_Effect) -> FHIRCoding {
        effect == .deny
            ? FHIRCoding(FHIRSystem.actCode, "OPTOUT", display: "opt-out")
            : FHIRCoding(FHIRSystem.actCode, "OPTIN", display: "opt-in")
    }

    private static func codeableConcept(_ codings: [FHIRCoding]) -> FHIRJSON {
        .members(["coding": .array(codings.map(\.json))])
    }

    private static func provision(for grant: Healthledger_V1_Grant) -> FHIRJSON {
        let terms = grant.categories.compactMap(FHIRVocabulary.terms)
        let coveredTerms =
            grant.categories.contains(.all)
            ? FHIRVocabulary.categories.filter { $0.sensitivityLabel == nil }
                + terms.filter { $0.sensitivityLabel != nil }
            : terms
        var resourceTypes: [String] = []
        for type in coveredTerms.flatMap(\.resourceTypes) where !resourceTypes.contains(type) {
            resourceTypes.append(type)
        }
        let categoryConcepts = grant.categories.compactMap { category -> FHIRJSON? in
            category == .all ? codeableConcept([allCategoriesCoding]) : FHIRVocabulary.terms(category)?.codeableConcept
        }
        let role = FHIRCoding(participationTypeSystem, "IRCP", display: "information recipient")
        return .members([
            "type": .string(grant.effect == .deny ? "deny" : "permit"),
            "period": period(
                from: grant.validFromUnixMs > 0 ? grant.validFromUnixMs : nil, until: grant.validUntilUnixMs),
            "actor": grant.grantee == "*"
                ? nil
                : .array([
                    .members([
                        "role": codeableConcept([role]), "reference": FHIRVocabulary.principalReference(grant.grantee),
                    ])
                ]),
            "action": .nonEmptyArray(grant.actions.map { action in codeableConcept(FHIRVocabulary.codings(action)) }),
            "securityLabel": .nonEmptyArray(terms.compactMap { $0.sensitivityLabel?.json }),
            "purpose": .nonEmptyArray(grant.purposes.compactMap { FHIRVocabulary.coding($0)?.json }),
            "class": .nonEmptyArray(resourceTypes.map { FHIRCoding(FHIRSystem.resourceTypes, $0).json }),
            "code": .nonEmptyArray(categoryConcepts),
            "dataPeriod": grant.recordDateRange.flatMap { range in
                period(from: range.fromUnixMs, until: range.untilUnixMs)
            },
        ])
    }

    /// HealthLedger's code for every non-sensitive category.
    public static let allCategoriesCoding = FHIRCoding(
        FHIRSystem.dataCategory, "all", display: "All non-sensitive categories")

    /// A Period for `[from, until)`: FHIR's end is inclusive at its precision, so an exclusive `until` is written as
    /// the millisecond before it. Nil when both bounds are open.
    private static func period(from: Int64?, until: Int64?) -> FHIRJSON? {
        guard from != nil || until != nil else { return nil }
        return .members([
            "start": from.flatMap(FHIRDateTime.text).map(FHIRJSON.string),
            "end": until.flatMap(inclusiveEndText).map(FHIRJSON.string),
        ])
    }

    /// The last millisecond before `until`, always with its milliseconds: "…:27Z" would stand for the whole second.
    private static func inclusiveEndText(_ until: Int64) -> String? {
        guard let text = FHIRDateTime.text(until - 1) else { return nil }
        return text.contains(".") ? text : String(text.dropLast()) + ".000Z"
    }

    // MARK: Consent → grants

    /// The grants that state the Consent in `bytes` (FHIR JSON), in the order to sign and submit them; see
    /// `grantProposals(from:)`. Text that is not JSON is INVALID_ARGUMENT "Consent: not JSON at byte N: ...".
    public static func grantProposals(from bytes: [UInt8]) throws(RPCError) -> [Healthledger_V1_Grant] {
        let consent: FHIRJSON
        do {
            consent = try FHIRJSONParser.parse(bytes)
        } catch {
            throw RPCError(.invalidArgument, "Consent: \(error)")
        }
        return try grantProposals(from: consent)
    }

    /// The grants that state `consent`, in the order to sign and submit them: one DENY per nested provision first,
    /// then the grant of the base provision, so the permit never applies without its exceptions. Anything the
    /// mapping cannot state exactly is INVALID_ARGUMENT with a message that starts with the element's FHIR path.
    public static func grantProposals(from consent: FHIRJSON) throws(RPCError) -> [Healthledger_V1_Grant] {
        guard let members = consent.objectMembers else {
            throw invalid("Consent", "expected an object, found \(consent.kindName)")
        }
        guard let resourceType = consent["resourceType"] else { throw invalid("Consent.resourceType", "required") }
        guard resourceType.stringValue == "Consent" else {
            throw invalid("Consent.resourceType", "expected \"Consent\", found \(describe(resourceType))")
        }
        for member in members {
            if refusedConsentElements.contains(member.key) {
                throw invalid(
                    "Consent.\(member.key)",
                    "not supported: \(refusalReasons[member.key] ?? "it would change what the consent allows")")
            }
            if !ignoredConsentElements.contains(member.key) && !readConsentElements.contains(member.key) {
                throw invalid("Consent.\(member.key)", "unknown element")
            }
        }
        let status = try string(consent["status"], at: "Consent.status", required: true)!
        guard ["draft", "proposed", "active"].contains(status) else {
            throw invalid("Consent.status", "must be draft, proposed or active to be signed, found \"\(status)\"")
        }
        guard let scope = consent["scope"] else { throw invalid("Consent.scope", "required") }
        let scopeCodings = try codings(of: scope, at: "Consent.scope")
        guard scopeCodings.contains(where: { $0.sameCode(as: privacyScope) }) else {
            throw invalid(
                "Consent.scope",
                "must be \(privacyScope.system)#\(privacyScope.code), found \(scopeCodings.map { "\($0.system)#\($0.code)" }.joined(separator: ", "))"
            )
        }
        guard let patientReference = consent["patient"] else { throw invalid("Consent.patient", "required") }
        let patient = try principal(patientReference, at: "Consent.patient")
        let policyEffect = try policyRuleEffect(consent["policyRule"])
        let delegation = try delegationGrantID(consent["sourceReference"])
        let note = try noteText(consent["extension"])
        guard let base = consent["provision"] else {
            throw invalid("Consent.provision", "required: a consent must state its rule")
        }

        var root = try terms(of: base, at: "Consent.provision", parent: nil)
        if let stated = root.effect, let policyEffect, stated != policyEffect {
            throw invalid(
                "Consent.provision.type",
                "\"\(stated == .deny ? "deny" : "permit")\" contradicts Consent.policyRule \(policyEffect == .deny ? "OPTOUT" : "OPTIN")"
            )
        }
        root.effect = root.effect ?? policyEffect ?? .permit
        var grants: [Healthledger_V1_Grant] = []
        if let nested = base["provision"] {
            guard let provisions = nested.arrayValue else {
                throw invalid("Consent.provision.provision", "expected an array, found \(nested.kindName)")
            }
            for (index, provision) in provisions.enumerated() {
                let path = "Consent.provision.provision[\(index)]"
                if provision["provision"] != nil {
                    throw invalid("\(path).provision", "nesting deeper than one level is not supported")
                }
                guard root.effect == .permit else {
                    throw invalid(path, "exceptions to a deny cannot be granted (a deny overrides every permit)")
                }
                let exception = try terms(of: provision, at: path, parent: root)
                guard let effect = exception.effect else {
                    throw invalid("\(path).type", "required in a nested provision (deny)")
                }
                guard effect == .deny else {
                    throw invalid(
                        "\(path).type", "a permit nested in a permit adds nothing; only deny exceptions are supported")
                }
                grants.append(try grant(exception, patient: patient, delegation: delegation, note: note, at: path))
            }
        }
        grants.append(try grant(root, patient: patient, delegation: delegation, note: note, at: "Consent.provision"))
        return grants
    }

    /// Consent elements read into the grant.
    private static let readConsentElements: Set<String> = [
        "resourceType", "status", "scope", "patient", "policyRule", "sourceReference", "extension", "provision",
    ]
    /// Consent elements that say nothing about what is allowed, and are ignored.
    private static let ignoredConsentElements: Set<String> = [
        "id", "meta", "language", "text", "contained", "identifier", "category", "dateTime", "performer",
        "organization", "sourceAttachment",
    ]
    /// Consent elements that would change what is allowed, or bind it to something outside the ledger.
    private static let refusedConsentElements: Set<String> = [
        "modifierExtension", "implicitRules", "policy", "verification", "sourceIdentifier",
    ]
    private static let refusalReasons: [String: String] = [
        "modifierExtension":
            "a modifier extension changes the meaning of the consent in a way this mapping cannot know",
        "implicitRules": "the consent must be understood by its own elements alone",
        "policy": "the ledger enforces only the consent's own provisions, not an external policy",
        "verification": "the patient's signature in the ledger is the verification",
        "sourceIdentifier": "only a delegation grant can be the source of a consent",
    ]
    /// Provision elements read into the grant.
    private static let provisionElements: Set<String> = [
        "id", "extension", "type", "period", "actor", "action", "securityLabel", "purpose", "class", "code",
        "dataPeriod", "provision",
    ]

    /// A provision's rule as far as it states it; nil members are inherited from the enclosing provision.
    private struct ProvisionTerms {
        var effect: Healthledger_V1_Effect?
        var grantee: String
        var actions: [Healthledger_V1_Action]
        var categories: [Healthledger_V1_DataCategory]
        var purposes: [Healthledger_V1_Purpose]
        var validFrom: Int64?
        var validUntil: Int64?
        var dataFrom: Int64?
        var dataUntil: Int64?
    }

    private static func terms(of provision: FHIRJSON, at path: String, parent: ProvisionTerms?) throws(RPCError)
        -> ProvisionTerms
    {
        guard let members = provision.objectMembers else {
            throw invalid(path, "expected an object, found \(provision.kindName)")
        }
        for member in members where !provisionElements.contains(member.key) {
            if member.key == "data" {
                throw invalid(
                    "\(path).data", "not supported: a grant covers categories of records, not listed resources")
            }
            if member.key == "modifierExtension" {
                throw invalid("\(path).modifierExtension", "not supported: it changes the meaning of the provision")
            }
            throw invalid("\(path).\(member.key)", "unknown element")
        }
        var effect: Healthledger_V1_Effect?
        if let type = try string(provision["type"], at: "\(path).type") {
            switch type {
            case "permit": effect = .permit
            case "deny": effect = .deny
            default: throw invalid("\(path).type", "must be permit or deny, found \"\(type)\"")
            }
        }
        let grantee = try actor(provision["actor"], at: path) ?? parent?.grantee ?? "*"
        let actions = try Self.actions(provision["action"], at: "\(path).action") ?? parent?.actions
        guard let actions else {
            throw invalid("\(path).action", "required: say what is permitted or denied (consentaction access, collect)")
        }
        let purposes = try Self.purposes(provision["purpose"], at: "\(path).purpose") ?? parent?.purposes
        guard let purposes else {
            throw invalid(
                "\(path).purpose",
                "required: a consent must state its purposes of use (v3 PurposeOfUse TREAT, ETREAT, HRESCH, HPAYMT, HOPERAT, PATRQT)"
            )
        }
        let categories = try Self.categories(of: provision, at: path) ?? parent?.categories ?? [.all]
        let validity = try span(provision["period"], at: "\(path).period")
        let data = try span(provision["dataPeriod"], at: "\(path).dataPeriod")
        var terms = ProvisionTerms(
            effect: effect, grantee: grantee, actions: actions, categories: categories, purposes: purposes,
            validFrom: validity.from ?? parent?.validFrom, validUntil: validity.until ?? parent?.validUntil,
            dataFrom: data.from ?? parent?.dataFrom, dataUntil: data.until ?? parent?.dataUntil)
        if let validFrom = terms.validFrom, validFrom < 0 { terms.validFrom = 0 }
        if let parent { try requireWithin(parent, terms, at: path) }
        return terms
    }

    /// A nested provision is an exception within its parent; in the ledger a DENY applies on its own, so one that
    /// reached beyond the parent would refuse more than the consent says.
    private static func requireWithin(_ parent: ProvisionTerms, _ child: ProvisionTerms, at path: String)
        throws(RPCError)
    {
        for (index, action) in child.actions.enumerated() where !parent.actions.contains(action) {
            throw invalid(
                "\(path).action[\(index)]",
                "\(name(action)) is not in the enclosing provision; a nested deny can only narrow it")
        }
        for purpose in child.purposes where !parent.purposes.contains(purpose) {
            throw invalid(
                "\(path).purpose",
                "\(name(purpose)) is not in the enclosing provision; a nested deny can only narrow it")
        }
        for category in child.categories where !covers(parent.categories, category) {
            throw invalid(
                "\(path).code", "\(name(category)) is not in the enclosing provision; a nested deny can only narrow it")
        }
        if child.grantee != parent.grantee {
            throw invalid("\(path).actor", "must be the enclosing provision's actor (or absent, to inherit it)")
        }
        if let from = parent.validFrom, (child.validFrom ?? Int64.min) < from {
            throw invalid("\(path).period.start", "before the enclosing provision's period")
        }
        if let until = parent.validUntil, (child.validUntil ?? Int64.max) > until {
            throw invalid("\(path).period.end", "after the enclosing provision's period")
        }
        if let from = parent.dataFrom, (child.dataFrom ?? Int64.min) < from {
            throw invalid("\(path).dataPeriod.start", "before the enclosing provision's dataPeriod")
        }
        if let until = parent.dataUntil, (child.dataUntil ?? Int64.max) > until {
            throw invalid("\(path).dataPeriod.end", "after the enclosing provision's dataPeriod")
        }
    }

    private static func covers(_ categories: [Healthledger_V1_DataCategory], _ category: Healthledger_V1_DataCategory)
        -> Bool
    {
        if categories.contains(category) { return true }
        return categories.contains(.all) && FHIRVocabulary.terms(category)?.sensitivityLabel == nil
    }

    private static func grant(
        _ terms: ProvisionTerms, patient: String, delegation: String?, note: String, at path: String
    ) throws(RPCError) -> Healthledger_V1_Grant {
        var grant = Healthledger_V1_Grant()
        grant.patient = patient
        grant.grantee = terms.grantee
        grant.effect = terms.effect ?? .permit
        grant.actions = terms.actions
        grant.categories = terms.categories
        grant.purposes = terms.purposes
        grant.validFromUnixMs = terms.validFrom ?? 0
        grant.validUntilUnixMs = terms.validUntil
        if terms.dataFrom != nil || terms.dataUntil != nil {
            var range = Healthledger_V1_RecordDateRange()
            range.fromUnixMs = terms.dataFrom
            range.untilUnixMs = terms.dataUntil
            grant.recordDateRange = range
        }
        grant.delegationGrantId = delegation
        grant.note = note
        if grant.grantee == "*" && grant.effect == .permit {
            throw invalid("\(path).actor", "required for a permit: a permit to everyone cannot be granted")
        }
        if grant.grantee == patient { throw invalid("\(path).actor[0].reference", "must differ from Consent.patient") }
        if grant.categories.count > maximumCategories {
            throw invalid("\(path).code", "at most \(maximumCategories) categories, found \(grant.categories.count)")
        }
        if let until = grant.validUntilUnixMs, until <= grant.validFromUnixMs {
            throw invalid("\(path).period", "end must be after start (and after 1970-01-01)")
        }
        if let from = terms.dataFrom, let until = terms.dataUntil, until <= from {
            throw invalid("\(path).dataPeriod", "end must be after start")
        }
        return grant
    }

    // MARK: Elements

    private static func actor(_ value: FHIRJSON?, at path: String) throws(RPCError) -> String? {
        guard let value else { return nil }
        guard let actors = value.arrayValue else {
            throw invalid("\(path).actor", "expected an array, found \(value.kindName)")
        }
        if actors.count > 1 {
            throw invalid(
                "\(path).actor[1]", "one actor per provision (the grantee); state other grantees in their own consent")
        }
        guard let actor = actors.first else { throw invalid("\(path).actor", "must not be empty") }
        for member in actor.objectMembers ?? [] where !["id", "extension", "role", "reference"].contains(member.key) {
            throw invalid("\(path).actor[0].\(member.key)", "unknown element")
        }
        guard let role = actor["role"] else { throw invalid("\(path).actor[0].role", "required") }
        let roles = try codings(of: role, at: "\(path).actor[0].role")
        guard roles.contains(where: { $0.system == participationTypeSystem && recipientRoles.contains($0.code) }) else {
            throw invalid(
                "\(path).actor[0].role",
                "must be \(participationTypeSystem)#IRCP (information recipient) or PRCP, found \(roles.map { "\($0.system)#\($0.code)" }.joined(separator: ", "))"
            )
        }
        guard let reference = actor["reference"] else { throw invalid("\(path).actor[0].reference", "required") }
        return try principal(reference, at: "\(path).actor[0].reference")
    }

    /// A principal id from a logical Reference by identifier in HealthLedger's principal system.
    private static func principal(_ reference: FHIRJSON, at path: String) throws(RPCError) -> String {
        guard reference.objectMembers != nil else {
            throw invalid(path, "expected a Reference, found \(reference.kindName)")
        }
        guard let identifier = reference["identifier"] else {
            let found = reference["reference"]?.stringValue.map { " (found reference \"\($0)\")" } ?? ""
            throw invalid(
                "\(path).identifier",
                "required: refer to a person by identifier in \(FHIRSystem.principal)\(found)")
        }
        let system = try string(identifier["system"], at: "\(path).identifier.system", required: true)!
        guard system == FHIRSystem.principal else {
            throw invalid("\(path).identifier.system", "must be \(FHIRSystem.principal), found \"\(system)\"")
        }
        let value = try string(identifier["value"], at: "\(path).identifier.value", required: true)!
        guard isPrincipalShaped(value) else {
            throw invalid(
                "\(path).identifier.value", "\"\(value.prefix(64))\" is not a principal id (hl1 and 38 more characters)"
            )
        }
        return value
    }

    /// The shape of a principal id (41 characters: "hl1" and Bech32 characters); its checksum is the node's check.
    private static func isPrincipalShaped(_ text: String) -> Bool {
        let alphabet = Set("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
        let bytes = Array(text.utf8)
        return bytes.count == 41 && text.hasPrefix("hl1") && bytes.dropFirst(3).allSatisfy(alphabet.contains)
    }

    private static func policyRuleEffect(_ value: FHIRJSON?) throws(RPCError) -> Healthledger_V1_Effect? {
        guard let value else { return nil }
        let codes = try codings(of: value, at: "Consent.policyRule")
        for coding in codes where coding.system == FHIRSystem.actCode {
            if coding.code == "OPTIN" { return .permit }
            if coding.code == "OPTOUT" { return .deny }
        }
        throw invalid(
            "Consent.policyRule",
            "must be \(FHIRSystem.actCode)#OPTIN or #OPTOUT, found \(codes.map { "\($0.system)#\($0.code)" }.joined(separator: ", "))"
        )
    }

    private static func delegationGrantID(_ value: FHIRJSON?) throws(RPCError) -> String? {
        guard let value else { return nil }
        guard let identifier = value["identifier"], identifier["system"]?.stringValue == FHIRSystem.grant else {
            throw invalid(
                "Consent.sourceReference",
                "only a delegation grant can be the source: a Reference(Consent) by identifier in \(FHIRSystem.grant)")
        }
        let id = try string(identifier["value"], at: "Consent.sourceReference.identifier.value", required: true)!
        guard id.utf8.count == 64,
            id.utf8.allSatisfy({ byte in
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            })
        else {
            throw invalid("Consent.sourceReference.identifier.value", "a grant id is 64 lowercase hex characters")
        }
        return id
    }

    /// The note extension's text; other (non-modifier) extensions may be ignored, as FHIR allows.
    private static func noteText(_ value: FHIRJSON?) throws(RPCError) -> String {
        guard let value else { return "" }
        guard let extensions = value.arrayValue else {
            throw invalid("Consent.extension", "expected an array, found \(value.kindName)")
        }
        var notes: [String] = []
        for (index, element) in extensions.enumerated()
        where element["url"]?.stringValue == FHIRSystem.grantNoteExtension {
            notes.append(
                try string(element["valueString"], at: "Consent.extension[\(index)].valueString", required: true)!)
        }
        if notes.count > 1 { throw invalid("Consent.extension", "at most one grant note") }
        let note = notes.first ?? ""
        if note.utf8.count > maximumNoteBytes {
            throw invalid(
                "Consent.extension", "the grant note is at most \(maximumNoteBytes) bytes, found \(note.utf8.count)")
        }
        return note
    }

    private static func actions(_ value: FHIRJSON?, at path: String) throws(RPCError) -> [Healthledger_V1_Action]? {
        guard let value else { return nil }
        guard let concepts = value.arrayValue, !concepts.isEmpty else {
            throw invalid(path, "expected a non-empty array")
        }
        var actions: [Healthledger_V1_Action] = []
        for (index, concept) in concepts.enumerated() {
            let elementPath = "\(path)[\(index)]"
            var named: [Healthledger_V1_Action] = []
            for coding in try codings(of: concept, at: elementPath) {
                if let action = FHIRVocabulary.action(coding) {
                    if !named.contains(action) { named.append(action) }
                } else if coding.system == FHIRSystem.consentAction || coding.system == FHIRSystem.grantAction {
                    throw invalid(
                        elementPath,
                        "action \"\(coding.code)\" is not supported (accepted: consentaction access, collect; grant-action read, write, audit-read, delegate)"
                    )
                }
            }
            guard named.count == 1 else {
                throw invalid(
                    elementPath,
                    named.isEmpty
                        ? "no coding names a grant action (consentaction access or collect)"
                        : "its codings name different actions")
            }
            if !actions.contains(named[0]) { actions.append(named[0]) }
        }
        return actions
    }

    private static func purposes(_ value: FHIRJSON?, at path: String) throws(RPCError) -> [Healthledger_V1_Purpose]? {
        guard let value else { return nil }
        guard let codings = value.arrayValue, !codings.isEmpty else {
            throw invalid(path, "expected a non-empty array")
        }
        var purposes: [Healthledger_V1_Purpose] = []
        for (index, json) in codings.enumerated() {
            let coding = try Self.coding(json, at: "\(path)[\(index)]")
            guard let purpose = FHIRVocabulary.purpose(coding) else {
                throw invalid(
                    "\(path)[\(index)]",
                    "\(coding.system)#\(coding.code) is not a supported purpose (v3 PurposeOfUse TREAT, ETREAT, HRESCH, HPAYMT, HOPERAT, PATRQT)"
                )
            }
            if !purposes.contains(purpose) { purposes.append(purpose) }
        }
        return purposes
    }

    /// The categories a provision names: its code, then its security labels; when it has neither, its classes;
    /// nil when it has none of the three.
    private static func categories(of provision: FHIRJSON, at path: String) throws(RPCError)
        -> [Healthledger_V1_DataCategory]?
    {
        var categories: [Healthledger_V1_DataCategory] = []
        func add(_ category: Healthledger_V1_DataCategory) {
            if !categories.contains(category) { categories.append(category) }
        }
        if let value = provision["code"] {
            guard let concepts = value.arrayValue, !concepts.isEmpty else {
                throw invalid("\(path).code", "expected a non-empty array")
            }
            for (index, concept) in concepts.enumerated() {
                var named: [Healthledger_V1_DataCategory] = []
                for coding in try codings(of: concept, at: "\(path).code[\(index)]") {
                    for category in FHIRVocabulary.categories(named: coding) where !named.contains(category) {
                        named.append(category)
                    }
                }
                guard named.count == 1 else {
                    throw invalid(
                        "\(path).code[\(index)]",
                        named.isEmpty
                            ? "no coding names a data category (HealthLedger's data-category codes, or the LOINC and US Core codes in docs/FHIR.md)"
                            : "its codings name different categories: \(named.map(name).joined(separator: ", "))")
                }
                add(named[0])
            }
        }
        if let value = provision["securityLabel"] {
            guard let labels = value.arrayValue, !labels.isEmpty else {
                throw invalid("\(path).securityLabel", "expected a non-empty array")
            }
            for (index, json) in labels.enumerated() {
                let label = try coding(json, at: "\(path).securityLabel[\(index)]")
                let named = FHIRVocabulary.categories(named: label).filter {
                    FHIRVocabulary.terms($0)?.sensitivityLabel != nil
                }
                guard named.count == 1 else {
                    throw invalid(
                        "\(path).securityLabel[\(index)]",
                        "\(label.system)#\(label.code) is not a supported label (v3 ActCode PSY, SEX, ETH, GDIS)")
                }
                add(named[0])
            }
        }
        if !categories.isEmpty { return categories }
        guard let value = provision["class"] else { return nil }
        guard let classes = value.arrayValue, !classes.isEmpty else {
            throw invalid("\(path).class", "expected a non-empty array")
        }
        for (index, json) in classes.enumerated() {
            let elementPath = "\(path).class[\(index)]"
            let coding = try Self.coding(json, at: elementPath)
            guard coding.system == FHIRSystem.resourceTypes else {
                throw invalid(
                    elementPath, "must be a resource type (\(FHIRSystem.resourceTypes)), found \(coding.system)")
            }
            // Sensitive categories are granted only by name (a label or code), as "all" never covers them.
            let candidates = FHIRVocabulary.categories(holding: coding.code).filter {
                FHIRVocabulary.terms($0)?.sensitivityLabel == nil
            }
            guard candidates.count == 1 else {
                throw invalid(
                    elementPath,
                    candidates.isEmpty
                        ? "no data category holds \(coding.code)"
                        : "\(coding.code) fits several categories (\(candidates.map(name).joined(separator: ", "))); name the category in provision.code"
                )
            }
            add(candidates[0])
        }
        return categories
    }

    private static func span(_ value: FHIRJSON?, at path: String) throws(RPCError) -> (from: Int64?, until: Int64?) {
        guard let value else { return (nil, nil) }
        for member in value.objectMembers ?? [] where !["id", "extension", "start", "end"].contains(member.key) {
            throw invalid("\(path).\(member.key)", "unknown element")
        }
        guard value.objectMembers != nil else { throw invalid(path, "expected a Period, found \(value.kindName)") }
        var bounds: (from: Int64?, until: Int64?) = (nil, nil)
        if let start = try string(value["start"], at: "\(path).start") {
            guard let span = FHIRDateTime.span(start) else {
                throw invalid("\(path).start", "\"\(start)\" is not a FHIR dateTime")
            }
            bounds.from = span.start
        }
        if let end = try string(value["end"], at: "\(path).end") {
            guard let span = FHIRDateTime.span(end) else {
                throw invalid("\(path).end", "\"\(end)\" is not a FHIR dateTime")
            }
            bounds.until = span.end
        }
        if let from = bounds.from, let until = bounds.until, until <= from {
            throw invalid(path, "end must not be before start")
        }
        return bounds
    }

    private static func codings(of concept: FHIRJSON, at path: String) throws(RPCError) -> [FHIRCoding] {
        guard concept.objectMembers != nil else {
            throw invalid(path, "expected a CodeableConcept, found \(concept.kindName)")
        }
        guard let list = concept["coding"]?.arrayValue, !list.isEmpty else {
            throw invalid("\(path).coding", "required: text alone cannot be enforced")
        }
        var result: [FHIRCoding] = []
        for (index, json) in list.enumerated() { result.append(try coding(json, at: "\(path).coding[\(index)]")) }
        return result
    }

    private static func coding(_ json: FHIRJSON, at path: String) throws(RPCError) -> FHIRCoding {
        guard let coding = FHIRCoding(json: json) else { throw invalid(path, "a Coding needs a system and a code") }
        return coding
    }

    private static func string(_ value: FHIRJSON?, at path: String, required: Bool = false) throws(RPCError) -> String?
    {
        guard let value else {
            if required { throw invalid(path, "required") }
            return nil
        }
        guard let text = value.stringValue else { throw invalid(path, "expected a string, found \(value.kindName)") }
        return text
    }

    private static func describe(_ value: FHIRJSON) -> String {
        value.stringValue.map { "\"\($0.prefix(64))\"" } ?? value.kindName
    }

    private static func name(_ category: Healthledger_V1_DataCategory) -> String {
        category == .all ? "all" : FHIRVocabulary.terms(category)?.code ?? "\(category)"
    }

    private static func name(_ action: Healthledger_V1_Action) -> String {
        FHIRVocabulary.codings(action).last?.code ?? "\(action)"
    }

    private static func name(_ purpose: Healthledger_V1_Purpose) -> String {
        FHIRVocabulary.coding(purpose)?.code ?? "\(purpose)"
    }

    private static func invalid(_ path: String, _ reason: String) -> RPCError {
        RPCError(.invalidArgument, "\(path): \(reason)")
    }
}
