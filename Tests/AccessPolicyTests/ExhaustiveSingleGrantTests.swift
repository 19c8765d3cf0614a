import AccessPolicy
import Testing

/// Every single grant of a generated space against every request at every time boundary, engine vs oracle.
@Suite("Exhaustive: one grant, every request")
struct ExhaustiveSingleGrantTests {
    enum GranteeKind: String, CaseIterable, Sendable { case caller, other, everyone }

    static let actionSets: [ActionSet] = [
        ActionSet([.read]), ActionSet([.write, .auditRead, .delegate]), .all,
    ]
    static let categorySets: [CategorySet] = [
        CategorySet([.labs]),
        CategorySet(listing: [.all]),
        CategorySet(listing: [.all, .category(.substanceUse)]),
    ]
    /// Two sets that split the purposes: every request purpose is in one and missing from the other.
    static let purposeSets: [PurposeSet] = [
        PurposeSet([.treatment, .patientRequest]), PurposeSet([.emergency, .research, .payment, .operations]),
    ]
    /// (activeFrom, activeUntil): a one-second window and an open-ended one.
    static let windows: [(Int64, Int64?)] = [(1000, 2000), (1000, nil)]
    /// Each category alone: what the requests ask.
    static let singleCategories = DataCategory.allCases.map { CategorySet([$0]) }
    /// Not revoked, revoked inside the window.
    static let revocations: [Int64?] = [nil, 1500]

    /// The grants of the space for one effect and grantee kind.
    static func grants(effect: Effect, grantee: GranteeKind) -> [GrantRule] {
        var grants: [GrantRule] = []
        for actions in actionSets {
            for categories in categorySets {
                for purposes in purposeSets {
                    for (from, until) in windows {
                        for revokedAt in revocations {
                            let who: Grantee =
                                switch grantee {
                                case .caller: .principal(People.clinician)
                                case .other: .principal(People.other)
                                case .everyone: .everyone
                                }
                            grants.append(
                                GrantRule(
                                    id: grantID(grants.count + 1), patient: People.patient, grantee: who,
                                    actions: actions, categories: categories, purposes: purposes, activeFrom: from,
                                    activeUntil: until, effect: effect, revokedAt: revokedAt))
                        }
                    }
                }
            }
        }
        return grants
    }

    /// activeFrom-1, activeFrom, activeUntil-1, activeUntil, revokedAt-1, revokedAt (the bounded window's end is
    /// probed for open-ended grants too).
    static func instants(of grant: GrantRule) -> [Int64] {
        let until = grant.activeUntil ?? 2000
        var instants = [grant.activeFrom - 1, grant.activeFrom, until - 1, until]
        if let revokedAt = grant.revokedAt { instants += [revokedAt - 1, revokedAt] }
        return instants
    }

    @Test(
        "given a patient with one grant, every action x category x purpose at every boundary decides as the rule says",
        arguments: [Effect.permit, Effect.deny], GranteeKind.allCases)
    func singleGrant(effect: Effect, grantee: GranteeKind) {
        var decided = 0
        var failures = 0
        for grant in Self.grants(effect: effect, grantee: grantee) {
            var policy = PatientPolicy(patient: People.patient)
            policy.add(grant)
            let oracle = ReferenceOracle(grants: [grant])
            for now in Self.instants(of: grant) {
                for action in Action.allCases {
                    for purpose in Purpose.allCases {
                        for categories in Self.singleCategories {
                            let request = AccessRequest(
                                caller: People.clinician, patient: People.patient, action: action,
                                categories: categories, purpose: purpose, now: now)
                            let decision = PolicyEngine.decide(request, policy: policy)
                            decided += 1
                            if let problem = ReferenceOracle.mismatch(decision, oracle.decide(request)) {
                                failures += 1
                                if failures <= 5 { Issue.record("\(grant) \(request): \(problem)") }
                            }
                        }
                    }
                }
            }
        }
        #expect(failures == 0)
        #expect(decided > 100_000)
    }
}
