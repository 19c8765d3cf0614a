/// One access to decide: who asks, about whom, to do what, with which data, why and when.
public struct AccessRequest: Sendable, Hashable {
    /// Principal id text of the authenticated caller.
    public var caller: String
    /// Principal id text of the patient whose data is asked for.
    public var patient: String
    /// What the caller wants to do.
    public var action: Action
    /// The categories asked for, already expanded (DATA_CATEGORY_ALL stands for the non-sensitive ones).
    public var categories: CategorySet
    /// Whether the query named DATA_CATEGORY_ALL: decide per category and allow those permitted, instead of
    /// all-or-nothing.
    public var asksAllCategories: Bool
    /// The purpose of use the caller stated.
    public var purpose: Purpose
    /// When the request is decided, milliseconds since the Unix epoch.
    public var now: Int64

    /// A request from its parts.
    public init(
        caller: String, patient: String, action: Action, categories: CategorySet, asksAllCategories: Bool = false,
        purpose: Purpose, now: Int64
    ) {
        self.caller = caller
        self.patient = patient
        self.action = action
        self.categories = categories
        self.asksAllCategories = asksAllCategories
        self.purpose = purpose
        self.now = now
    }
}

/// What a decision rested on; raw values are the proto `DecisionBasis` numbers.
public enum DecisionBasis: UInt8, Sendable, Hashable, CaseIterable {
    /// The caller is the patient.
    case patientSelf = 1
    /// Active PERMIT grants matched (listed in `decidingGrantIDs`).
    case permitGrant = 2
    /// An open emergency access was needed for some category (`emergencyAccessID`).
    case emergencyAccess = 3
    /// An active DENY grant matched (listed in `decidingGrantIDs`).
    case denyGrant = 4
    /// No permit matched: no permit, no access.
    case noPermit = 5

    /// The proto enum value name ("DECISION_BASIS_PERMIT_GRANT").
    public var protoName: String {
        switch self {
        case .patientSelf: "DECISION_BASIS_PATIENT_SELF"
        case .permitGrant: "DECISION_BASIS_PERMIT_GRANT"
        case .emergencyAccess: "DECISION_BASIS_EMERGENCY_ACCESS"
        case .denyGrant: "DECISION_BASIS_DENY_GRANT"
        case .noPermit: "DECISION_BASIS_NO_PERMIT"
        }
    }
}

/// The outcome of `PolicyEngine.decide`: allowed or not, why, and which records it releases.
public struct Decision: Sendable, Hashable {
    /// The most grant ids a decision lists (the audit event's limit).
    public static let maxDecidingGrantIDs = 100

    /// Whether the access is allowed (for `allowedCategories`).
    public var isAllowed: Bool
    /// What the decision rested on.
    public var basis: DecisionBasis
    /// The categories the caller may access; empty when denied.
    public var allowedCategories: CategorySet
    /// The PERMIT grants used (allowed) or the DENY grants that matched (denied), in commit order; at most 100.
    public var decidingGrantIDs: [String]
    /// The emergency access used, when `basis == .emergencyAccess`.
    public var emergencyAccessID: String?
    /// One line for the audit event and the PERMISSION_DENIED message; says nothing about records.
    public var reason: String

    /// Allowed categories released whatever the record's date (a permit without range, emergency, patient self).
    var undatedCategories: CategorySet
    /// Allowed categories released only for dates within a permit's record date range.
    var datedPermits: [DatedCategories]
    /// Record dates excluded by date-limited DENY grants, per category.
    var dateExclusions: [DatedCategories]

    init(
        isAllowed: Bool, basis: DecisionBasis, allowedCategories: CategorySet, decidingGrantIDs: [String],
        emergencyAccessID: String?, reason: String, undatedCategories: CategorySet = [],
        datedPermits: [DatedCategories] = [], dateExclusions: [DatedCategories] = []
    ) {
        self.isAllowed = isAllowed
        self.basis = basis
        self.allowedCategories = allowedCategories
        self.decidingGrantIDs = decidingGrantIDs
        self.emergencyAccessID = emergencyAccessID
        self.reason = reason
        self.undatedCategories = undatedCategories
        self.datedPermits = datedPermits
        self.dateExclusions = dateExclusions
    }

    /// A refusal.
    static func denied(_ basis: DecisionBasis, grantIDs: [String] = [], reason: String) -> Decision {
        Decision(
            isAllowed: false, basis: basis, allowedCategories: [], decidingGrantIDs: grantIDs, emergencyAccessID: nil,
            reason: reason)
    }

    /// Whether a record of `category` with clinical date `effectiveAt` may be released under this decision (applies
    /// the record date ranges of the permits used and of date-limited DENY grants).
    public func covers(category: DataCategory, effectiveAt: Int64) -> Bool {
        guard isAllowed, allowedCategories.contains(category) else { return false }
        if !undatedCategories.contains(category)
            && !datedPermits.contains(where: { $0.categories.contains(category) && $0.range.contains(effectiveAt) })
        {
            return false
        }
        return !dateExclusions.contains { $0.categories.contains(category) && $0.range.contains(effectiveAt) }
    }
}

/// Categories paired with a record date range (a dated PERMIT's coverage or a dated DENY's exclusion).
struct DatedCategories: Sendable, Hashable {
    /// The categories the range applies to.
    var categories: CategorySet
    /// The record dates.
    var range: TimeRange
}
