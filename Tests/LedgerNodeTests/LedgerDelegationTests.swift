import HealthLedgerClient
import HealthLedgerProtos
import RPCCore
import Testing

extension LedgerSecurityTests {
    /// Who may change a patient's policy: the patient, and a delegate within the delegation.
    @Suite("Grant authority and delegation")
    struct Delegation {
        /// A patient with a lab result who made `guardian` a delegate for labs and imaging, for treatment.
        struct Family {
            let patient: Participant
            let guardian: Participant
            let clinician: Participant
            let record: String
            let content: String
            let delegation: String

            init(on node: LedgerTestNode) async throws {
                let written = try await Participant.patientWithLabResult(on: node)
                patient = written.0
                record = written.record
                content = written.content
                guardian = try Participant(on: node)
                clinician = try Participant(on: node)
                delegation = try await patient.client.grant(
                    .permit(to: guardian.id, actions: [.delegate], categories: [.labs, .imaging])
                ).grantId
            }
        }

        @Test("a grant on the patient's data signed by someone else, without a delegation, is PERMISSION_DENIED")
        func grantByAStranger() async throws {
            try await withLedgerNode { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let mallory = try Participant(on: node)
                let accomplice = try Participant(on: node)

                let error = await expectStatus(.permissionDenied, "mallory granting on the patient's data") {
                    try await mallory.client.grant(
                        .permit(to: accomplice.id, actions: [.read], categories: [.labs]).about(patient.id))
                }
                expectRevealsNothing(error, records: [record], contents: [content])
                #expect(try await mallory.nextSequence() == nil)
                #expect(try await patient.listedGrants(of: patient.id).isEmpty)
                #expect(await accomplice.mayRead(patient.id, [.labs]) == false)
            }
        }

        @Test("a delegate granting a category outside the delegation is PERMISSION_DENIED")
        func delegateOutsideTheDelegationsCategories() async throws {
            try await withLedgerNode { node in
                let family = try await Family(on: node)
                let sequence = try await family.guardian.nextSequence()

                let error = await expectStatus(.permissionDenied, "a delegate granting mental health") {
                    try await family.guardian.client.grant(
                        .permit(to: family.clinician.id, actions: [.read], categories: [.labs, .mentalHealth]).about(
                            family.patient.id, under: family.delegation))
                }
                expectRevealsNothing(error, records: [family.record], contents: [family.content])
                #expect(try await family.guardian.nextSequence() == sequence)
                #expect(try await family.patient.listedGrants(of: family.patient.id, to: family.clinician.id).isEmpty)
                #expect(await family.clinician.mayRead(family.patient.id, [.labs]) == false)
            }
        }

        @Test("a delegate granting DELEGATE onward is PERMISSION_DENIED")
        func delegateGrantingDelegateOnward() async throws {
            try await withLedgerNode { node in
                let family = try await Family(on: node)
                let cousin = try Participant(on: node)

                let error = await expectStatus(.permissionDenied, "a delegate making another delegate") {
                    try await family.guardian.client.grant(
                        .permit(to: cousin.id, actions: [.read, .delegate], categories: [.labs]).about(
                            family.patient.id, under: family.delegation))
                }
                expectRevealsNothing(error, records: [family.record], contents: [family.content])
                #expect(try await family.guardian.nextSequence() == nil)
                #expect(try await family.patient.listedGrants(of: family.patient.id, to: cousin.id).isEmpty)
                #expect(await cousin.mayRead(family.patient.id, [.labs]) == false)
            }
        }

        @Test("a delegate granting themself read access is PERMISSION_DENIED")
        func delegateGrantingThemself() async throws {
            try await withLedgerNode { node in
                let family = try await Family(on: node)
                await expectStatus(.permissionDenied, "a delegate reading through their own grant") {
                    try await family.guardian.client.grant(
                        .permit(to: family.guardian.id, actions: [.read], categories: [.labs]).about(
                            family.patient.id, under: family.delegation))
                }
                #expect(try await family.guardian.nextSequence() == nil)
                #expect(await family.guardian.mayRead(family.patient.id, [.labs]) == false)
            }
        }

        @Test(
            "a revoke of the patient's grant by someone else, without a delegation, is PERMISSION_DENIED and the grant stays"
        )
        func revokeByAStranger() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let mallory = try Participant(on: node)
                let granted = try await patient.client.grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs]))

                await expectStatus(.permissionDenied, "mallory revoking the clinician's grant") {
                    try await mallory.client.revoke(grantID: granted.grantId)
                }
                #expect(try await mallory.nextSequence() == nil)
                #expect(try await patient.listedGrants(of: patient.id).map(\.state) == [.active])
                #expect(await clinician.mayRead(patient.id, [.labs]))
            }
        }

        @Test(
            "a delegate revoking a grant outside the delegation's categories is PERMISSION_DENIED and the grant stays")
        func delegateRevokingOutsideTheDelegation() async throws {
            try await withLedgerNode { node in
                let family = try await Family(on: node)
                let therapist = try Participant(on: node)
                let therapy = try await family.patient.client.grant(
                    .permit(to: therapist.id, actions: [.read], categories: [.mentalHealth]))

                await expectStatus(.permissionDenied, "a labs delegate revoking a mental health grant") {
                    try await family.guardian.client.revoke(
                        grantID: therapy.grantId, delegationGrantID: family.delegation)
                }
                #expect(try await family.guardian.nextSequence() == nil)
                #expect(
                    try await family.patient.listedGrants(of: family.patient.id, to: therapist.id).map(\.state) == [
                        .active
                    ])
                #expect(await therapist.mayRead(family.patient.id, [.mentalHealth]))
            }
        }

        @Test("a delegate acting under a delegation id the patient never granted is NOT_FOUND")
        func unknownDelegation() async throws {
            try await withLedgerNode { node in
                let family = try await Family(on: node)
                let error = await expectStatus(.notFound, "an unknown delegation") {
                    try await family.guardian.client.grant(
                        .permit(to: family.clinician.id, actions: [.read], categories: [.labs]).about(
                            family.patient.id, under: String(repeating: "0", count: 64)))
                }
                expectNames(error, field: "transaction.body.grant.delegation_grant_id")
                #expect(await family.clinician.mayRead(family.patient.id, [.labs]) == false)
            }
        }

        @Test("a delegate's grant within the delegation works and is listed with the delegate as its author")
        func delegatesGrantWorks() async throws {
            try await withLedgerNode { node in
                let family = try await Family(on: node)
                let granted = try await family.guardian.client.grant(
                    .permit(to: family.clinician.id, actions: [.read], categories: [.labs]).about(
                        family.patient.id, under: family.delegation))

                let read = try await family.clinician.client.query(.of(family.patient.id, [.labs]))
                #expect(read.records.map(\.record.recordId) == [family.record])
                let listed = try await family.patient.listedGrants(of: family.patient.id, to: family.clinician.id)
                #expect(listed.map(\.grantId) == [granted.grantId])
                #expect(listed.first?.author == family.guardian.id)
                #expect(listed.first?.state == .active)
                #expect(listed.first?.grant?.delegationGrantId == family.delegation)
                let trail = try await family.patient.auditTrail(of: family.patient.id)
                let reads = trail.filter { $0.actor == family.clinician.id }
                #expect(reads.map(\.outcome) == [.allowed])
                #expect(reads.first?.decidingGrantIds == [granted.grantId])
            }
        }

        @Test(
            "revoking the delegation ends the delegate's grants: the grantee's next query is PERMISSION_DENIED and audited"
        )
        func revokingTheDelegationEndsTheDelegatesGrants() async throws {
            try await withLedgerNode { node in
                let family = try await Family(on: node)
                let granted = try await family.guardian.client.grant(
                    .permit(to: family.clinician.id, actions: [.read], categories: [.labs]).about(
                        family.patient.id, under: family.delegation))
                #expect(await family.clinician.mayRead(family.patient.id, [.labs]))

                _ = try await family.patient.client.revoke(grantID: family.delegation)

                let error = await expectStatus(.permissionDenied, "the grantee after the delegation was revoked") {
                    try await family.clinician.client.query(.of(family.patient.id, [.labs]))
                }
                expectRevealsNothing(error, records: [family.record], contents: [family.content])
                let listed = try await family.patient.listedGrants(of: family.patient.id, to: family.clinician.id)
                #expect(listed.map(\.grantId) == [granted.grantId])
                #expect(listed.first?.state == .revoked)
                let trail = try await family.patient.auditTrail(of: family.patient.id)
                #expect(trail.filter { $0.actor == family.clinician.id }.map(\.outcome) == [.allowed, .denied])

                // Nor can the former delegate grant any more.
                await expectStatus(.permissionDenied, "the former delegate granting") {
                    try await family.guardian.client.grant(
                        .permit(to: family.clinician.id, actions: [.read], categories: [.labs]).about(
                            family.patient.id, under: family.delegation))
                }
                #expect(await family.clinician.mayRead(family.patient.id, [.labs]) == false)
            }
        }
    }
}
