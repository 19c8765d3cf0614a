import AccessPolicy
import Testing

/// The enums' proto numbers and names, the bit sets and the time ranges.
@Suite("Vocabulary")
struct VocabularyTests {
    @Test("raw values are the proto enum numbers and protoName the proto value names")
    func protoNumbersAndNames() {
        #expect(Action.allCases.map(\.rawValue) == [1, 2, 3, 4])
        #expect(Action.auditRead.protoName == "ACTION_AUDIT_READ")
        #expect(DataCategory.allCases.map(\.rawValue) == Array(1...14))
        #expect(DataCategory.clinicalNotes.protoName == "DATA_CATEGORY_CLINICAL_NOTES")
        #expect(DataCategory.genomics.protoName == "DATA_CATEGORY_GENOMICS")
        #expect(Purpose.allCases.map(\.rawValue) == Array(1...6))
        #expect(Purpose.patientRequest.protoName == "PURPOSE_PATIENT_REQUEST")
        #expect(Effect.deny.rawValue == 2)
        #expect(DecisionBasis.allCases.map(\.rawValue) == Array(1...5))
        #expect(DecisionBasis.noPermit.protoName == "DECISION_BASIS_NO_PERMIT")
    }

    @Test("ALL stands for the ten non-sensitive categories; the four sensitive ones must be named")
    func categoryListing() {
        #expect(CategorySet.allNonSensitive.count == 10)
        #expect(CategorySet.sensitive.categories == [.mentalHealth, .sexualHealth, .substanceUse, .genomics])
        #expect(CategorySet(listing: [.all]) == .allNonSensitive)
        #expect(CategorySet(listing: [.all, .category(.labs)]) == .allNonSensitive)
        #expect(
            CategorySet(listing: [.category(.genomics), .all]).categories
                == CategorySet.allNonSensitive.categories + [.genomics])
        #expect(CategorySet(listing: [.category(.vitals), .category(.labs)]).categories == [.labs, .vitals])
        #expect(CategorySet(listing: []).isEmpty)
        #expect(CategorySet([.vitals, .labs]).first == .labs)
        #expect(DataCategory.allCases.filter(\.isSensitive) == CategorySet.sensitive.categories)
    }

    @Test("action and purpose sets hold exactly what they were made from")
    func actionAndPurposeSets() {
        let actions = ActionSet([.read, .delegate])
        #expect(Action.allCases.map { actions.contains($0) } == [true, false, false, true])
        #expect(actions.actions == [.read, .delegate])
        #expect(ActionSet.all.actions == Action.allCases)
        let purposes = PurposeSet([.emergency])
        #expect(Purpose.allCases.filter { purposes.contains($0) } == [.emergency])
        #expect(PurposeSet.all.purposes == Purpose.allCases)
    }

    @Test("a time range is half-open and nil bounds are open")
    func timeRange() {
        let range = TimeRange(from: 10, until: 20)
        #expect([9, 10, 19, 20].map { range.contains($0) } == [false, true, true, false])
        #expect(TimeRange().contains(.min) && TimeRange().contains(.max))
        #expect(TimeRange(from: 10).contains(.max) && !TimeRange(from: 10).contains(9))
        #expect(TimeRange(until: 10).contains(.min) && !TimeRange(until: 10).contains(10))
    }

    @Test("a grant is active from activeFrom until activeUntil or its revocation, whichever is first")
    func grantActivity() {
        let rule = grant(1, categories: CategorySet([.labs]), from: 100, until: 200, revokedAt: 150)
        #expect(
            [99, 100, 149, 150, 199, 200].map { rule.isActive(at: $0) } == [false, true, true, false, false, false])
        let open = grant(2, categories: CategorySet([.labs]), from: 100)
        #expect(open.isActive(at: .max - 1) && !open.isActive(at: 99))
        let access = emergencyAccess(1, openedAt: 10, expiresAt: 20)
        #expect([9, 10, 19, 20].map { access.isOpen(at: $0) } == [false, true, true, false])
    }
}
