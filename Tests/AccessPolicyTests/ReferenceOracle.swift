import AccessPolicy

/// The decision rule of policy.proto written the plain way, one category at a time, with no indexes and no bit
/// tricks: what `PolicyEngine.decide` is compared against.
struct ReferenceOracle {
    var grants: [GrantRule]
    var emergencyAccesses: [EmergencyAccessRule] = []

    /// What the oracle says a decision must be.
    struct Expected {
        var isAllowed: Bool
        var basis: DecisionBasis
        var allowed: [DataCategory]
        var grantIDs: [String]
        var emergencyAccessID: String?
        /// The exact reason, for refusals (allowed decisions' wording is free).
        var denialReason: String?
        /// Whether a record of a category and date is released.
        var covers: (DataCategory, Int64) -> Bool
    }

    /// How one asked category fares.
    enum Outcome {
        case denied(by: [GrantRule])
        case permitted(by: [GrantRule])
        case emergency(by: [EmergencyAccessRule])
        case notPermitted
    }

    static let allCategories = DataCategory.allCases

    static func isActive(_ grant: GrantRule, at now: Int64) -> Bool {
        if now < grant.activeFrom { return false }
        if let until = grant.activeUntil, now >= until { return false }
        if let revokedAt = grant.revokedAt, now >= revokedAt { return false }
        return true
    }

    static func dateRange(_ range: TimeRange, contains date: Int64) -> Bool {
        if let from = range.from, date < from { return false }
        if let until = range.until, date >= until { return false }
        return true
    }

    /// Whether `grant` speaks about `category` for this request (ignoring record dates).
    static func applies(_ grant: GrantRule, to request: AccessRequest, category: DataCategory) -> Bool {
        let granteeMatches: Bool
        switch (grant.effect, grant.grantee) {
        case (.deny, .everyone): granteeMatches = true
        case (.permit, .everyone): granteeMatches = false
        case (_, .principal(let who)): granteeMatches = who == request.caller
        }
        return granteeMatches && grant.patient == request.patient && isActive(grant, at: request.now)
            && grant.actions.contains(request.action) && grant.categories.contains(category)
            && grant.purposes.contains(request.purpose)
    }

    func outcome(of category: DataCategory, for request: AccessRequest) -> Outcome {
        var denies: [GrantRule] = []
        var permits: [GrantRule] = []
        for grant in grants where Self.applies(grant, to: request, category: category) {
            if grant.effect == .deny {
                if grant.recordDates == nil { denies.append(grant) }  // a dated DENY only hides records
            } else {
                permits.append(grant)
            }
        }
        if !denies.isEmpty { return .denied(by: denies) }
        if !permits.isEmpty { return .permitted(by: permits) }
        if request.purpose == .emergency && request.action == .read && !category.isSensitive {
            var open: [EmergencyAccessRule] = []
            for access in emergencyAccesses
            where access.clinician == request.caller && access.patient == request.patient
                && request.now >= access.openedAt && request.now < access.expiresAt
                && access.categories.contains(category)
            {
                open.append(access)
            }
            if !open.isEmpty { return .emergency(by: open) }
        }
        return .notPermitted
    }

    func decide(_ request: AccessRequest) -> Expected {
        var asked: [DataCategory] = []
        for category in Self.allCategories where request.categories.contains(category) { asked.append(category) }
        if request.caller == request.patient {
            return Expected(
                isAllowed: true, basis: .patientSelf, allowed: asked, grantIDs: [], emergencyAccessID: nil,
                denialReason: nil, covers: { category, _ in asked.contains(category) })
        }
        var allowed: [DataCategory] = []
        var failing: [DataCategory] = []
        var firstDenied: (category: DataCategory, by: GrantRule)?
        var denyingIDs: Set<String> = []
        var permittingIDs: Set<String> = []
        var emergencyIDs: Set<String> = []
        var outcomes: [DataCategory: Outcome] = [:]
        for category in asked {
            let outcome = outcome(of: category, for: request)
            outcomes[category] = outcome
            switch outcome {
            case .permitted(let permits):
                allowed.append(category)
                for permit in permits { permittingIDs.insert(permit.id) }
            case .emergency(let accesses):
                allowed.append(category)
                for access in accesses { emergencyIDs.insert(access.id) }
            case .denied(let denies):
                failing.append(category)
                if firstDenied == nil { firstDenied = (category, denies[0]) }
                for deny in denies { denyingIDs.insert(deny.id) }
            case .notPermitted:
                failing.append(category)
            }
        }
        let purpose = request.purpose.protoName
        if allowed.isEmpty || (!failing.isEmpty && !request.asksAllCategories) {
            if let firstDenied {
                var ids: [String] = []
                for grant in grants where denyingIDs.contains(grant.id) && ids.count < 100 { ids.append(grant.id) }
                return Expected(
                    isAllowed: false, basis: .denyGrant, allowed: [], grantIDs: ids, emergencyAccessID: nil,
                    denialReason:
                        "DENY grant \(firstDenied.by.id) matches \(firstDenied.category.protoName) with \(purpose)",
                    covers: { _, _ in false })
            }
            let reason =
                failing.first.map { "no PERMIT for \($0.protoName) with \(purpose)" } ?? "no data category asked"
            return Expected(
                isAllowed: false, basis: .noPermit, allowed: [], grantIDs: [], emergencyAccessID: nil,
                denialReason: reason, covers: { _, _ in false })
        }
        var ids: [String] = []
        for grant in grants where permittingIDs.contains(grant.id) && ids.count < 100 { ids.append(grant.id) }
        let emergencyID = emergencyAccesses.first { emergencyIDs.contains($0.id) }?.id
        let grants = self.grants
        let covers: (DataCategory, Int64) -> Bool = { category, date in
            switch outcomes[category] {
            case .permitted(let permits):
                var inSomeRange = false
                for permit in permits where permit.recordDates.map({ Self.dateRange($0, contains: date) }) ?? true {
                    inSomeRange = true
                }
                if !inSomeRange { return false }
            case .emergency: break
            default: return false
            }
            for grant in grants where grant.effect == .deny && grant.recordDates != nil {
                if Self.applies(grant, to: request, category: category)
                    && Self.dateRange(grant.recordDates!, contains: date)
                {
                    return false
                }
            }
            return true
        }
        return Expected(
            isAllowed: true, basis: emergencyIDs.isEmpty ? .permitGrant : .emergencyAccess, allowed: allowed,
            grantIDs: ids, emergencyAccessID: emergencyID, denialReason: nil, covers: covers)
    }

    /// The differences between the engine's decision and the oracle's, nil when they agree.
    static func mismatch(
        _ decision: Decision, _ expected: Expected, recordDates: [Int64] = [],
        coverCategories: [DataCategory] = allCategories
    ) -> String? {
        var problems: [String] = []
        if decision.isAllowed != expected.isAllowed { problems.append("isAllowed \(decision.isAllowed)") }
        if decision.basis != expected.basis { problems.append("basis \(decision.basis) != \(expected.basis)") }
        if decision.allowedCategories != CategorySet(expected.allowed) {
            problems.append("allowed \(decision.allowedCategories.categories) != \(expected.allowed)")
        }
        if decision.decidingGrantIDs != expected.grantIDs {
            problems.append("grant ids \(decision.decidingGrantIDs) != \(expected.grantIDs)")
        }
        if decision.emergencyAccessID != expected.emergencyAccessID {
            problems.append("emergency \(String(describing: decision.emergencyAccessID))")
        }
        if let reason = expected.denialReason, decision.reason != reason {
            problems.append("reason '\(decision.reason)' != '\(reason)'")
        }
        if decision.reason.isEmpty { problems.append("empty reason") }
        for category in recordDates.isEmpty ? [] : coverCategories {
            for date in recordDates
            where decision.covers(category: category, effectiveAt: date) != expected.covers(category, date) {
                problems.append("covers(\(category), \(date))")
            }
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
