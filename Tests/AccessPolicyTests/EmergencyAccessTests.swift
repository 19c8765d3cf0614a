import AccessPolicy
import Testing

/// Stories about break-glass emergency access and the patient's refusal of it.
@Suite("Emergency access")
struct EmergencyAccessTests {
    let labs = CategorySet([.labs])

    @Test("given an emergency access open for eight hours, an emergency read of labs is allowed inside the window only")
    func openWindow() {
        let access = emergencyAccess(1)
        let patientPolicy = policy([], emergencyAccesses: [access])
        for (now, open) in [(t0 - 1, false), (t0, true), (t0 + 8 * hour - 1, true), (t0 + 8 * hour, false)] {
            let decision = PolicyEngine.decide(request(labs, for: .emergency, at: now), policy: patientPolicy)
            #expect(decision.isAllowed == open, "at \(now - t0)")
            #expect(decision.basis == (open ? .emergencyAccess : .noPermit))
            #expect(decision.emergencyAccessID == (open ? access.id : nil))
            #expect(decision.decidingGrantIDs.isEmpty)
        }
    }

    @Test("an emergency access serves only PURPOSE_EMERGENCY, only its clinician and only the categories it opened")
    func scope() {
        let patientPolicy = policy([], emergencyAccesses: [emergencyAccess(1, categories: CategorySet([.labs]))])
        #expect(!PolicyEngine.decide(request(labs, for: .treatment, at: t0), policy: patientPolicy).isAllowed)
        #expect(
            !PolicyEngine.decide(request(by: People.other, labs, for: .emergency, at: t0), policy: patientPolicy)
                .isAllowed)
        #expect(
            !PolicyEngine.decide(request(CategorySet([.vitals]), for: .emergency, at: t0), policy: patientPolicy)
                .isAllowed)
    }

    @Test("an emergency access opens reading only: an emergency WRITE or AUDIT_READ of the same category is denied")
    func readOnly() {
        let patientPolicy = policy([], emergencyAccesses: [emergencyAccess(1)])
        #expect(PolicyEngine.decide(request(labs, for: .emergency, at: t0), policy: patientPolicy).isAllowed)
        for action in [Action.write, .auditRead, .delegate] {
            let decision = PolicyEngine.decide(
                request(labs, action: action, for: .emergency, at: t0), policy: patientPolicy)
            #expect(!decision.isAllowed, "\(action)")
            #expect(decision.basis == .noPermit)
        }
    }

    @Test("an emergency access never opens a sensitive category, even if one slipped into its set")
    func neverSensitive() {
        let patientPolicy = policy([], emergencyAccesses: [emergencyAccess(1, categories: .every)])
        for category in CategorySet.sensitive.categories {
            let decision = PolicyEngine.decide(
                request(CategorySet([category]), for: .emergency, at: t0), policy: patientPolicy)
            #expect(!decision.isAllowed)
        }
        let all = PolicyEngine.decide(request(.every, asksAll: true, for: .emergency, at: t0), policy: patientPolicy)
        #expect(all.allowedCategories == .allNonSensitive)
    }

    @Test("given a DENY of labs for emergencies, the emergency access does not open labs")
    func denyOverridesEmergency() {
        let deny = grant(2, to: .everyone, categories: labs, purposes: PurposeSet([.emergency]), effect: .deny)
        let patientPolicy = policy([deny], emergencyAccesses: [emergencyAccess(1)])
        let decision = PolicyEngine.decide(request(labs, for: .emergency, at: t0), policy: patientPolicy)
        #expect(!decision.isAllowed)
        #expect(decision.basis == .denyGrant)
        #expect(decision.emergencyAccessID == nil)
        let vitals = PolicyEngine.decide(
            request(CategorySet([.vitals]), for: .emergency, at: t0), policy: patientPolicy)
        #expect(vitals.isAllowed)
    }

    @Test("given a PERMIT for labs and an emergency access, labs and vitals rest on both and the basis is emergency")
    func permitAndEmergencyTogether() {
        let permit = grant(1, categories: labs, purposes: PurposeSet([.emergency]))
        let access = emergencyAccess(1)
        let patientPolicy = policy([permit], emergencyAccesses: [access])
        let both = PolicyEngine.decide(
            request(CategorySet([.labs, .vitals]), for: .emergency, at: t0), policy: patientPolicy)
        #expect(both.isAllowed)
        #expect(both.basis == .emergencyAccess)
        #expect(both.emergencyAccessID == access.id)
        #expect(both.decidingGrantIDs == [permit.id])
        let labsOnly = PolicyEngine.decide(request(labs, for: .emergency, at: t0), policy: patientPolicy)
        #expect(labsOnly.basis == .permitGrant)
        #expect(labsOnly.emergencyAccessID == nil)
    }

    @Test("given two open emergency accesses, the earlier one that was needed is named")
    func earliestAccessNamed() {
        let first = emergencyAccess(1, categories: CategorySet([.vitals]))
        let second = emergencyAccess(2, categories: CategorySet([.labs, .vitals]))
        let patientPolicy = policy([], emergencyAccesses: [first, second])
        #expect(
            PolicyEngine.decide(request(labs, for: .emergency, at: t0), policy: patientPolicy).emergencyAccessID
                == second.id)
        #expect(
            PolicyEngine.decide(request(CategorySet([.labs, .vitals]), for: .emergency, at: t0), policy: patientPolicy)
                .emergencyAccessID == first.id)
    }

    @Test("given a DENY for emergency reads to everyone or to the clinician, emergency access is refused by its id")
    func refusal() {
        let toEveryone = grant(1, to: .everyone, categories: .allNonSensitive, purposes: .all, effect: .deny)
        let toClinician = grant(
            2, categories: labs, purposes: PurposeSet([.emergency]), until: t0 + hour, effect: .deny)
        let patientPolicy = policy([toEveryone, toClinician])
        #expect(
            PolicyEngine.refusesEmergencyAccess(
                clinician: People.clinician, patient: People.patient, policy: patientPolicy, now: t0)
                == [toEveryone.id, toClinician.id])
        #expect(
            PolicyEngine.refusesEmergencyAccess(
                clinician: People.clinician, patient: People.patient, policy: patientPolicy, now: t0 + hour)
                == [toEveryone.id])
        #expect(
            PolicyEngine.refusesEmergencyAccess(
                clinician: People.other, patient: People.patient, policy: patientPolicy, now: t0) == [toEveryone.id])
        #expect(
            PolicyEngine.refusesEmergencyAccess(
                clinician: People.clinician, patient: People.patient, policy: patientPolicy, now: t0 - 1
            ).isEmpty)
    }

    @Test("DENY grants for other purposes, other actions, other clinicians, PERMITs and revoked DENYs refuse nothing")
    func noRefusal() {
        let grants = [
            grant(1, categories: labs, purposes: PurposeSet([.treatment]), effect: .deny),
            grant(2, actions: ActionSet([.write]), categories: labs, purposes: .all, effect: .deny),
            grant(3, to: .principal(People.other), categories: labs, purposes: .all, effect: .deny),
            grant(4, categories: labs, purposes: .all),
            grant(5, categories: labs, purposes: .all, effect: .deny, revokedAt: t0),
        ]
        #expect(
            PolicyEngine.refusesEmergencyAccess(
                clinician: People.clinician, patient: People.patient, policy: policy(grants), now: t0
            ).isEmpty)
        #expect(
            PolicyEngine.refusesEmergencyAccess(
                clinician: People.clinician, patient: People.patient, policy: nil, now: t0
            ).isEmpty)
    }
}
