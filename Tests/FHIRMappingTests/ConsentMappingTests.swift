import FHIRMapping
import HealthLedgerProtos
import RPCCore
import Testing

/// People and ids the Consent stories use (real principal ids, so the examples import as they are).
enum ConsentFixture {
    static let patient = "hl15239u0zfuppj4mxutmyufu8udr8s8wt6kdxlpu"
    static let clinician = "hl14mgv5ku9v8zclaln3w5x8vtctpc0jvzc8pf9zd"
    static let guardian = "hl1qpzry9x8gf2tvdw0s3jn54khce6mua7lqpzry9"
    static let grantID = "b146577194e26650347247bf43c07b44885cdeb20582665627b5d04f65b99f2a"
    static let delegationID = "fa906db5e485768b0725e6bfbec26c364520e7c03f5e7eb117590c7966756249"
    /// 2026-11-27T12:00:00Z.
    static let now: Int64 = 1_795_780_800_000
    static let day: Int64 = 86_400_000

    static func grant(
        grantee: String = clinician, effect: Healthledger_V1_Effect = .permit,
        actions: [Healthledger_V1_Action] = [.read],
        categories: [Healthledger_V1_DataCategory] = [.labs], purposes: [Healthledger_V1_Purpose] = [.treatment]
    ) -> Healthledger_V1_Grant {
        var grant = Healthledger_V1_Grant()
        grant.patient = patient
        grant.grantee = grantee
        grant.effect = effect
        grant.actions = actions
        grant.categories = categories
        grant.purposes = purposes
        return grant
    }

    static func record(_ grant: Healthledger_V1_Grant, author: String = patient, createdAt: Int64 = now - 3_600_000)
        -> Healthledger_V1_GrantRecord
    {
        var record = Healthledger_V1_GrantRecord()
        record.grantId = grantID
        record.grant = grant
        record.author = author
        record.createdAtUnixMs = createdAt
        record.state = .active
        return record
    }

    /// An example Consent in Examples/fhir, parsed.
    static func example(_ name: String) throws -> FHIRJSON {
        return try GoldenFile.parsed("../../../Examples/fhir/\(name)")
    }
}

@Suite("grants as FHIR Consent")
struct ConsentMappingTests {
    typealias F = ConsentFixture

    @Test("a patient's permit of labs to a clinician for treatment, for 30 days")
    func permitLabsToClinician() throws {
        var grant = F.grant()
        grant.validUntilUnixMs = F.now + 30 * F.day
        grant.note = "knee surgery follow-up"
        let consent = ConsentMapping.consent(for: F.record(grant), now: F.now)
        GoldenFile.expect(consent, equals: "consent-permit-labs-clinician.json")
        #expect(consent["status"] == .string("active"))
        #expect(consent["provision"]?["period"]?["end"] == .string("2026-12-27T11:59:59.999Z"))
        #expect(try ConsentMapping.grantProposals(from: consent) == [grant])
    }

    @Test("everyone is refused genomics for research: a deny without actor, the GDIS label as well as the code")
    func denyEveryoneResearchGenomics() throws {
        let grant = F.grant(
            grantee: "*", effect: .deny, actions: [.read, .write], categories: [.genomics], purposes: [.research])
        let consent = ConsentMapping.consent(for: F.record(grant), now: F.now)
        GoldenFile.expect(consent, equals: "consent-deny-everyone-research-genomics.json")
        #expect(consent["provision"]?["actor"] == nil)
        #expect(consent["provision"]?["securityLabel"]?.arrayValue?.first?["code"] == .string("GDIS"))
        #expect(consent["policyRule"]?["coding"]?.arrayValue?.first?["code"] == .string("OPTOUT"))
        #expect(try ConsentMapping.grantProposals(from: consent) == [grant])
    }

    @Test("a revoked grant, and one whose validity has ended, are inactive Consents, which cannot be imported")
    func revokedAndEndedAreInactive() throws {
        var revoked = F.record(F.grant())
        revoked.state = .revoked
        revoked.revokedAtUnixMs = F.now - 60_000
        revoked.revokeTransactionId = F.delegationID
        let consent = ConsentMapping.consent(for: revoked, now: F.now)
        GoldenFile.expect(consent, equals: "consent-revoked.json")
        #expect(consent["status"] == .string("inactive"))
        #expect(
            throws: RPCError(
                .invalidArgument, "Consent.status: must be draft, proposed or active to be signed, found \"inactive\"")
        ) {
            try ConsentMapping.grantProposals(from: consent)
        }

        var ended = F.grant()
        ended.validUntilUnixMs = F.now
        #expect(ConsentMapping.consent(for: F.record(ended), now: F.now)["status"] == .string("inactive"))
        #expect(ConsentMapping.consent(for: F.record(ended), now: F.now - 1)["status"] == .string("active"))
    }

    @Test("a guardian signs under a delegation: performer is the guardian, sourceReference the delegation grant")
    func delegateSigned() throws {
        var grant = F.grant(
            actions: [.read, .auditRead], categories: [.immunizations, .allergies], purposes: [.treatment, .emergency])
        grant.delegationGrantId = F.delegationID
        grant.validFromUnixMs = F.now + F.day
        let consent = ConsentMapping.consent(for: F.record(grant, author: F.guardian), now: F.now)
        GoldenFile.expect(consent, equals: "consent-delegate-signed.json")
        #expect(consent["performer"]?.arrayValue?.first?["identifier"]?["value"] == .string(F.guardian))
        #expect(consent["sourceReference"]?["identifier"]?["value"] == .string(F.delegationID))
        #expect(try ConsentMapping.grantProposals(from: consent) == [grant])
    }

    @Test("a grant limited to records dated 2020 through 2024 carries a dataPeriod with inclusive ends")
    func withDataPeriod() throws {
        var grant = F.grant(categories: [.all], purposes: [.patientRequest])
        var range = Healthledger_V1_RecordDateRange()
        range.fromUnixMs = 1_577_836_800_000  // 2020-01-01
        range.untilUnixMs = 1_735_689_600_000  // 2025-01-01
        grant.recordDateRange = range
        let consent = ConsentMapping.consent(for: F.record(grant), now: F.now)
        GoldenFile.expect(consent, equals: "consent-data-period.json")
        #expect(
            consent["provision"]?["dataPeriod"]
                == .members(["start": .string("2020-01-01T00:00:00Z"), "end": .string("2024-12-31T23:59:59.999Z")]))
        #expect(try ConsentMapping.grantProposals(from: consent) == [grant])
    }

    @Test("sensitive categories are named by code and by their v3 sensitivity labels")
    func sensitiveCategories() throws {
        let grant = F.grant(categories: [.mentalHealth, .substanceUse, .labs], purposes: [.treatment])
        let consent = ConsentMapping.consent(for: F.record(grant), now: F.now)
        GoldenFile.expect(consent, equals: "consent-sensitive-categories.json")
        let labels = consent["provision"]?["securityLabel"]?.arrayValue?.compactMap { $0["code"]?.stringValue }
        #expect(labels == ["PSY", "ETH"])
        #expect(try ConsentMapping.grantProposals(from: consent) == [grant])
    }

    @Test("every supported field survives grant → Consent → grant, over many generated grants")
    func roundTripIsLossless() throws {
        var random = SplitMix(seed: 0x5EED)
        let principals = [F.clinician, F.guardian, "hl14mgv5ku9v8zclaln3w5x8vtctpc0jvzc8pf9zq"]
        let categories = Healthledger_V1_DataCategory.allCases.filter { $0 != .unspecified }
        let actions = Healthledger_V1_Action.allCases.filter { $0 != .unspecified }
        let purposes = Healthledger_V1_Purpose.allCases.filter { $0 != .unspecified }
        let notes = ["", "knee surgery follow-up", "für die Ärztin 🩺 — «suivi»", String(repeating: "é", count: 512)]
        var checked = 0
        for index in 0..<300 {
            let effect: Healthledger_V1_Effect = random.next(2) == 0 ? .permit : .deny
            var grant = F.grant(
                grantee: effect == .deny && random.next(3) == 0 ? "*" : principals[random.next(principals.count)],
                effect: effect, actions: random.subset(of: actions), categories: random.subset(of: categories),
                purposes: random.subset(of: purposes))
            let base = Int64(random.next(4_000_000)) * 1_000_000 + Int64(random.next(1000))
            if random.next(2) == 0 { grant.validFromUnixMs = base }
            if random.next(2) == 0 { grant.validUntilUnixMs = base + 1 + Int64(random.next(1_000_000_000)) }
            if random.next(2) == 0 {
                var range = Healthledger_V1_RecordDateRange()
                let from = Int64(random.next(4_000_000)) * 1_000_000 - 2_000_000_000_000 + Int64(random.next(1000))
                if random.next(3) != 0 { range.fromUnixMs = from }
                if range.fromUnixMs == nil || random.next(2) == 0 {
                    range.untilUnixMs = from + 1 + Int64(random.next(1_000_000_000))
                }
                grant.recordDateRange = range
            }
            if random.next(3) == 0 { grant.delegationGrantId = F.delegationID }
            grant.note = notes[random.next(notes.count)]
            let consent = ConsentMapping.consent(for: F.record(grant), now: 0)
            let text = consent.serialized(pretty: index % 2 == 0)
            let back = try ConsentMapping.grantProposals(from: text)
            if back != [grant] {
                Issue.record("grant \(index) changed on the way back: \(back) from \(consent.text())")
                return
            }
            checked += 1
        }
        #expect(checked == 300)
    }

    @Test(
        "an EHR's hand-drafted Consent: LOINC and US Core codes, resource-type classes, day-precision periods, a nested deny"
    )
    func handDraftedConsentFromExamples() throws {
        let consent = try F.example("consent-labs-vitals-treatment.json")
        let january2026: Int64 = 1_767_225_600_000
        let january2031: Int64 = 1_924_992_000_000
        var permit = F.grant(categories: [.labs, .vitals], purposes: [.treatment, .operations])
        permit.validFromUnixMs = january2026
        permit.validUntilUnixMs = january2031
        var deny = F.grant(effect: .deny, categories: [.vitals], purposes: [.operations])
        deny.validFromUnixMs = january2026
        deny.validUntilUnixMs = january2031
        #expect(try ConsentMapping.grantProposals(from: consent) == [deny, permit])

        let research = try F.example("consent-deny-research-genomics.json")
        let refusal = F.grant(
            grantee: "*", effect: .deny, actions: [.read, .write], categories: [.genomics], purposes: [.research])
        #expect(try ConsentMapping.grantProposals(from: research) == [refusal])
    }

    @Test("categories from resource-type classes when each fits one category; no category element at all means all")
    func categoriesFromClasses() throws {
        let consent = try FHIRJSONParser.parse(
            Draft.consent(
                provision: """
                    "type": "permit", "actor": [\(Draft.actor)], "action": [\(Draft.access)], "purpose": [\(Draft.treat)],
                    "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Immunization"},
                              {"system": "http://hl7.org/fhir/resource-types", "code": "AllergyIntolerance"}],
                    "dataPeriod": {"start": "2019", "end": "2021-06"}
                    """))
        var expected = F.grant(categories: [.immunizations, .allergies])
        var range = Healthledger_V1_RecordDateRange()
        range.fromUnixMs = 1_546_300_800_000  // 2019-01-01
        range.untilUnixMs = 1_625_097_600_000  // 2021-07-01
        expected.recordDateRange = range
        #expect(try ConsentMapping.grantProposals(from: consent) == [expected])

        let everything = try FHIRJSONParser.parse(
            Draft.consent(
                provision: #""actor": [\#(Draft.actor)], "action": [\#(Draft.access)], "purpose": [\#(Draft.treat)]"#))
        #expect(try ConsentMapping.grantProposals(from: everything) == [F.grant(categories: [.all])])
    }

    @Test(arguments: [
        (#"{"resourceType": "Patient"}"#, "Consent.resourceType: expected \"Consent\", found \"Patient\""),
        ("[1]", "Consent: expected an object, found an array"),
        ("{\"resourceType\": \"Consent\",}", "Consent: not JSON at byte 27: expected a member name in quotes"),
        (Draft.consent(provision: Draft.permitBody, patient: ""), "Consent.patient: required"),
        (
            Draft.consent(provision: Draft.permitBody, patient: #""patient": {"reference": "Patient/123"},"#),
            "Consent.patient.identifier: required: refer to a person by identifier in https://healthledger.dev/fhir/sid/principal (found reference \"Patient/123\")"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody,
                patient:
                    #""patient": {"identifier": {"system": "urn:oid:2.16.840.1.113883.4.1", "value": "123-45-6789"}},"#),
            "Consent.patient.identifier.system: must be https://healthledger.dev/fhir/sid/principal, found \"urn:oid:2.16.840.1.113883.4.1\""
        ),
        (
            Draft.consent(provision: Draft.permitBody, status: "rejected"),
            "Consent.status: must be draft, proposed or active to be signed, found \"rejected\""
        ),
        (
            Draft.consent(provision: Draft.permitBody, extra: #""policy": [{"uri": "https://example.org/policy"}],"#),
            "Consent.policy: not supported: the ledger enforces only the consent's own provisions, not an external policy"
        ),
        (
            Draft.consent(provision: Draft.permitBody, extra: #""modifierExtension": [],"#),
            "Consent.modifierExtension: not supported: a modifier extension changes the meaning of the consent in a way this mapping cannot know"
        ),
        (Draft.consent(provision: Draft.permitBody, extra: #""colour": "blue","#), "Consent.colour: unknown element"),
        (
            #"{"resourceType": "Consent", "status": "active", "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]}, "patient": {"identifier": {"system": "https://healthledger.dev/fhir/sid/principal", "value": "\#(ConsentFixture.patient)"}}}"#,
            "Consent.provision: required: a consent must state its rule"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody + #", "provision": [{"type": "permit", "code": [\#(Draft.labs)]}]"#),
            "Consent.provision.provision[0].type: a permit nested in a permit adds nothing; only deny exceptions are supported"
        ),
        (
            Draft.consent(
                provision:
                    #""type": "deny", "action": [\#(Draft.access)], "purpose": [\#(Draft.treat)], "provision": [{"type": "permit"}]"#
            ),
            "Consent.provision.provision[0]: exceptions to a deny cannot be granted (a deny overrides every permit)"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody + #", "provision": [{"type": "deny", "provision": [{"type": "permit"}]}]"#),
            "Consent.provision.provision[0].provision: nesting deeper than one level is not supported"
        ),
        (
            Draft.consent(provision: Draft.permitBody + #", "provision": [{"code": [\#(Draft.labs)]}]"#),
            "Consent.provision.provision[0].type: required in a nested provision (deny)"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody.replacing("[\(Draft.actor)]", with: "[\(Draft.actor), \(Draft.actor)]")),
            "Consent.provision.actor[1]: one actor per provision (the grantee); state other grantees in their own consent"
        ),
        (
            Draft.consent(provision: Draft.permitBody.replacing("\"access\"", with: "\"disclose\"")),
            "Consent.provision.action[0]: action \"disclose\" is not supported (accepted: consentaction access, collect; grant-action read, write, audit-read, delegate)"
        ),
        (
            Draft.consent(provision: Draft.permitBody.replacing("\"TREAT\"", with: "\"MARKT\"")),
            "Consent.provision.purpose[0]: http://terminology.hl7.org/CodeSystem/v3-ActReason#MARKT is not a supported purpose (v3 PurposeOfUse TREAT, ETREAT, HRESCH, HPAYMT, HOPERAT, PATRQT)"
        ),
        (
            Draft.consent(provision: Draft.permitBody.replacing(#", "purpose": [\#(Draft.treat)]"#, with: "")),
            "Consent.provision.purpose: required: a consent must state its purposes of use (v3 PurposeOfUse TREAT, ETREAT, HRESCH, HPAYMT, HOPERAT, PATRQT)"
        ),
        (
            Draft.consent(provision: Draft.permitBody + #", "period": {"start": "2026-02-30"}"#),
            "Consent.provision.period.start: \"2026-02-30\" is not a FHIR dateTime"
        ),
        (
            Draft.consent(provision: Draft.permitBody + #", "dataPeriod": {"start": "2026-03-01", "end": "2026-02"}"#),
            "Consent.provision.dataPeriod: end must not be before start"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody
                    + #", "data": [{"meaning": "instance", "reference": {"reference": "Observation/1"}}]"#),
            "Consent.provision.data: not supported: a grant covers categories of records, not listed resources"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody.replacing(#""type": "permit", "actor": [\#(Draft.actor)], "#, with: "")),
            "Consent.provision.actor: required for a permit: a permit to everyone cannot be granted"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody.replacing(
                    Draft.labs, with: #"{"coding": [{"system": "http://loinc.org", "code": "1234-5"}]}"#)),
            "Consent.provision.code[0]: no coding names a data category (HealthLedger's data-category codes, or the LOINC and US Core codes in docs/FHIR.md)"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody.replacing(
                    #", "code": [\#(Draft.labs)]"#,
                    with: #", "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Observation"}]"#)),
            "Consent.provision.class[0]: Observation fits several categories (labs, imaging, vitals); name the category in provision.code"
        ),
        (
            Draft.consent(provision: Draft.permitBody.replacing("IRCP", with: "CST")),
            "Consent.provision.actor[0].role: must be http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP (information recipient) or PRCP, found http://terminology.hl7.org/CodeSystem/v3-ParticipationType#CST"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody
                    + #", "provision": [{"type": "deny", "code": [{"coding": [{"system": "https://healthledger.dev/fhir/CodeSystem/data-category", "code": "genomics"}]}]}]"#
            ),
            "Consent.provision.provision[0].code: genomics is not in the enclosing provision; a nested deny can only narrow it"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody.replacing(#""type": "permit""#, with: #""type": "deny""#),
                extra:
                    #""policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},"#
            ),
            "Consent.provision.type: \"deny\" contradicts Consent.policyRule OPTIN"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody
                    + #", "period": {"end": "2026-12-31"}, "provision": [{"type": "deny", "period": {"end": "2027"}}]"#),
            "Consent.provision.provision[0].period.end: after the enclosing provision's period"
        ),
        (
            Draft.consent(
                provision: Draft.permitBody,
                extra: #""sourceReference": {"reference": "DocumentReference/scan-1"},"#),
            "Consent.sourceReference: only a delegation grant can be the source: a Reference(Consent) by identifier in https://healthledger.dev/fhir/sid/grant"
        ),
        (
            Draft.consent(provision: Draft.permitBody.replacing(#""action": [\#(Draft.access)], "#, with: "")),
            "Consent.provision.action: required: say what is permitted or denied (consentaction access, collect)"
        ),
    ])
    func badConsentsAreRefusedNamingTheElement(text: String, message: String) {
        #expect(throws: RPCError(.invalidArgument, message)) {
            try ConsentMapping.grantProposals(from: Array(text.utf8))
        }
    }
}

/// Consents written as an EHR would, for the import tests.
enum Draft {
    static let actor = """
        {"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
         "reference": {"identifier": {"system": "https://healthledger.dev/fhir/sid/principal", "value": "\(ConsentFixture.clinician)"}}}
        """
    static let access =
        #"{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}"#
    static let treat = #"{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}"#
    static let labs = #"{"coding": [{"system": "http://loinc.org", "code": "30954-2"}]}"#

    /// A minimal importable Consent around `provision` (its members), with `extra` root members.
    static func consent(provision: String, extra: String = "", status: String = "active", patient: String? = nil)
        -> String
    {
        let patientMember =
            patient
            ?? #""patient": {"identifier": {"system": "https://healthledger.dev/fhir/sid/principal", "value": "\#(ConsentFixture.patient)"}},"#
        return """
            {"resourceType": "Consent", "status": "\(status)",
             "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
             \(patientMember) \(extra)
             "provision": {\(provision)}}
            """
    }

    static let permitBody =
        #""type": "permit", "actor": [\#(actor)], "action": [\#(access)], "purpose": [\#(treat)], "code": [\#(labs)]"#
}

/// A small deterministic generator (SplitMix64), so a failing case is the same on every run.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }

    /// A non-empty subset of `values` in a shuffled order.
    mutating func subset<Value>(of values: [Value]) -> [Value] {
        var pool = values
        var chosen: [Value] = []
        let count = 1 + next(values.count)
        for _ in 0..<count { chosen.append(pool.remove(at: next(pool.count))) }
        return chosen
    }
}
