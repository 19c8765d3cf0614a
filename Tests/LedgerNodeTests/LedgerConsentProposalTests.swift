import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Testing

/// Ledger.ProposeGrantsFromConsent over the real transport with TLS: a Consent drafted elsewhere read as the grants a
/// patient signs.
@Suite("FHIR Consent proposals", .serialized)
struct LedgerConsentProposalTests {
    /// The Consent of Examples/fhir drafted for `patient` and `clinician`, as an EHR would have filled it in.
    static func draftedConsent(patient: String, clinician: String) throws -> [UInt8] {
        let text = try FHIRConsentCommandLineTests.example("consent-labs-vitals-treatment.json")
            .replacing(FHIRConsentCommandLineTests.examplePatient, with: patient)
            .replacing(FHIRConsentCommandLineTests.exampleClinician, with: clinician)
        return Array(text.utf8)
    }

    /// The proposals for `consent`, asked in `client`'s session.
    static func propose(_ consent: [UInt8], as client: LedgerClient<HTTP2ClientTransport>) async throws
        -> [Healthledger_V1_Grant]
    {
        var request = Healthledger_V1_ProposeGrantsFromConsentRequest()
        request.consentJson = consent
        return try await client.stub.proposeGrantsFromConsent(request, options: try await client.authenticated()).grants
    }

    /// The status `call` fails with; nil when it succeeds.
    static func failure(_ call: () async throws -> Void) async -> RPCError? {
        do {
            try await call()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("not an RPCError: \(error)")
            return nil
        }
    }

    @Test(
        "a patient in a session gets the hand-drafted Consent as the grants to sign, the nested deny first; signed in that order, they allow the clinician labs for treatment and refuse vitals for operations"
    )
    func handDraftedConsentIsProposedInSigningOrder() async throws {
        let node = try await LedgerTestNode()
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate()
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)
        _ = try await patientClient.write(
            patient: patient.id, category: .labs, content: Array("{\"hba1c\": 5.4}".utf8), mediaType: "application/json"
        )
        _ = try await patientClient.write(
            patient: patient.id, category: .vitals, content: Array("{\"pulse\": 61}".utf8),
            mediaType: "application/json")

        let proposals = try await Self.propose(
            try Self.draftedConsent(patient: patient.id, clinician: clinician.id), as: patientClient)

        #expect(proposals.map(\.effect) == [.deny, .permit])
        #expect(proposals.allSatisfy { $0.patient == patient.id && $0.grantee == clinician.id })
        #expect(proposals.allSatisfy { $0.actions == [.read] && $0.delegationGrantId == nil })
        let (deny, permit) = (proposals[0], proposals[1])
        #expect(deny.categories == [.vitals] && deny.purposes == [.operations])
        #expect(permit.categories == [.labs, .vitals] && permit.purposes == [.treatment, .operations])
        // 2026-01-01 to 2030-12-31 inclusive, as [from, until) in milliseconds: the deny inherits the permit's period.
        #expect(proposals.allSatisfy { $0.validFromUnixMs == 1_767_225_600_000 })
        #expect(proposals.allSatisfy { $0.validUntilUnixMs == 1_924_992_000_000 })
        // Nothing was committed: proposing only translates.
        var listGrants = Healthledger_V1_ListGrantsRequest()
        listGrants.patient = patient.id
        listGrants.includeInactive = true
        #expect(
            try await patientClient.stub.listGrants(listGrants, options: try await patientClient.authenticated()).grants
                .isEmpty)

        for proposal in proposals { _ = try await patientClient.grant(proposal) }
        let labs = try await clinicianClient.query(.of(patient.id, [.labs], purpose: .treatment))
        #expect(labs.records.count == 1)
        let vitalsForOperations = await Self.failure {
            _ = try await clinicianClient.query(.of(patient.id, [.vitals], purpose: .operations))
        }
        #expect(vitalsForOperations?.code == .permissionDenied)
        await node.stop()
    }

    @Test(
        "a Consent the grants cannot state is INVALID_ARGUMENT naming the FHIR element; text that is not JSON names the byte; one above 1 MiB is RESOURCE_EXHAUSTED"
    )
    func badConsentsAreRefusedNamingTheElement() async throws {
        let node = try await LedgerTestNode()
        let patient = LedgerIdentity.generate()
        let client = try node.client(patient)
        let drafted = String(
            decoding: try Self.draftedConsent(patient: patient.id, clinician: LedgerIdentity.generate().id),
            as: UTF8.self)

        let disclose = await Self.failure {
            _ = try await Self.propose(
                Array(drafted.replacing(#""code": "access""#, with: #""code": "disclose""#).utf8), as: client)
        }
        #expect(disclose?.code == .invalidArgument)
        #expect(
            disclose?.message.hasPrefix("Consent.provision.action[0]: action \"disclose\" is not supported") == true,
            "\(String(describing: disclose))")

        let notJSON = await Self.failure { _ = try await Self.propose(Array("{\"resourceType\": ".utf8), as: client) }
        #expect(notJSON?.code == .invalidArgument && notJSON?.message.hasPrefix("Consent: not JSON at byte") == true)

        let oversized = await Self.failure {
            _ = try await Self.propose(
                Array(drafted.utf8) + Array(repeating: UInt8(ascii: " "), count: 1 << 20), as: client)
        }
        #expect(oversized?.code == .resourceExhausted, "\(String(describing: oversized))")
        await node.stop()
    }

    @Test("without a session (or with a made-up token) ProposeGrantsFromConsent is UNAUTHENTICATED")
    func proposalsNeedASession() async throws {
        let node = try await LedgerTestNode()
        let patient = LedgerIdentity.generate()
        let client = try node.client(patient)
        var request = Healthledger_V1_ProposeGrantsFromConsentRequest()
        request.consentJson = try Self.draftedConsent(patient: patient.id, clinician: LedgerIdentity.generate().id)

        let withoutToken = await Self.failure { _ = try await client.stub.proposeGrantsFromConsent(request) }
        #expect(withoutToken?.code == .unauthenticated)
        var madeUp = CallOptions()
        madeUp.metadata.add("Bearer hl_not-a-token-this-node-issued", forKey: "authorization")
        let withMadeUpToken = await Self.failure {
            _ = try await client.stub.proposeGrantsFromConsent(request, options: madeUp)
        }
        #expect(withMadeUpToken?.code == .unauthenticated)
        await node.stop()
    }
}
