/// Every grant and emergency access of one patient, indexed for decisions; a copy-on-write value mutated only by the
/// ledger's apply step.
///
/// Grants are kept in commit order and indexed by grantee: each principal's grants in one bucket and the DENY grants
/// to everyone in another, as compact bit-set entries, so a decision reads only the caller's bucket and the
/// everyone-DENY bucket. A PERMIT to everyone is kept but never indexed: it never matches. Copying a policy (a
/// snapshot of the ledger state) costs one reference count; the first mutation of a shared copy clones it.
public struct PatientPolicy: Sendable {
    /// The indexes, shared between copies until one of them is mutated.
    private(set) var storage: PolicyStorage

    /// An empty policy: nothing granted, so nobody but the patient has access.
    public init(patient: String) {
        storage = PolicyStorage(patient: patient)
    }

    /// An empty policy with room for `grantCount` grants, for a node rebuilding its state from a snapshot: every
    /// index is sized once instead of growing grant by grant.
    public init(patient: String, capacity grantCount: Int) {
        storage = PolicyStorage(patient: patient)
        storage.reserveCapacity(grants: grantCount)
    }

    /// Principal id text of the patient this policy belongs to.
    public var patient: String { storage.patient }

    /// Every grant of the patient, in commit order (revoked ones included, with `revokedAt` set).
    public var grants: [GrantRule] { storage.grants }

    /// Every emergency access opened for the patient, in commit order (closed ones included).
    public var emergencyAccesses: [EmergencyAccessRule] { storage.emergencyAccesses }

    /// Adds a committed grant; returns false (and changes nothing) when its id is already present or it is about
    /// another patient.
    @discardableResult
    public mutating func add(_ grant: GrantRule) -> Bool {
        guard grant.patient == patient, storage.position(of: grant.id) == nil else { return false }
        uniqueStorage().add(grant)
        return true
    }

    /// Adds a committed grant of this patient that is known not to be here yet (read back from the node's own
    /// snapshot, whose grants are distinct): `add(_:)` without its duplicate lookup.
    public mutating func addRestored(_ grant: GrantRule) {
        precondition(grant.patient == patient, "grant \(grant.id) is not about \(patient)")
        uniqueStorage().add(grant)
    }

    /// Revokes the grant `grantID` from `time` on (inclusive); returns false when the id is unknown. Revoking an
    /// already revoked grant keeps the earlier revocation time (the ledger reports that as FAILED_PRECONDITION).
    @discardableResult
    public mutating func revoke(grantID: String, at time: Int64) -> Bool {
        guard let position = storage.position(of: grantID) else { return false }
        uniqueStorage().revoke(at: position, time: time)
        return true
    }

    /// Adds an emergency access opened for this patient; returns false (and changes nothing) when it is about another
    /// patient or its id is already present.
    @discardableResult
    public mutating func add(_ access: EmergencyAccessRule) -> Bool {
        guard access.patient == patient, !storage.emergencyAccesses.contains(where: { $0.id == access.id }) else {
            return false
        }
        uniqueStorage().add(access)
        return true
    }

    /// The grant with id `id`, nil when unknown.
    public func grant(id: String) -> GrantRule? {
        storage.position(of: id).map { storage.grants[$0] }
    }

    /// The emergency access with id `id`, nil when unknown.
    public func emergencyAccess(id: String) -> EmergencyAccessRule? {
        storage.emergencyAccesses.first { $0.id == id }
    }

    /// The storage, cloned first when another copy shares it.
    private mutating func uniqueStorage() -> PolicyStorage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.clone() }
        return storage
    }
}

/// The grants and their indexes behind a `PatientPolicy`.
///
/// `@unchecked Sendable` and `@exclusivity(unchecked)`: it is only mutated through `PatientPolicy`'s mutating
/// methods, after `isKnownUniquelyReferenced` proved no other copy (on any thread) can see it, so reads never
/// overlap a write; the runtime exclusivity checks (about a tenth of a decision's instructions) would only repeat that.
final class PolicyStorage: @unchecked Sendable {
    /// Principal id text of the patient.
    let patient: String
    /// Every grant, in commit order.
    @exclusivity(unchecked) private(set) var grants: [GrantRule] = []
    /// `grants[i].id`, kept apart so a decision copies out an id without touching the rest of the grant.
    @exclusivity(unchecked) private(set) var grantIDs: [String] = []
    /// Grant id → position in `grants`.
    /// Grant id → position in `grants`, built once the policy holds more than `indexedAbove` grants; below that,
    /// scanning `grantIDs` is about as fast, and most patients have few grants (a start rebuilds one policy per
    /// patient, so an index per policy would cost a hash of every grant id).
    @exclusivity(unchecked) private(set) var positionByID: [String: Int]?
    static let indexedAbove = 32
    /// The first eight UTF-8 bytes of each grant id, so that scanning a small policy compares integers, and a
    /// string only where they match.
    @exclusivity(unchecked) private(set) var idPrefixes: [UInt64] = []
    /// Principal grantee → that principal's grants, PERMIT and DENY, in commit order.
    @exclusivity(unchecked) private(set) var grantsByGrantee: [String: [IndexedGrant]] = [:]
    /// The DENY grants to everyone, in commit order.
    @exclusivity(unchecked) private(set) var everyoneDenies: [IndexedGrant] = []
    /// Every emergency access, in commit order.
    @exclusivity(unchecked) private(set) var emergencyAccesses: [EmergencyAccessRule] = []
    /// Clinician → positions in `emergencyAccesses`, in commit order.
    @exclusivity(unchecked) private(set) var emergencyByClinician: [String: [Int]] = [:]

    init(patient: String) {
        self.patient = patient
    }

    /// A deep copy, for copy-on-write.
    func clone() -> PolicyStorage {
        let copy = PolicyStorage(patient: patient)
        copy.grants = grants
        copy.grantIDs = grantIDs
        copy.positionByID = positionByID
        copy.idPrefixes = idPrefixes
        copy.grantsByGrantee = grantsByGrantee
        copy.everyoneDenies = everyoneDenies
        copy.emergencyAccesses = emergencyAccesses
        copy.emergencyByClinician = emergencyByClinician
        return copy
    }

    /// Position of the grant with id `id` in `grants`.
    func position(of id: String) -> Int? {
        if let positionByID { return positionByID[id] }
        let prefix = Self.prefix(of: id)
        for position in idPrefixes.indices where idPrefixes[position] == prefix && grantIDs[position] == id {
            return position
        }
        return nil
    }

    /// The first eight UTF-8 bytes of `id`, big-endian, zero-padded.
    static func prefix(of id: String) -> UInt64 {
        var value: UInt64 = 0
        var count = 0
        for byte in id.utf8 {
            value = value << 8 | UInt64(byte)
            count += 1
            if count == 8 { return value }
        }
        return value << (8 * UInt64(8 - count))
    }

    func reserveCapacity(grants count: Int) {
        grants.reserveCapacity(count)
        grantIDs.reserveCapacity(count)
        idPrefixes.reserveCapacity(count)
        if count > Self.indexedAbove {
            var index = positionByID ?? Dictionary(uniqueKeysWithValues: grantIDs.enumerated().map { ($1, $0) })
            index.reserveCapacity(count)
            positionByID = index
        }
    }

    func add(_ grant: GrantRule) {
        let position = grants.count
        grants.append(grant)
        grantIDs.append(grant.id)
        idPrefixes.append(Self.prefix(of: grant.id))
        if positionByID != nil {
            positionByID![grant.id] = position
        } else if grants.count > Self.indexedAbove {
            positionByID = Dictionary(uniqueKeysWithValues: grantIDs.enumerated().map { ($1, $0) })
        }
        let entry = IndexedGrant(grant, position: position)
        switch (grant.grantee, grant.effect) {
        case (.principal(let grantee), _): grantsByGrantee[grantee, default: []].append(entry)
        case (.everyone, .deny): everyoneDenies.append(entry)
        case (.everyone, .permit): break  // never matches anyone
        }
    }

    func revoke(at position: Int, time: Int64) {
        grants[position].revokedAt = min(grants[position].revokedAt ?? time, time)
        let end = grants[position].activeEnd
        switch grants[position].grantee {
        case .principal(let grantee):
            if let index = grantsByGrantee[grantee]?.firstIndex(where: { $0.position == position }) {
                grantsByGrantee[grantee]![index].activeEnd = end
            }
        case .everyone:
            if let index = everyoneDenies.firstIndex(where: { $0.position == position }) {
                everyoneDenies[index].activeEnd = end
            }
        }
    }

    func add(_ access: EmergencyAccessRule) {
        emergencyByClinician[access.clinician, default: []].append(emergencyAccesses.count)
        emergencyAccesses.append(access)
    }
}

/// A grant reduced to what matching needs: bit sets and the active window, no strings.
struct IndexedGrant: Sendable {
    /// Position of the grant in `PatientPolicy.grants` (commit order).
    var position: Int
    /// `ActionSet.rawValue`.
    var actions: UInt8
    /// `PurposeSet.rawValue`.
    var purposes: UInt8
    /// Whether the grant is a DENY.
    var isDeny: Bool
    /// Whether the grant has a record date range.
    var isDated: Bool
    /// `CategorySet.rawValue`.
    var categories: UInt64
    /// First active instant (inclusive).
    var activeFrom: Int64
    /// First inactive instant after activeFrom: min(activeUntil, revokedAt), .max when neither.
    var activeEnd: Int64

    init(_ grant: GrantRule, position: Int) {
        self.position = position
        self.actions = grant.actions.rawValue
        self.purposes = grant.purposes.rawValue
        self.isDeny = grant.effect == .deny
        self.isDated = grant.recordDates != nil
        self.categories = grant.categories.rawValue
        self.activeFrom = grant.activeFrom
        self.activeEnd = grant.activeEnd
    }
}
