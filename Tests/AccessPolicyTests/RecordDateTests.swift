import AccessPolicy
import Testing

/// Stories about grants limited to a range of clinical dates.
@Suite("Record date ranges")
struct RecordDateTests {
    let labs = CategorySet([.labs])
    let year2020 = TimeRange(from: 1_577_836_800_000, until: 1_609_459_200_000)

    @Test("given labs granted for records of 2020, records are released exactly within [from, until)")
    func permitRangeBoundaries() {
        let decision = PolicyEngine.decide(
            request(labs, at: t0), policy: policy([grant(1, categories: labs, records: year2020)]))
        #expect(decision.isAllowed)
        #expect(!decision.covers(category: .labs, effectiveAt: year2020.from! - 1))
        #expect(decision.covers(category: .labs, effectiveAt: year2020.from!))
        #expect(decision.covers(category: .labs, effectiveAt: year2020.until! - 1))
        #expect(!decision.covers(category: .labs, effectiveAt: year2020.until!))
        #expect(!decision.covers(category: .vitals, effectiveAt: year2020.from!))
    }

    @Test("given two dated permits, records in either range are released; an undated permit releases every date")
    func unionOfRanges() {
        let early = grant(1, categories: labs, records: TimeRange(from: 100, until: 200))
        let late = grant(2, categories: labs, records: TimeRange(from: 300))
        let twoRanges = PolicyEngine.decide(request(labs, at: t0), policy: policy([early, late]))
        #expect(twoRanges.decidingGrantIDs == [early.id, late.id])
        let released = [99, 100, 199, 200, 299, 300, 1_000_000].map {
            twoRanges.covers(category: .labs, effectiveAt: $0)
        }
        #expect(released == [false, true, true, false, false, true, true])
        let withUndated = PolicyEngine.decide(
            request(labs, at: t0), policy: policy([early, late, grant(3, categories: labs)]))
        #expect(withUndated.covers(category: .labs, effectiveAt: 250))
    }

    @Test("given a DENY dated before 2020, labs are allowed but records from before 2020 are left out")
    func datedDenyExcludesRecords() {
        let before2020 = TimeRange(until: year2020.from!)
        for grantee in [Grantee.principal(People.clinician), .everyone] {
            let deny = grant(2, to: grantee, categories: labs, records: before2020, effect: .deny)
            let decision = PolicyEngine.decide(
                request(labs, at: t0), policy: policy([grant(1, categories: labs), deny]))
            #expect(decision.isAllowed)
            #expect(decision.basis == .permitGrant)
            #expect(decision.decidingGrantIDs == [grantID(1)])
            #expect(!decision.covers(category: .labs, effectiveAt: year2020.from! - 1))
            #expect(decision.covers(category: .labs, effectiveAt: year2020.from!))
        }
    }

    @Test("a dated DENY alone does not make a permit, and an inactive one excludes nothing")
    func datedDenyAloneAndInactive() {
        let deny = grant(2, categories: labs, until: t0 + hour, records: TimeRange(from: 0, until: 10), effect: .deny)
        #expect(!PolicyEngine.decide(request(labs, at: t0), policy: policy([deny])).isAllowed)
        let later = PolicyEngine.decide(
            request(labs, at: t0 + hour), policy: policy([grant(1, categories: labs), deny]))
        #expect(later.covers(category: .labs, effectiveAt: 5))
    }

    @Test("a dated DENY also limits emergency access")
    func datedDenyLimitsEmergency() {
        let deny = grant(
            2, to: .everyone, categories: labs, purposes: PurposeSet([.emergency]), records: TimeRange(until: 1000),
            effect: .deny)
        let decision = PolicyEngine.decide(
            request(labs, for: .emergency, at: t0), policy: policy([deny], emergencyAccesses: [emergencyAccess(1)]))
        #expect(decision.basis == .emergencyAccess)
        #expect(!decision.covers(category: .labs, effectiveAt: 999))
        #expect(decision.covers(category: .labs, effectiveAt: 1000))
    }
}
