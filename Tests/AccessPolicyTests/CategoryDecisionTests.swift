import AccessPolicy
import Testing

/// Stories about which categories are asked, ALL and the sensitive categories.
@Suite("Categories")
struct CategoryDecisionTests {
    @Test("given a grant of ALL, every non-sensitive category is allowed and no sensitive one")
    func allNeverCoversSensitive() {
        let all = policy([grant(1, categories: CategorySet(listing: [.all]))])
        for category in DataCategory.allCases {
            let decision = PolicyEngine.decide(request(CategorySet([category]), at: t0), policy: all)
            #expect(decision.isAllowed == !category.isSensitive, "\(category)")
        }
    }

    @Test("given a grant of ALL and mental health by name, mental health is allowed but not genomics")
    func sensitiveWhenNamed() {
        let named = policy([grant(1, categories: CategorySet(listing: [.all, .category(.mentalHealth)]))])
        #expect(PolicyEngine.decide(request(CategorySet([.mentalHealth]), at: t0), policy: named).isAllowed)
        let genomics = PolicyEngine.decide(request(CategorySet([.genomics]), at: t0), policy: named)
        #expect(!genomics.isAllowed)
        #expect(genomics.reason == "no PERMIT for DATA_CATEGORY_GENOMICS with PURPOSE_TREATMENT")
    }

    @Test("given labs and vitals granted, a query for ALL gets exactly labs and vitals")
    func askingAllGetsThePermittedSubset() {
        let two = policy([grant(1, categories: CategorySet([.labs, .vitals]))])
        let decision = PolicyEngine.decide(
            request(CategorySet(listing: [.all]), asksAll: true, at: t0), policy: two)
        #expect(decision.isAllowed)
        #expect(decision.basis == .permitGrant)
        #expect(decision.allowedCategories == CategorySet([.labs, .vitals]))
        #expect(decision.decidingGrantIDs == [grantID(1)])
        #expect(!decision.covers(category: .demographics, effectiveAt: t0))
        #expect(decision.covers(category: .vitals, effectiveAt: t0))
    }

    @Test("given labs and vitals granted, naming all ten non-sensitive categories is denied at the first failing one")
    func namingCategoriesIsAllOrNothing() {
        let two = policy([grant(1, categories: CategorySet([.labs, .vitals]))])
        let decision = PolicyEngine.decide(request(.allNonSensitive, at: t0), policy: two)
        #expect(!decision.isAllowed)
        #expect(decision.basis == .noPermit)
        #expect(decision.reason == "no PERMIT for DATA_CATEGORY_DEMOGRAPHICS with PURPOSE_TREATMENT")
        let partial = PolicyEngine.decide(request(CategorySet([.labs, .mentalHealth]), at: t0), policy: two)
        #expect(!partial.isAllowed)
        #expect(partial.reason == "no PERMIT for DATA_CATEGORY_MENTAL_HEALTH with PURPOSE_TREATMENT")
    }

    @Test("given ALL permitted and vitals denied, a query for ALL gets everything else and lists only the PERMIT")
    func askingAllLeavesOutDeniedCategories() {
        let permit = grant(1, categories: .allNonSensitive)
        let deny = grant(2, categories: CategorySet([.vitals]), effect: .deny)
        let decision = PolicyEngine.decide(
            request(.allNonSensitive, asksAll: true, at: t0), policy: policy([permit, deny]))
        #expect(decision.isAllowed)
        #expect(decision.allowedCategories == CategorySet.allNonSensitive.subtracting(CategorySet([.vitals])))
        #expect(decision.decidingGrantIDs == [permit.id])
        #expect(!decision.covers(category: .vitals, effectiveAt: t0))
    }

    @Test("given only DENY grants, a query for ALL is denied on the DENY")
    func askingAllWithNothingPermitted() {
        let deny = grant(2, categories: CategorySet([.imaging]), effect: .deny)
        let decision = PolicyEngine.decide(
            request(.allNonSensitive, asksAll: true, at: t0), policy: policy([deny]))
        #expect(!decision.isAllowed)
        #expect(decision.basis == .denyGrant)
        #expect(decision.decidingGrantIDs == [deny.id])
        #expect(decision.reason == "DENY grant \(deny.id) matches DATA_CATEGORY_IMAGING with PURPOSE_TREATMENT")
        let nothing = PolicyEngine.decide(request(.allNonSensitive, asksAll: true, at: t0), policy: policy([]))
        #expect(nothing.basis == .noPermit)
        #expect(nothing.reason == "no PERMIT for DATA_CATEGORY_DEMOGRAPHICS with PURPOSE_TREATMENT")
    }

    @Test("given conditions not permitted and labs denied, naming both is denied on the DENY, which the reason names")
    func denyBasisWinsOverNoPermit() {
        let deny = grant(2, categories: CategorySet([.labs]), effect: .deny)
        let decision = PolicyEngine.decide(
            request(CategorySet([.conditions, .labs]), at: t0), policy: policy([deny]))
        #expect(decision.basis == .denyGrant)
        #expect(decision.reason == "DENY grant \(deny.id) matches DATA_CATEGORY_LABS with PURPOSE_TREATMENT")
    }
}
