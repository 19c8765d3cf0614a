import AccessPolicy

/// Node configuration that transaction admission depends on.
public struct LedgerRules: Sendable {
    /// Principal ids the operator registered as clinicians who may open emergency access.
    public var emergencyClinicians: Set<String>
    /// Categories emergency access may open (DATA_CATEGORY_ALL in a request stands for these).
    public var emergencyCategories: CategorySet
    /// Longest emergency access this node opens, in milliseconds.
    public var maxEmergencyDurationMs: Int64
    /// How far ahead of the node's clock a transaction's created_at may be, in milliseconds.
    public var maxClockSkewMs: Int64

    /// The defaults: no registered clinicians; allergies, medications, conditions and immunizations; 8 hours; 5 minutes.
    public init(
        emergencyClinicians: Set<String> = [],
        emergencyCategories: CategorySet = CategorySet([.allergies, .medications, .conditions, .immunizations]),
        maxEmergencyDurationMs: Int64 = 28_800_000, maxClockSkewMs: Int64 = 300_000
    ) {
        self.emergencyClinicians = emergencyClinicians
        self.emergencyCategories = emergencyCategories
        self.maxEmergencyDurationMs = maxEmergencyDurationMs
        self.maxClockSkewMs = maxClockSkewMs
    }
}
