/// The access-policy engine: a pure function of (a patient's policy, caller, action, categories, purpose, now).
///
/// The rule (proto/healthledger/v1/policy.proto is normative), per asked category:
/// 1. The patient may always READ, WRITE and AUDIT_READ their own data (and DELEGATE: they act for themself).
/// 2. An active DENY grant matching the caller (or everyone), the action, the category, the purpose and now denies
///    the category; deny overrides permit and emergency access. A DENY with a record date range does not deny the
///    category but leaves out the records dated within its range (`Decision.covers` is false for them).
/// 3. Else an active PERMIT to the caller matching the same allows the category, for records within the union of
///    the matching permits' record date ranges (a permit without a range covers every date). A PERMIT to everyone
///    never matches.
/// 4. Else, for a READ with PURPOSE_EMERGENCY only, an open emergency access of the caller covering the
///    (non-sensitive) category allows it: break-glass opens reading records, not writing them nor the audit trail.
/// 5. Else the category is not permitted: no permit, no access.
///
/// A grant is active iff activeFrom <= now < activeUntil (nil: no end) and now < revokedAt (nil: not revoked); an
/// emergency access is open iff openedAt <= now < expiresAt.
///
/// Overall, a query that named concrete categories is all-or-nothing: any category not allowed denies the whole
/// request, with basis DENY_GRANT when some DENY matched (the reason names the first denied category) and NO_PERMIT
/// otherwise (the reason names the first failing category), ascending. A query that named DATA_CATEGORY_ALL is
/// allowed for the permitted subset and denied only when that is empty. An allowed decision rests on PERMIT_GRANT,
/// or on EMERGENCY_ACCESS when emergency access was needed for some category.
public enum PolicyEngine {
    /// Decides `request` against the patient's policy (nil: the patient has granted nothing).
    public static func decide(_ request: AccessRequest, policy: PatientPolicy?) -> Decision {
        let asked = request.categories.rawValue
        if request.caller == request.patient {
            return Decision(
                isAllowed: true, basis: .patientSelf, allowedCategories: request.categories, decidingGrantIDs: [],
                emergencyAccessID: nil, reason: "the caller is the patient", undatedCategories: request.categories)
        }
        guard asked != 0 else { return .denied(.noPermit, reason: "no data category asked") }
        guard let policy = policy?.storage, policy.patient == request.patient else {
            return .denied(.noPermit, reason: noPermitReason(asked, request.purpose))
        }

        let matcher = Matcher(request)
        let own = policy.grantsByGrantee[request.caller] ?? []
        let everyone = policy.everyoneDenies
        let scan = GrantScan(own: own, everyoneDenies: everyone, matcher: matcher)

        // Emergency access, for what neither a DENY nor a PERMIT decided.
        var emergency: UInt64 = 0
        var emergencyAccessID: String?
        let undecided = asked & ~scan.denied & ~scan.permitted & CategorySet.allNonSensitive.rawValue
        if request.purpose == .emergency, request.action == .read, undecided != 0,
            let positions = policy.emergencyByClinician[request.caller]
        {
            for position in positions where policy.emergencyAccesses[position].isOpen(at: request.now) {
                let covered = policy.emergencyAccesses[position].categories.rawValue & undecided
                if covered != 0 {
                    emergency |= covered
                    if emergencyAccessID == nil { emergencyAccessID = policy.emergencyAccesses[position].id }
                }
            }
        }

        let allowed = (scan.permitted | emergency) & ~scan.denied
        let failing = asked & ~allowed
        if allowed == 0 || (failing != 0 && !request.asksAllCategories) {
            guard scan.denied != 0 else {
                return .denied(.noPermit, reason: noPermitReason(failing, request.purpose))
            }
            return deniedByDeny(scan, own: own, everyone: everyone, matcher: matcher, policy: policy)
        }

        // Allowed: the permits used, and the record dates they and dated DENY grants limit the release to.
        var ids: [String] = []
        ids.reserveCapacity(min(scan.matchingPermits, Decision.maxDecidingGrantIDs))
        var datedPermits: [DatedCategories] = []
        var dateExclusions: [DatedCategories] = []
        let undatedAllowed = (scan.undatedPermitted | emergency) & allowed
        for grant in own where !grant.isDeny {
            let used = matcher.overlap(grant) & allowed
            if used == 0 { continue }
            if ids.count < Decision.maxDecidingGrantIDs { ids.append(policy.grantIDs[grant.position]) }
            let datedOnly = used & ~undatedAllowed
            if grant.isDated, datedOnly != 0, let range = policy.grants[grant.position].recordDates {
                datedPermits.append(DatedCategories(categories: CategorySet(rawValue: datedOnly), range: range))
            }
        }
        if scan.anyDatedDeny {
            inCommitOrder(own, everyone) { grant in
                guard grant.isDeny, grant.isDated else { return }
                let excluded = matcher.overlap(grant) & allowed
                if excluded != 0, let range = policy.grants[grant.position].recordDates {
                    dateExclusions.append(DatedCategories(categories: CategorySet(rawValue: excluded), range: range))
                }
            }
        }
        let reason: String
        switch (emergency != 0, failing != 0) {
        case (true, false): reason = "allowed by emergency access"
        case (true, true): reason = "allowed by emergency access for the permitted categories only"
        case (false, false): reason = "allowed by PERMIT grant"
        case (false, true): reason = "allowed by PERMIT grant for the permitted categories only"
        }
        return Decision(
            isAllowed: true, basis: emergency != 0 ? .emergencyAccess : .permitGrant,
            allowedCategories: CategorySet(rawValue: allowed), decidingGrantIDs: ids,
            emergencyAccessID: emergency != 0 ? emergencyAccessID : nil, reason: reason,
            undatedCategories: CategorySet(rawValue: undatedAllowed), datedPermits: datedPermits,
            dateExclusions: dateExclusions)
    }

    /// The grant `grantID` when it lets `caller` grant and revoke for `patient` at `now`: a PERMIT to the caller
    /// with ACTION_DELEGATE, active now; nil otherwise.
    public static func activeDelegation(
        caller: String, patient: String, grantID: String, policy: PatientPolicy?, now: Int64
    ) -> GrantRule? {
        guard let policy, policy.patient == patient, let grant = policy.grant(id: grantID) else { return nil }
        guard grant.patient == patient, grant.effect == .permit, grant.grantee == .principal(caller),
            grant.actions.contains(.delegate), grant.isActive(at: now)
        else { return nil }
        return grant
    }

    /// Ids of the active DENY grants, for PURPOSE_EMERGENCY and ACTION_READ, to `clinician` or everyone, in commit
    /// order: the patient's refusal of emergency access (non-empty = refused).
    public static func refusesEmergencyAccess(
        clinician: String, patient: String, policy: PatientPolicy?, now: Int64
    ) -> [String] {
        guard let policy = policy?.storage, policy.patient == patient else { return [] }
        let own = policy.grantsByGrantee[clinician] ?? []
        var ids: [String] = []
        inCommitOrder(own, policy.everyoneDenies) { grant in
            guard grant.isDeny, grant.actions & ActionSet.bit(.read) != 0,
                grant.purposes & PurposeSet.bit(.emergency) != 0, grant.activeFrom <= now, now < grant.activeEnd
            else { return }
            ids.append(policy.grantIDs[grant.position])
        }
        return ids
    }

    /// The refusal when undated DENY grants matched: their ids (commit order, at most 100), the first denied
    /// category and the first DENY grant matching it.
    private static func deniedByDeny(
        _ scan: GrantScan, own: [IndexedGrant], everyone: [IndexedGrant], matcher: Matcher, policy: PolicyStorage
    ) -> Decision {
        let first = CategorySet(rawValue: scan.denied).first!
        let firstBit = CategorySet.bit(first)
        var ids: [String] = []
        ids.reserveCapacity(min(scan.matchingDenies, Decision.maxDecidingGrantIDs))
        var firstMatchID: String?
        inCommitOrder(own, everyone) { grant in
            guard grant.isDeny, !grant.isDated else { return }
            let overlap = matcher.overlap(grant)
            if overlap == 0 { return }
            let id = policy.grantIDs[grant.position]
            if ids.count < Decision.maxDecidingGrantIDs { ids.append(id) }
            if firstMatchID == nil, overlap & firstBit != 0 { firstMatchID = id }
        }
        var reason = ""
        reason.reserveCapacity(128)
        reason += "DENY grant "
        reason += firstMatchID ?? ""
        reason += " matches "
        reason += first.protoName
        reason += " with "
        reason += matcher.purpose.protoName
        return .denied(.denyGrant, grantIDs: ids, reason: reason)
    }

    /// "no PERMIT for <first category of `failing`> with <purpose>".
    private static func noPermitReason(_ failing: UInt64, _ purpose: Purpose) -> String {
        let first = CategorySet(rawValue: failing).first!
        var reason = ""
        reason.reserveCapacity(64)
        reason += "no PERMIT for "
        reason += first.protoName
        reason += " with "
        reason += purpose.protoName
        return reason
    }

    /// Calls `body` for the grants of two commit-ordered buckets, merged in commit order.
    private static func inCommitOrder(
        _ first: [IndexedGrant], _ second: [IndexedGrant], _ body: (IndexedGrant) -> Void
    ) {
        var i = 0
        var j = 0
        while i < first.count || j < second.count {
            if j == second.count || (i < first.count && first[i].position < second[j].position) {
                body(first[i])
                i += 1
            } else {
                body(second[j])
                j += 1
            }
        }
    }
}

/// The first pass of a decision: what the caller's grants and the DENY grants to everyone say, as bit sets.
private struct GrantScan {
    /// Categories an undated DENY denies.
    var denied: UInt64 = 0
    /// Categories a PERMIT allows (before DENY).
    var permitted: UInt64 = 0
    /// Categories a PERMIT without a record date range allows.
    var undatedPermitted: UInt64 = 0
    /// Whether a DENY with a record date range matched.
    var anyDatedDeny = false
    /// How many PERMIT grants matched.
    var matchingPermits = 0
    /// How many DENY grants matched.
    var matchingDenies = 0

    @inline(__always) init(own: [IndexedGrant], everyoneDenies: [IndexedGrant], matcher: Matcher) {
        for grant in own {
            let overlap = matcher.overlap(grant)
            if overlap == 0 { continue }
            if grant.isDeny {
                addDeny(grant, overlap)
            } else {
                permitted |= overlap
                matchingPermits += 1
                if !grant.isDated { undatedPermitted |= overlap }
            }
        }
        for grant in everyoneDenies {
            let overlap = matcher.overlap(grant)
            if overlap != 0 { addDeny(grant, overlap) }
        }
    }

    @inline(__always) private mutating func addDeny(_ grant: IndexedGrant, _ overlap: UInt64) {
        matchingDenies += 1
        if grant.isDated { anyDatedDeny = true } else { denied |= overlap }
    }
}

/// The request reduced to bits: which asked categories a grant matches on action, purpose and time.
private struct Matcher {
    let action: UInt8
    let purposeBit: UInt8
    let purpose: Purpose
    let asked: UInt64
    let now: Int64

    init(_ request: AccessRequest) {
        self.action = ActionSet.bit(request.action)
        self.purposeBit = PurposeSet.bit(request.purpose)
        self.purpose = request.purpose
        self.asked = request.categories.rawValue
        self.now = request.now
    }

    /// The asked categories `grant` matches when it matches action, purpose and now; 0 otherwise.
    @inline(__always) func overlap(_ grant: IndexedGrant) -> UInt64 {
        guard grant.actions & action != 0, grant.purposes & purposeBit != 0, grant.activeFrom <= now,
            now < grant.activeEnd
        else { return 0 }
        return grant.categories & asked
    }
}
