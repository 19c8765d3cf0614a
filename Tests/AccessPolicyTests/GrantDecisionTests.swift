import AccessPolicy
import Testing

/// Stories about PERMIT and DENY grants over time.
@Suite("Grant decisions")
struct GrantDecisionTests {
    let labs = CategorySet([.labs])

    @Test("given labs granted to a clinician for one hour, a read one millisecond before the end is allowed")
    func permitUntilTheLastMillisecond() {
        let oneHour = grant(1, categories: labs, from: t0, until: t0 + hour)
        let decision = PolicyEngine.decide(request(labs, at: t0 + hour - 1), policy: policy([oneHour]))
        #expect(decision.isAllowed)
        #expect(decision.basis == .permitGrant)
        #expect(decision.allowedCategories == labs)
        #expect(decision.decidingGrantIDs == [oneHour.id])
        #expect(decision.emergencyAccessID == nil)
        #expect(decision.covers(category: .labs, effectiveAt: 0))
    }

    @Test("given labs granted for one hour, a read at the end, or a millisecond before the start, is denied")
    func permitOutsideItsWindow() {
        let oneHour = grant(1, categories: labs, from: t0, until: t0 + hour)
        for now in [t0 - 1, t0 + hour, t0 + 2 * hour] {
            let decision = PolicyEngine.decide(request(labs, at: now), policy: policy([oneHour]))
            #expect(!decision.isAllowed)
            #expect(decision.basis == .noPermit)
            #expect(decision.allowedCategories.isEmpty)
            #expect(decision.decidingGrantIDs.isEmpty)
            #expect(decision.reason == "no PERMIT for DATA_CATEGORY_LABS with PURPOSE_TREATMENT")
            #expect(!decision.covers(category: .labs, effectiveAt: 0))
        }
        #expect(PolicyEngine.decide(request(labs, at: t0), policy: policy([oneHour])).isAllowed)
    }

    @Test("given labs granted for treatment, a read for research is denied and the reason names both")
    func purposeMustMatch() {
        let decision = PolicyEngine.decide(
            request(labs, for: .research, at: t0), policy: policy([grant(1, categories: labs)]))
        #expect(!decision.isAllowed)
        #expect(decision.reason == "no PERMIT for DATA_CATEGORY_LABS with PURPOSE_RESEARCH")
    }

    @Test("given READ of labs granted, WRITE, AUDIT_READ and DELEGATE of labs are denied")
    func actionMustMatch() {
        let readOnly = policy([grant(1, categories: labs)])
        for action in [Action.write, .auditRead, .delegate] {
            #expect(!PolicyEngine.decide(request(labs, action: action, at: t0), policy: readOnly).isAllowed)
        }
        let writer = policy([grant(1, actions: ActionSet([.write]), categories: labs)])
        #expect(PolicyEngine.decide(request(labs, action: .write, at: t0), policy: writer).isAllowed)
        #expect(!PolicyEngine.decide(request(labs, action: .read, at: t0), policy: writer).isAllowed)
    }

    @Test("given labs granted to another clinician, this clinician is denied")
    func granteeMustMatch() {
        let elsewhere = policy([grant(1, to: .principal(People.other), categories: labs)])
        #expect(!PolicyEngine.decide(request(labs, at: t0), policy: elsewhere).isAllowed)
        #expect(PolicyEngine.decide(request(by: People.other, labs, at: t0), policy: elsewhere).isAllowed)
    }

    @Test("a PERMIT to everyone never matches anyone")
    func permitToEveryoneNeverMatches() {
        let everyone = policy([grant(1, to: .everyone, categories: labs)])
        #expect(!PolicyEngine.decide(request(labs, at: t0), policy: everyone).isAllowed)
        #expect(PolicyEngine.decide(request(labs, at: t0), policy: everyone).basis == .noPermit)
    }

    @Test("given a grant revoked at T, a read at T-1 is allowed and at T denied")
    func revocationTakesEffectAtItsCommitTime() {
        var patientPolicy = policy([grant(1, categories: labs)])
        let revoked = patientPolicy.revoke(grantID: grantID(1), at: t0 + hour)
        #expect(revoked)
        #expect(PolicyEngine.decide(request(labs, at: t0 + hour - 1), policy: patientPolicy).isAllowed)
        #expect(!PolicyEngine.decide(request(labs, at: t0 + hour), policy: patientPolicy).isAllowed)
        #expect(patientPolicy.grant(id: grantID(1))?.revokedAt == t0 + hour)
    }

    @Test("given a future grant revoked before it starts, it is never active")
    func revokedBeforeItStarts() {
        var patientPolicy = policy([grant(1, categories: labs, from: t0 + hour)])
        patientPolicy.revoke(grantID: grantID(1), at: t0)
        for now in [t0 - 1, t0, t0 + hour, t0 + 2 * hour] {
            #expect(!PolicyEngine.decide(request(labs, at: now), policy: patientPolicy).isAllowed)
        }
    }

    @Test("revoking an unknown grant returns false; revoking twice keeps the earlier time")
    func revokeBookkeeping() {
        var patientPolicy = policy([grant(1, categories: labs)])
        let revokedUnknown = patientPolicy.revoke(grantID: grantID(2), at: t0)
        #expect(!revokedUnknown)
        let revokedFirst = patientPolicy.revoke(grantID: grantID(1), at: t0 + 2 * hour)
        #expect(revokedFirst)
        let revokedLater = patientPolicy.revoke(grantID: grantID(1), at: t0 + 3 * hour)
        #expect(revokedLater)
        #expect(patientPolicy.grant(id: grantID(1))?.revokedAt == t0 + 2 * hour)
        let revokedEarlier = patientPolicy.revoke(grantID: grantID(1), at: t0 + hour)
        #expect(revokedEarlier)
        #expect(patientPolicy.grant(id: grantID(1))?.revokedAt == t0 + hour)
        #expect(!PolicyEngine.decide(request(labs, at: t0 + hour), policy: patientPolicy).isAllowed)
    }

    @Test("given DENY and PERMIT for the same labs, the DENY wins and is named")
    func denyOverridesPermit() {
        let permit = grant(1, categories: labs)
        let deny = grant(2, categories: labs, effect: .deny)
        for grants in [[permit, deny], [deny, permit]] {
            let decision = PolicyEngine.decide(request(labs, at: t0), policy: policy(grants))
            #expect(!decision.isAllowed)
            #expect(decision.basis == .denyGrant)
            #expect(decision.decidingGrantIDs == [deny.id])
            #expect(decision.reason == "DENY grant \(deny.id) matches DATA_CATEGORY_LABS with PURPOSE_TREATMENT")
        }
    }

    @Test("given a PERMIT to the clinician and a DENY to everyone, the clinician is denied")
    func denyToEveryoneOverridesPermit() {
        let deny = grant(2, to: .everyone, categories: .allNonSensitive, purposes: .all, effect: .deny)
        let decision = PolicyEngine.decide(
            request(labs, at: t0), policy: policy([grant(1, categories: labs), deny]))
        #expect(!decision.isAllowed)
        #expect(decision.decidingGrantIDs == [deny.id])
    }

    @Test("a DENY that has expired or is revoked no longer overrides the PERMIT")
    func inactiveDenyDoesNotOverride() {
        let expired = grant(2, categories: labs, until: t0 + hour, effect: .deny)
        let revoked = grant(3, categories: labs, effect: .deny, revokedAt: t0 + hour)
        for deny in [expired, revoked] {
            let grants = policy([grant(1, categories: labs), deny])
            #expect(!PolicyEngine.decide(request(labs, at: t0 + hour - 1), policy: grants).isAllowed)
            #expect(PolicyEngine.decide(request(labs, at: t0 + hour), policy: grants).isAllowed)
        }
    }

    @Test("without a policy, or with another patient's, nobody but the patient has access")
    func noPolicy() {
        let decision = PolicyEngine.decide(request(labs, at: t0), policy: nil)
        #expect(!decision.isAllowed)
        #expect(decision.basis == .noPermit)
        var strangers = PatientPolicy(patient: People.other)
        let theirs = GrantRule(
            id: grantID(1), patient: People.other, grantee: .principal(People.clinician), actions: .all,
            categories: labs, purposes: .all, activeFrom: 0, effect: .permit)
        strangers.add(theirs)
        #expect(!PolicyEngine.decide(request(labs, at: t0), policy: strangers).isAllowed)
        #expect(PolicyEngine.decide(request(by: People.patient, labs, at: t0), policy: nil).isAllowed)
    }

    @Test("given the caller is the patient, every action on every asked category is allowed, DENY to everyone or not")
    func patientSelf() {
        let denyAll = grant(1, to: .everyone, actions: .all, categories: .every, purposes: .all, effect: .deny)
        for action in Action.allCases {
            for patientPolicy in [nil, policy([denyAll])] {
                let decision = PolicyEngine.decide(
                    request(by: People.patient, .every, action: action, for: .research, at: t0), policy: patientPolicy)
                #expect(decision.isAllowed)
                #expect(decision.basis == .patientSelf)
                #expect(decision.allowedCategories == .every)
                #expect(decision.decidingGrantIDs.isEmpty)
                #expect(decision.covers(category: .genomics, effectiveAt: -5))
            }
        }
    }

    @Test("a request naming no category is denied")
    func emptyRequest() {
        let decision = PolicyEngine.decide(request([], at: t0), policy: policy([grant(1, categories: .every)]))
        #expect(!decision.isAllowed)
        #expect(decision.basis == .noPermit)
        #expect(decision.reason == "no data category asked")
    }
}
