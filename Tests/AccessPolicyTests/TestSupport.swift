import AccessPolicy

/// The principals the stories use.
enum People {
    static let patient = "hlp1patient"
    static let clinician = "hlp1clinician"
    static let other = "hlp1other"
}

/// Milliseconds in an hour.
let hour: Int64 = 3_600_000
/// An instant the stories start from (2023-11-14T22:13:20Z).
let t0: Int64 = 1_700_000_000_000

/// A grant id (64 hex characters) made from a number.
func grantID(_ n: Int) -> String {
    let hex = String(n, radix: 16)
    return String(repeating: "0", count: 64 - hex.count) + hex
}

/// A grant of the story patient; by default a PERMIT to the clinician to read for treatment from t0 on.
func grant(
    _ n: Int, to grantee: Grantee = .principal(People.clinician), actions: ActionSet = ActionSet([.read]),
    categories: CategorySet, purposes: PurposeSet = PurposeSet([.treatment]), from: Int64 = t0,
    until: Int64? = nil, records: TimeRange? = nil, effect: Effect = .permit, revokedAt: Int64? = nil
) -> GrantRule {
    GrantRule(
        id: grantID(n), patient: People.patient, grantee: grantee, actions: actions, categories: categories,
        purposes: purposes, activeFrom: from, activeUntil: until, recordDates: records, effect: effect,
        revokedAt: revokedAt)
}

/// A request about the story patient; by default the clinician reading for treatment.
func request(
    by caller: String = People.clinician, _ categories: CategorySet, action: Action = .read,
    asksAll: Bool = false, for purpose: Purpose = .treatment, at now: Int64
) -> AccessRequest {
    AccessRequest(
        caller: caller, patient: People.patient, action: action, categories: categories, asksAllCategories: asksAll,
        purpose: purpose, now: now)
}

/// The story patient's policy holding `grants` (in commit order) and `emergencyAccesses`.
func policy(_ grants: [GrantRule], emergencyAccesses: [EmergencyAccessRule] = []) -> PatientPolicy {
    var policy = PatientPolicy(patient: People.patient)
    for grant in grants { policy.add(grant) }
    for access in emergencyAccesses { policy.add(access) }
    return policy
}

/// An emergency access of the clinician to the story patient's `categories` (by default what ALL stands for).
func emergencyAccess(
    _ n: Int, by clinician: String = People.clinician, categories: CategorySet = .allNonSensitive,
    openedAt: Int64 = t0, expiresAt: Int64 = t0 + 8 * hour
) -> EmergencyAccessRule {
    EmergencyAccessRule(
        id: "e" + grantID(n).dropFirst(), clinician: clinician, patient: People.patient, categories: categories,
        openedAt: openedAt, expiresAt: expiresAt)
}

/// A small deterministic generator (SplitMix64) so random policies are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
