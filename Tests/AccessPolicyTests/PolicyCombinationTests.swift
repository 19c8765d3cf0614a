import AccessPolicy
import Testing

/// Pairs of grants exhaustively and random policies of many grants, engine vs oracle.
@Suite("Combinations of grants")
struct PolicyCombinationTests {
    /// Clinical dates at and around every record date range boundary the generators use.
    static let recordDates: [Int64] = [99, 100, 149, 150, 199, 200, 299, 300]

    static let permits: [GrantRule] = {
        var permits: [GrantRule] = []
        for categories in [CategorySet([.labs]), CategorySet(listing: [.all]), CategorySet([.labs, .mentalHealth])] {
            for purposes in [PurposeSet([.treatment]), .all] {
                for (from, until) in [(Int64(1000), Int64?(2000)), (1500, nil)] {
                    for records in [nil, TimeRange(from: 100, until: 200)] {
                        permits.append(
                            GrantRule(
                                id: grantID(permits.count + 1), patient: People.patient,
                                grantee: .principal(People.clinician), actions: ActionSet([.read]),
                                categories: categories, purposes: purposes, activeFrom: from, activeUntil: until,
                                recordDates: records, effect: .permit))
                    }
                }
            }
        }
        return permits
    }()

    static let denies: [GrantRule] = {
        var denies: [GrantRule] = []
        for grantee in [Grantee.principal(People.clinician), .everyone] {
            for categories in [CategorySet([.labs]), CategorySet([.mentalHealth]), CategorySet(listing: [.all])] {
                for purposes in [PurposeSet([.treatment]), PurposeSet([.emergency])] {
                    for (from, until, revokedAt) in [(Int64(1000), Int64?(2000), Int64?.none), (500, nil, 1500)] {
                        for records in [nil, TimeRange(from: 150, until: 300)] {
                            denies.append(
                                GrantRule(
                                    id: grantID(1000 + denies.count), patient: People.patient, grantee: grantee,
                                    actions: ActionSet([.read, .write]), categories: categories, purposes: purposes,
                                    activeFrom: from, activeUntil: until, recordDates: records, effect: .deny,
                                    revokedAt: revokedAt))
                        }
                    }
                }
            }
        }
        return denies
    }()

    /// What the pair test asks: single categories, mixed ones, and ALL both ways.
    static let asks: [(CategorySet, Bool)] = [
        (CategorySet([.labs]), false), (CategorySet([.mentalHealth]), false), (CategorySet([.vitals]), false),
        (CategorySet([.labs, .vitals]), false), (CategorySet([.labs, .mentalHealth]), false),
        (.allNonSensitive, false), (.allNonSensitive, true),
    ]

    @Test(
        "given a PERMIT and a DENY, every ask at every boundary decides as the rule says, records included",
        arguments: [false, true])
    func pairs(denyToEveryone: Bool) {
        var failures = 0
        let emergency = EmergencyAccessRule(
            id: "emergency", clinician: People.clinician, patient: People.patient,
            categories: CategorySet([.labs, .vitals]), openedAt: 1000, expiresAt: 2000)
        for permit in Self.permits {
            for deny in Self.denies where (deny.grantee == .everyone) == denyToEveryone {
                let grants = [permit, deny]
                let patientPolicy = policy(grants, emergencyAccesses: [emergency])
                let oracle = ReferenceOracle(grants: grants, emergencyAccesses: [emergency])
                for now: Int64 in [999, 1000, 1499, 1500, 1999, 2000] {
                    for purpose in [Purpose.treatment, .emergency, .research] {
                        for (categories, asksAll) in Self.asks {
                            let ask = request(categories, asksAll: asksAll, for: purpose, at: now)
                            let decision = PolicyEngine.decide(ask, policy: patientPolicy)
                            let problem = ReferenceOracle.mismatch(
                                decision, oracle.decide(ask), recordDates: Self.recordDates,
                                coverCategories: [.labs, .vitals, .mentalHealth])
                            if let problem {
                                failures += 1
                                if failures <= 5 { Issue.record("\(grants) \(ask): \(problem)") }
                            }
                        }
                    }
                }
            }
        }
        #expect(failures == 0)
    }

    @Test("random policies of up to 8 grants and 2 emergency accesses decide as the rule says", arguments: [1, 2])
    func randomSmallPolicies(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        expectRandomPoliciesAgree(policies: 800, maxGrants: 8, requestsEach: 30, using: &generator)
    }

    @Test("random policies of up to 60 grants decide as the rule says")
    func randomLargePolicies() {
        var generator = SplitMix64(seed: 3)
        expectRandomPoliciesAgree(policies: 150, maxGrants: 60, requestsEach: 30, using: &generator)
    }

    func expectRandomPoliciesAgree(
        policies: Int, maxGrants: Int, requestsEach: Int, using generator: inout SplitMix64
    ) {
        var failures = 0
        var allowed = 0
        var decided = 0
        for _ in 0..<policies {
            let grants = (0..<Int.random(in: 1...maxGrants, using: &generator)).map {
                Self.randomGrant(id: grantID($0 + 1), using: &generator)
            }
            let accesses = (0..<Int.random(in: 0...2, using: &generator)).map {
                Self.randomEmergencyAccess(id: "emergency-\($0)", using: &generator)
            }
            var patientPolicy = policy(grants, emergencyAccesses: accesses)
            var oracle = ReferenceOracle(grants: grants, emergencyAccesses: accesses)
            // Sometimes a revocation arrives after the grants were added.
            if Bool.random(using: &generator), let victim = grants.randomElement(using: &generator) {
                let at = [Int64(1100), 1600, 2600].randomElement(using: &generator)!
                patientPolicy.revoke(grantID: victim.id, at: at)
                let index = oracle.grants.firstIndex { $0.id == victim.id }!
                oracle.grants[index].revokedAt = min(oracle.grants[index].revokedAt ?? at, at)
            }
            for _ in 0..<requestsEach {
                let ask = Self.randomRequest(using: &generator)
                let decision = PolicyEngine.decide(ask, policy: patientPolicy)
                decided += 1
                if decision.isAllowed { allowed += 1 }
                if let problem = ReferenceOracle.mismatch(decision, oracle.decide(ask), recordDates: Self.recordDates) {
                    failures += 1
                    if failures <= 5 { Issue.record("\(oracle.grants) \(accesses) \(ask): \(problem)") }
                }
            }
        }
        #expect(failures == 0)
        // The generator must exercise both outcomes.
        #expect(allowed > decided / 20 && allowed < decided - decided / 20)
    }

    static func randomSubset<T>(of all: [T], using generator: inout SplitMix64) -> [T] {
        var subset = all.filter { _ in Bool.random(using: &generator) }
        if subset.isEmpty { subset = [all.randomElement(using: &generator)!] }
        return subset
    }

    static func randomCategories(using generator: inout SplitMix64) -> CategorySet {
        switch Int.random(in: 0..<5, using: &generator) {
        case 0: CategorySet([DataCategory.allCases.randomElement(using: &generator)!])
        case 1: CategorySet(randomSubset(of: DataCategory.allCases, using: &generator))
        case 2: CategorySet(listing: [.all])
        case 3:
            CategorySet(listing: [.all, .category(CategorySet.sensitive.categories.randomElement(using: &generator)!)])
        default: CategorySet([.labs, .vitals])
        }
    }

    static func randomGrant(id: String, using generator: inout SplitMix64) -> GrantRule {
        let grantee: Grantee =
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5: .principal(People.clinician)
            case 5..<7: .principal(People.other)
            default: .everyone
            }
        let untilChoices: [Int64?] = [nil, 2000, 2500]
        let rangeBounds: [Int64?] = [nil, 100, 150, 200, 300]
        var records: TimeRange?
        if Int.random(in: 0..<3, using: &generator) == 0 {
            let from = rangeBounds.randomElement(using: &generator)!
            let until = rangeBounds.filter { bound in bound.map { $0 > (from ?? .min) } ?? true }
                .randomElement(using: &generator)!
            records = TimeRange(from: from, until: until)
        }
        let revocations: [Int64?] = [nil, nil, nil, 1200, 1800]
        return GrantRule(
            id: id, patient: People.patient, grantee: grantee,
            actions: ActionSet(
                randomSubset(of: [.read, .read, .read, .write, .auditRead, .delegate], using: &generator)),
            categories: randomCategories(using: &generator),
            purposes: PurposeSet(randomSubset(of: Purpose.allCases, using: &generator)),
            activeFrom: [0, 1000, 1500].randomElement(using: &generator)!,
            activeUntil: untilChoices.randomElement(using: &generator)!, recordDates: records,
            effect: Int.random(in: 0..<3, using: &generator) == 0 ? .deny : .permit,
            revokedAt: revocations.randomElement(using: &generator)!)
    }

    static func randomEmergencyAccess(id: String, using generator: inout SplitMix64) -> EmergencyAccessRule {
        EmergencyAccessRule(
            id: id, clinician: Bool.random(using: &generator) ? People.clinician : People.other,
            patient: People.patient, categories: randomCategories(using: &generator),
            openedAt: [1000, 1500].randomElement(using: &generator)!,
            expiresAt: [2000, 3000].randomElement(using: &generator)!)
    }

    static func randomRequest(using generator: inout SplitMix64) -> AccessRequest {
        let caller =
            switch Int.random(in: 0..<20, using: &generator) {
            case 0: People.patient
            case 1..<4: People.other
            default: People.clinician
            }
        let categories: CategorySet
        var asksAll = false
        switch Int.random(in: 0..<4, using: &generator) {
        case 0, 1: categories = CategorySet([DataCategory.allCases.randomElement(using: &generator)!])
        case 2: categories = CategorySet(randomSubset(of: DataCategory.allCases, using: &generator))
        default:
            categories = .allNonSensitive
            asksAll = Bool.random(using: &generator)
        }
        let instants: [Int64] = [
            -1, 0, 999, 1000, 1099, 1100, 1199, 1200, 1499, 1500, 1599, 1600, 1799, 1800, 1999, 2000, 2499, 2500,
            2599, 2600, 2999, 3000,
        ]
        return AccessRequest(
            caller: caller, patient: People.patient,
            action: [.read, .read, .write, .auditRead, .delegate].randomElement(using: &generator)!,
            categories: categories, asksAllCategories: asksAll,
            purpose: Int.random(in: 0..<3, using: &generator) == 0
                ? .emergency : Purpose.allCases.randomElement(using: &generator)!,
            now: instants.randomElement(using: &generator)!)
    }
}
