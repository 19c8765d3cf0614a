import HealthLedgerClient
import HealthLedgerProtos
import RPCCore
import Testing

extension LedgerSecurityTests {
    /// Queries the policy refuses, and what a permitted query may and may not release.
    @Suite("Access decisions")
    struct AccessDecisions {
        @Test("a grant valid until T is used at T-1 and refused at T (PERMISSION_DENIED, audited as denied)")
        func expiredGrantBoundary() async throws {
            let clock = ManualClock(wallClock())
            try await withLedgerNode(configure: { $0.clock = { clock.now } }) { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let until = clock.now + 60_000
                let granted = try await patient.client.grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs], until: until))

                clock.set(until - 1)
                let read = try await clinician.client.query(.of(patient.id, [.labs]))
                #expect(read.records.map(\.record.recordId) == [record])

                clock.set(until)
                let error = await expectStatus(.permissionDenied, "a query at valid_until") {
                    try await clinician.client.query(.of(patient.id, [.labs]))
                }
                expectRevealsNothing(error, records: [record], contents: [content])
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }
                #expect(trail.map(\.outcome) == [.allowed, .denied])
                #expect(trail.map(\.timeUnixMs) == [until - 1, until])
                #expect(trail.last?.basis == .noPermit)
                #expect(trail.last?.releasedRecords.isEmpty == true)
                #expect(try await patient.listedGrants(of: patient.id).map(\.state) == [.expired])
                #expect(try await patient.listedGrants(of: patient.id).map(\.grantId) == [granted.grantId])
            }
        }

        @Test("a revoked grant no longer reads: PERMISSION_DENIED, audited as denied")
        func revokedGrant() async throws {
            try await withLedgerNode { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let clinician = try Participant(on: node)
                let granted = try await patient.client.grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.labs]))
                #expect(await clinician.mayRead(patient.id, [.labs]))
                _ = try await patient.client.revoke(grantID: granted.grantId)

                let error = await expectStatus(.permissionDenied, "a query under a revoked grant") {
                    try await clinician.client.query(.of(patient.id, [.labs]))
                }
                expectRevealsNothing(error, records: [record], contents: [content])
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }
                #expect(trail.map(\.outcome) == [.allowed, .denied])
                #expect(trail.last?.categories == [.labs])
            }
        }

        @Test(
            "a query naming labs and imaging under a labs-only grant is PERMISSION_DENIED as a whole (all-or-nothing)")
        func uncoveredCategoryDeniesTheWholeQuery() async throws {
            try await withLedgerNode { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let imaging = try await patient.client.write(
                    patient: patient.id, category: .imaging, content: Array("CT chest: clear".utf8),
                    mediaType: "text/plain")
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))

                let error = await expectStatus(.permissionDenied, "labs and imaging under a labs grant") {
                    try await clinician.client.query(.of(patient.id, [.labs, .imaging]))
                }
                expectRevealsNothing(
                    error, records: [record, imaging.recordId], contents: [content, "CT chest: clear"])
                #expect(error?.message.contains("DATA_CATEGORY_IMAGING") == true)
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }
                #expect(trail.map(\.outcome) == [.denied])
                #expect(trail.first?.categories == [.labs, .imaging])
                #expect(trail.first?.releasedRecords.isEmpty == true)
            }
        }

        @Test("DATA_CATEGORY_ALL in a query returns only the permitted categories")
        func allInAQueryReturnsOnlyPermittedCategories() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                _ = try await patient.client.write(
                    patient: patient.id, category: .imaging, content: Array("CT chest: clear".utf8),
                    mediaType: "text/plain")
                _ = try await patient.client.write(
                    patient: patient.id, category: .mentalHealth, content: Array("private".utf8),
                    mediaType: "text/plain")
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))

                let read = try await clinician.client.query(.of(patient.id, [.all]))
                #expect(read.records.map(\.record.recordId) == [record])
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }
                #expect(trail.map(\.outcome) == [.allowed])
                #expect(trail.first?.releasedRecords.map(\.recordId) == [record])
                #expect(trail.first?.categories.contains(.mentalHealth) == false)
            }
        }

        @Test(
            "a grant of DATA_CATEGORY_ALL does not release mental health: PERMISSION_DENIED when named, left out of ALL"
        )
        func allNeverCoversASensitiveCategory() async throws {
            try await withLedgerNode { node in
                let (patient, record, _) = try await Participant.patientWithLabResult(on: node)
                let mental = try await patient.client.write(
                    patient: patient.id, category: .mentalHealth, content: Array("private".utf8),
                    mediaType: "text/plain")
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(.permit(to: clinician.id, actions: [.read], categories: [.all]))

                let error = await expectStatus(.permissionDenied, "mental health under a grant of ALL") {
                    try await clinician.client.query(.of(patient.id, [.mentalHealth]))
                }
                expectRevealsNothing(error, records: [mental.recordId], contents: ["private"])
                let everything = try await clinician.client.query(.of(patient.id, [.all]))
                #expect(everything.records.map(\.record.recordId) == [record])
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == clinician.id }
                #expect(trail.map(\.outcome) == [.denied, .allowed])
            }
        }

        @Test("a grant naming mental health releases it")
        func namedSensitiveCategoryIsReleased() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let mental = try await patient.client.write(
                    patient: patient.id, category: .mentalHealth, content: Array("private".utf8),
                    mediaType: "text/plain")
                let clinician = try Participant(on: node)
                _ = try await patient.client.grant(
                    .permit(to: clinician.id, actions: [.read], categories: [.all, .mentalHealth]))

                let read = try await clinician.client.query(.of(patient.id, [.mentalHealth]))
                #expect(read.records.map(\.record.recordId) == [mental.recordId])
                #expect(read.records.map(\.content) == [Array("private".utf8)])
            }
        }

        @Test("a query of a patient the ledger does not know is refused exactly like one without a permit")
        func unknownPatientIsIndistinguishable() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let stranger = try Participant(on: node)  // never transacted
                let clinician = try Participant(on: node)
                let known = await expectStatus(.permissionDenied, "a known patient") {
                    try await clinician.client.query(.of(patient.id, [.labs]))
                }
                let unknown = await expectStatus(.permissionDenied, "an unknown patient") {
                    try await clinician.client.query(.of(stranger.id, [.labs]))
                }
                #expect(known?.message == unknown?.message)
            }
        }
    }

    /// Break-glass: who may open it, for what, and the patient's refusal.
    @Suite("Emergency access")
    struct EmergencyAccess {
        @Test("emergency access without a justification is INVALID_ARGUMENT naming the reason")
        func emptyReason() async throws {
            let clinician = LedgerIdentity.generate()
            try await withLedgerNode(configure: { $0.rules.emergencyClinicians = [clinician.id] }) { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let doctor = try Participant(clinician, on: node)
                let error = await expectStatus(.invalidArgument, "an empty reason") {
                    try await doctor.client.openEmergencyAccess(
                        patient: patient.id, categories: [.allergies], reason: "")
                }
                expectNames(error, field: "transaction.body.emergency_access.reason")
                #expect(try await doctor.nextSequence() == nil)
                #expect(await doctor.mayRead(patient.id, [.allergies], purpose: .emergency) == false)
            }
        }

        @Test(
            "emergency access by a principal the operator did not register is PERMISSION_DENIED and audited as a denied emergency"
        )
        func notRegistered() async throws {
            try await withLedgerNode { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let impostor = try Participant(on: node)
                let error = await expectStatus(.permissionDenied, "an unregistered clinician") {
                    try await impostor.client.openEmergencyAccess(
                        patient: patient.id, categories: [.allergies, .medications], reason: "says it is urgent")
                }
                expectRevealsNothing(error, records: [record], contents: [content])
                #expect(try await impostor.nextSequence() == nil)
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == impostor.id }
                #expect(trail.count == 1)
                #expect(trail.first?.outcome == .denied)
                #expect(trail.first?.emergency == true)
                #expect(trail.first?.purpose == .emergency)
                #expect(trail.first?.action == .read)
                #expect(trail.first?.categories == [.medications, .allergies])
                #expect(await impostor.mayRead(patient.id, [.allergies], purpose: .emergency) == false)
            }
        }

        @Test("a refused emergency access that named DATA_CATEGORY_ALL is audited with the categories ALL stood for")
        func notRegisteredAskingForAllIsAuditedExpanded() async throws {
            try await withLedgerNode { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let impostor = try Participant(on: node)
                await expectStatus(.permissionDenied, "an unregistered clinician asking for ALL") {
                    try await impostor.client.openEmergencyAccess(
                        patient: patient.id, categories: [.all], reason: "says it is urgent")
                }
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == impostor.id }
                #expect(trail.map(\.outcome) == [.denied])
                #expect(trail.first?.emergency == true)
                // audit.proto: "Categories decided on, with DATA_CATEGORY_ALL expanded into the concrete categories".
                #expect(
                    trail.first?.categories == [.conditions, .medications, .allergies, .immunizations],
                    "the denied emergency event lists \(trail.first?.categories ?? [])")
            }
        }

        @Test("emergency access to a sensitive category is INVALID_ARGUMENT naming the categories")
        func sensitiveCategory() async throws {
            let clinician = LedgerIdentity.generate()
            try await withLedgerNode(configure: { $0.rules.emergencyClinicians = [clinician.id] }) { node in
                let (patient, _, _) = try await Participant.patientWithLabResult(on: node)
                let doctor = try Participant(clinician, on: node)
                let error = await expectStatus(.invalidArgument, "mental health by break-glass") {
                    try await doctor.client.openEmergencyAccess(
                        patient: patient.id, categories: [.allergies, .mentalHealth], reason: "unconscious")
                }
                expectNames(error, field: "transaction.body.emergency_access.categories")
                #expect(try await doctor.nextSequence() == nil)
                #expect(await doctor.mayRead(patient.id, [.allergies], purpose: .emergency) == false)
            }
        }

        @Test("an emergency access is open until its end and closed from then on")
        func emergencyAccessCloses() async throws {
            let clinician = LedgerIdentity.generate()
            let clock = ManualClock(wallClock())
            try await withLedgerNode(configure: {
                $0.rules.emergencyClinicians = [clinician.id]
                $0.clock = { clock.now }
            }) { node in
                let patient = try Participant(on: node)
                _ = try await patient.client.write(
                    patient: patient.id, category: .allergies, content: Array("penicillin".utf8),
                    mediaType: "text/plain")
                let doctor = try Participant(clinician, on: node)
                let opened = try await doctor.client.openEmergencyAccess(
                    patient: patient.id, categories: [.allergies], reason: "unconscious", durationMs: 60_000)
                #expect(opened.expiresAtUnixMs == clock.now + 60_000)

                clock.set(opened.expiresAtUnixMs - 1)
                #expect(await doctor.mayRead(patient.id, [.allergies], purpose: .emergency))
                clock.set(opened.expiresAtUnixMs)
                #expect(await doctor.mayRead(patient.id, [.allergies], purpose: .emergency) == false)
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == doctor.id }
                #expect(trail.map(\.outcome) == [.allowed, .allowed, .denied])
                #expect(trail.map(\.emergency) == [true, true, false])
            }
        }

        @Test("a DENY for emergencies committed after break-glass was opened closes it at once")
        func denyAfterOpeningOverridesIt() async throws {
            let clinician = LedgerIdentity.generate()
            try await withLedgerNode(configure: { $0.rules.emergencyClinicians = [clinician.id] }) { node in
                let patient = try Participant(on: node)
                _ = try await patient.client.write(
                    patient: patient.id, category: .allergies, content: Array("penicillin".utf8),
                    mediaType: "text/plain")
                let doctor = try Participant(clinician, on: node)
                _ = try await doctor.client.openEmergencyAccess(
                    patient: patient.id, categories: [.all], reason: "unconscious")
                #expect(await doctor.mayRead(patient.id, [.allergies], purpose: .emergency))
                _ = try await patient.client.grant(
                    .refusal(to: clinician.id, actions: [.read], categories: [.allergies], purposes: [.emergency]))
                let error = await expectStatus(.permissionDenied, "break-glass after the patient's DENY") {
                    try await doctor.client.query(.of(patient.id, [.allergies], purpose: .emergency))
                }
                expectRevealsNothing(error, records: [], contents: ["penicillin"])
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == doctor.id }
                #expect(trail.map(\.outcome) == [.allowed, .allowed, .denied])
                #expect(trail.last?.basis == .denyGrant)
            }
        }

        @Test(
            "a patient who refused emergency access in advance (DENY to \"*\" for PURPOSE_EMERGENCY) gets PERMISSION_DENIED, audited"
        )
        func refusedInAdvance() async throws {
            let clinician = LedgerIdentity.generate()
            try await withLedgerNode(configure: { $0.rules.emergencyClinicians = [clinician.id] }) { node in
                let (patient, record, content) = try await Participant.patientWithLabResult(on: node)
                let doctor = try Participant(clinician, on: node)
                let refusal = try await patient.client.grant(
                    .refusal(to: "*", actions: [.read], categories: [.all], purposes: [.emergency]))

                let error = await expectStatus(.permissionDenied, "break-glass against the patient's refusal") {
                    try await doctor.client.openEmergencyAccess(
                        patient: patient.id, categories: [.all], reason: "unconscious in the emergency department")
                }
                expectRevealsNothing(error, records: [record], contents: [content])
                #expect(try await doctor.nextSequence() == nil)
                let trail = try await patient.auditTrail(of: patient.id).filter { $0.actor == doctor.id }
                #expect(trail.map(\.outcome) == [.denied])
                #expect(trail.first?.emergency == true)
                #expect(trail.first?.basis == .denyGrant)
                #expect(trail.first?.reason.contains(refusal.grantId) == true)
                #expect(await doctor.mayRead(patient.id, [.allergies], purpose: .emergency) == false)
            }
        }
    }
}
