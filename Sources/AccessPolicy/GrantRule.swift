/// Whether a grant allows or forbids what it matches; raw values are the proto `Effect` numbers.
public enum Effect: UInt8, Sendable, Hashable, CaseIterable {
    /// Allows what the grant matches, unless a DENY also matches.
    case permit = 1
    /// Forbids what the grant matches; overrides every PERMIT and emergency access.
    case deny = 2

    /// The proto enum value name ("EFFECT_PERMIT").
    public var protoName: String {
        switch self {
        case .permit: "EFFECT_PERMIT"
        case .deny: "EFFECT_DENY"
        }
    }
}

/// Whom a grant is about: one principal, or everyone ("*", valid only with DENY; the ledger validates that).
public enum Grantee: Sendable, Hashable {
    /// One principal, by principal id text.
    case principal(String)
    /// Every principal ("*"); a PERMIT to everyone never matches.
    case everyone
}

/// A half-open interval of milliseconds since the Unix epoch: [from, until); nil bounds are open.
public struct TimeRange: Sendable, Hashable {
    /// Inclusive lower bound; nil: no lower bound.
    public var from: Int64?
    /// Exclusive upper bound; nil: no upper bound.
    public var until: Int64?

    /// A range from its bounds.
    public init(from: Int64? = nil, until: Int64? = nil) {
        self.from = from
        self.until = until
    }

    /// Whether `time` lies in [from, until).
    @inlinable public func contains(_ time: Int64) -> Bool {
        if let from, time < from { return false }
        if let until, time >= until { return false }
        return true
    }
}

/// A committed grant as the engine sees it.
public struct GrantRule: Sendable, Hashable {
    /// Grant id (the Grant transaction's id, 64 hex characters); opaque here.
    public var id: String
    /// Principal id text of the patient whose data this is about; opaque here.
    public var patient: String
    /// Whom the grant is about.
    public var grantee: Grantee
    /// What the grantee may (PERMIT) or may not (DENY) do.
    public var actions: ActionSet
    /// Which data, already expanded (DATA_CATEGORY_ALL stands for the non-sensitive categories).
    public var categories: CategorySet
    /// For which purposes of use.
    public var purposes: PurposeSet
    /// First instant the grant is active (inclusive): max(valid_from, commit time).
    public var activeFrom: Int64
    /// End of validity (exclusive); nil: until revoked.
    public var activeUntil: Int64?
    /// Clinical dates (RecordMetadata.effective_at_unix_ms) the grant is limited to; nil: records of any date.
    public var recordDates: TimeRange?
    /// PERMIT or DENY.
    public var effect: Effect
    /// Commit time of the Revoke; the grant is inactive from then on (inclusive). nil: not revoked.
    public var revokedAt: Int64?

    /// A grant from its parts.
    public init(
        id: String, patient: String, grantee: Grantee, actions: ActionSet, categories: CategorySet,
        purposes: PurposeSet, activeFrom: Int64, activeUntil: Int64? = nil, recordDates: TimeRange? = nil,
        effect: Effect, revokedAt: Int64? = nil
    ) {
        self.id = id
        self.patient = patient
        self.grantee = grantee
        self.actions = actions
        self.categories = categories
        self.purposes = purposes
        self.activeFrom = activeFrom
        self.activeUntil = activeUntil
        self.recordDates = recordDates
        self.effect = effect
        self.revokedAt = revokedAt
    }

    /// Whether the grant is in force at `now`: activeFrom <= now < activeUntil, and not yet revoked.
    @inlinable public func isActive(at now: Int64) -> Bool {
        activeFrom <= now && now < (activeUntil ?? .max) && now < (revokedAt ?? .max)
    }

    /// The first instant the grant is no longer active (activeUntil or revokedAt, whichever is earlier); .max: none.
    @inlinable public var activeEnd: Int64 { min(activeUntil ?? .max, revokedAt ?? .max) }
}

/// An open break-glass emergency access: time-boxed read access of a clinician to a patient's non-sensitive data.
public struct EmergencyAccessRule: Sendable, Hashable {
    /// Emergency access id (the EmergencyAccess transaction's id).
    public var id: String
    /// Principal id text of the clinician who opened it.
    public var clinician: String
    /// Principal id text of the patient.
    public var patient: String
    /// Categories opened (non-sensitive only; sensitive ones are ignored if present).
    public var categories: CategorySet
    /// Commit time: open from here (inclusive).
    public var openedAt: Int64
    /// Closed from here (exclusive end).
    public var expiresAt: Int64

    /// An emergency access from its parts.
    public init(
        id: String, clinician: String, patient: String, categories: CategorySet, openedAt: Int64, expiresAt: Int64
    ) {
        self.id = id
        self.clinician = clinician
        self.patient = patient
        self.categories = categories
        self.openedAt = openedAt
        self.expiresAt = expiresAt
    }

    /// Whether the access is open at `now`: openedAt <= now < expiresAt.
    @inlinable public func isOpen(at now: Int64) -> Bool { openedAt <= now && now < expiresAt }
}
