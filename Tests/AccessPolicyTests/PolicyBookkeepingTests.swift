import AccessPolicy
import Testing

/// Stories about the policy's bookkeeping, delegation and the limits on what a decision lists.
@Suite("Policy bookkeeping")
struct PolicyBookkeepingTests {
    let labs = CategorySet([.labs])

    @Test("given 150 PERMITs for labs, the decision lists the first 100 in commit order")
    func permitIDsCapped() {
        let grants = (1...150).map { grant($0, categories: labs) }
        let decision = PolicyEngine.decide(request(labs, at: t0), policy: policy(grants))
        #expect(decision.isAllowed)
        #expect(decision.decidingGrantIDs == grants.prefix(100).map(\.id))
    }

    @Test("given 120 DENYs to the clinician and to everyone, the decision lists the first 100 in commit order")
    func denyIDsCapped() {
        let grants = (1...120).map {
            grant($0, to: $0 % 2 == 0 ? .everyone : .principal(People.clinician), categories: labs, effect: .deny)
        }
        let decision = PolicyEngine.decide(request(labs, at: t0), policy: policy(grants))
        #expect(!decision.isAllowed)
        #expect(decision.decidingGrantIDs == grants.prefix(100).map(\.id))
        #expect(decision.reason.hasPrefix("DENY grant \(grantID(1)) matches"))
    }

    @Test("grants are kept in commit order; duplicates and other patients' grants are not added")
    func addingGrants() {
        var patientPolicy = PatientPolicy(patient: People.patient)
        let addedPermit = patientPolicy.add(grant(2, categories: labs))
        #expect(addedPermit)
        let addedDeny = patientPolicy.add(grant(1, categories: labs, effect: .deny))
        #expect(addedDeny)
        let addedDuplicate = patientPolicy.add(grant(2, categories: .every))
        #expect(!addedDuplicate)
        var foreign = grant(3, categories: labs)
        foreign.patient = People.other
        let addedForeign = patientPolicy.add(foreign)
        #expect(!addedForeign)
        #expect(patientPolicy.grants.map(\.id) == [grantID(2), grantID(1)])
        #expect(patientPolicy.grant(id: grantID(2))?.categories == labs)
        #expect(patientPolicy.grant(id: grantID(3)) == nil)
        let addedAccess = patientPolicy.add(emergencyAccess(1))
        #expect(addedAccess)
        let addedAccessAgain = patientPolicy.add(emergencyAccess(1))
        #expect(!addedAccessAgain)
        #expect(patientPolicy.emergencyAccess(id: emergencyAccess(1).id) == emergencyAccess(1))
        #expect(patientPolicy.emergencyAccesses.count == 1)
    }

    @Test("given a guardian holding an active DELEGATE grant, activeDelegation returns it")
    func activeDelegation() {
        let delegation = grant(
            1, to: .principal(People.other), actions: ActionSet([.delegate]), categories: .allNonSensitive,
            purposes: .all, until: t0 + hour)
        let patientPolicy = policy([delegation])
        #expect(
            PolicyEngine.activeDelegation(
                caller: People.other, patient: People.patient, grantID: delegation.id, policy: patientPolicy, now: t0)
                == delegation)
        #expect(
            PolicyEngine.activeDelegation(
                caller: People.other, patient: People.patient, grantID: delegation.id, policy: patientPolicy,
                now: t0 + hour) == nil)
        #expect(
            PolicyEngine.activeDelegation(
                caller: People.clinician, patient: People.patient, grantID: delegation.id, policy: patientPolicy,
                now: t0) == nil)
        #expect(
            PolicyEngine.activeDelegation(
                caller: People.other, patient: People.patient, grantID: grantID(9), policy: patientPolicy, now: t0)
                == nil)
        #expect(
            PolicyEngine.activeDelegation(
                caller: People.other, patient: People.patient, grantID: delegation.id, policy: nil, now: t0) == nil)
    }

    @Test("a revoked DELEGATE grant, a DENY, or a grant without DELEGATE is no delegation")
    func noDelegation() {
        var revoked = grant(1, to: .principal(People.other), actions: .all, categories: labs)
        revoked.revokedAt = t0
        let deny = grant(2, to: .principal(People.other), actions: .all, categories: labs, effect: .deny)
        let readOnly = grant(3, to: .principal(People.other), actions: ActionSet([.read, .write]), categories: labs)
        let patientPolicy = policy([revoked, deny, readOnly])
        for id in [revoked.id, deny.id, readOnly.id] {
            #expect(
                PolicyEngine.activeDelegation(
                    caller: People.other, patient: People.patient, grantID: id, policy: patientPolicy, now: t0) == nil)
        }
    }
}
