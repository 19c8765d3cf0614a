import AccessPolicy
import HealthLedgerProtos
import LedgerCrypto
import ProtobufWire
import RPCCore

/// What admitting a transaction did, for its RPC's response.
public struct Admission: Sendable {
    /// Position of the transaction's entry in the log.
    public var entryIndex: UInt64
    /// The entry's bytes (the salted LedgerEntry), which a receipt carries for the client to check its proof.
    public var ledgerEntry: [UInt8]
    /// For emergency access: when it closes.
    public var emergencyExpiresAt: Int64?
    /// For erasure: the records whose content is to be destroyed.
    public var erasedRecords: [RecordEntry] = []
    /// For erasure of every record: the patient whose data key is to be destroyed.
    public var erasesAllOf: PrincipalID?
}

/// The next block while it is being filled: transactions admitted in order against the committed state plus
/// what earlier entries of this block changed. Nothing here is visible to readers until the block is durable and
/// `LedgerState.commit(_:summary:)` merges it; a block that fails to persist is simply dropped.
public struct BlockDraft: Sendable {
    /// Whether transactions arrive from clients (every check) or from the node's own block log on restart
    /// (checks that depend on node configuration are skipped: the block was valid when committed).
    public enum Mode: Sendable { case live, replay }

    public let height: UInt64
    /// The block's time, which every time check of its transactions uses.
    public let time: Int64
    public let firstEntryIndex: UInt64
    public let firstAuditSequence: UInt64
    let mode: Mode
    let rules: LedgerRules

    var principals: [PrincipalID: PrincipalState] = [:]
    var keys: [String: KeyState] = [:]
    var policies: [String: PatientPolicy] = [:]
    var grants: [String: GrantDetail] = [:]
    var newGrantIDs: [String] = []
    var records: [String: RecordEntry] = [:]
    var newRecordIDs: [String] = []
    var emergencyAccesses: [String: EmergencyAccessRule] = [:]
    var transactions: Set<TransactionKey> = []
    /// The block's entries (LedgerEntry bytes), in log order.
    public internal(set) var entries: [[UInt8]] = []
    /// The block's audit events, in sequence order.
    public internal(set) var auditEvents: [AuditEntry] = []

    /// An empty draft for the block after `state`'s head, built at `time`.
    public init(after state: LedgerState, time: Int64, rules: LedgerRules, mode: Mode = .live) {
        height = state.height + 1
        self.time = max(time, state.lastBlockTime)
        firstEntryIndex = state.treeSize
        firstAuditSequence = state.auditSequence + 1
        self.mode = mode
        self.rules = rules
    }

    /// Number of entries so far.
    public var entryCount: Int { entries.count }

    /// The log index the next entry gets.
    public var nextEntryIndex: UInt64 { firstEntryIndex + UInt64(entries.count) }

    // MARK: Views through the draft onto the committed state

    /// The principal as this block leaves it.
    public func principal(_ id: PrincipalID, in state: LedgerState) -> PrincipalState? {
        principals[id] ?? state.principals[id]
    }

    /// The key as this block leaves it.
    public func keyState(_ keyID: String, in state: LedgerState) -> KeyState? {
        keys[keyID] ?? state.keys[keyID]
    }

    /// The patient's policy as this block leaves it.
    public func policy(of patient: String, in state: LedgerState) -> PatientPolicy? {
        policies[patient] ?? state.policies[patient]
    }

    /// The patient's policy moved out of the draft (so changing it copies nothing), or a copy of the committed
    /// one (copied once per block and patient), or a new one. The caller puts it back.
    private mutating func takePolicy(of patient: String, in state: LedgerState) -> PatientPolicy {
        policies.removeValue(forKey: patient) ?? state.policies[patient] ?? PatientPolicy(patient: patient)
    }

    func grant(_ id: String, in state: LedgerState) -> GrantDetail? {
        grants[id] ?? state.grants[id]
    }

    func record(_ id: String, in state: LedgerState) -> RecordEntry? {
        records[id] ?? state.records[id]
    }

    // MARK: Admission

    /// Checks `transaction` against the ledger as this block leaves it and, when it passes, adds it as the next
    /// entry (salted with `salt`, 16 bytes). Throws the RPC error to answer, having changed nothing.
    /// The signature must already have been verified (live) or be covered by the node's block signature (replay).
    public mutating func admit(
        _ transaction: ValidatedTransaction, salt: [UInt8], on state: LedgerState
    ) throws(RPCError) -> Admission {
        let body = transaction.body
        if body.chainId != state.chainID {
            throw RPCError(
                .failedPrecondition, "transaction.body.chain_id: this node's chain is \"\(state.chainID)\"")
        }
        let transactionKey = TransactionKey(digest: transaction.digest)
        if state.isCommitted(transactionKey) || transactions.contains(transactionKey) {
            throw RPCError(.alreadyExists, "transaction \(transaction.id) is already committed")
        }
        let author = transaction.author
        var principal = try authorState(of: transaction, in: state)
        if body.sequence != principal.nextSequence {
            throw RPCError(
                .failedPrecondition,
                "transaction.body.sequence: expected \(principal.nextSequence) for \(author), got \(body.sequence)")
        }
        if mode == .live && body.createdAtUnixMs > time + rules.maxClockSkewMs {
            throw RPCError(
                .failedPrecondition,
                "transaction.body.created_at_unix_ms: more than \(rules.maxClockSkewMs / 1000) s ahead of the node's clock (\(time))")
        }
        if let expiresAt = body.expiresAtUnixMs, expiresAt <= time {
            throw RPCError(.failedPrecondition, "transaction.body.expires_at_unix_ms: passed at \(expiresAt), now \(time)")
        }

        let entryIndex = nextEntryIndex
        let position = EntryPosition(blockHeight: height, entryIndex: entryIndex)
        var entry = Healthledger_V1_LedgerEntry()
        entry.salt = salt
        entry.entry = .transaction(transaction.signed)
        let entryBytes = entry.serializedBytes().copiedToExactCapacity()
        var admission = Admission(entryIndex: entryIndex, ledgerEntry: entryBytes)

        // Operation checks first (they throw); changes to the draft only after every check passed.
        switch transaction.operation {
        case .grant(let operation):
            let rule = try grantRule(for: operation, id: transaction.id, author: author, in: state)
            guard case .grant(let wireGrant)? = body.operation else { preconditionFailure("operation mismatch") }
            var policy = takePolicy(of: operation.patient.text, in: state)
            _ = policy.add(rule)
            policies[operation.patient.text] = policy
            grants[transaction.id] = GrantDetail(
                id: transaction.id, patient: wireGrant.patient, grantee: wireGrant.grantee,
                delegationGrantID: wireGrant.delegationGrantId, author: author, createdAt: body.createdAtUnixMs,
                committedAt: time, position: position)
            newGrantIDs.append(transaction.id)

        case .revoke(let grantID, let delegationGrantID):
            var revoked = try revocationTarget(
                grantID: grantID, delegationGrantID: delegationGrantID, author: author, in: state)
            let patient = revoked.patient
            var policy = takePolicy(of: patient, in: state)
            _ = policy.revoke(grantID: grantID, at: time)
            revoked.revokeTransactionID = transaction.id
            revoked.revokedAt = time
            grants[grantID] = revoked
            // Grants a delegate made end with the delegation they were made under.
            for dependent in policy.grants where dependent.revokedAt == nil {
                guard var detail = grant(dependent.id, in: state), detail.delegationGrantID == grantID else { continue }
                _ = policy.revoke(grantID: dependent.id, at: time)
                detail.revokeTransactionID = transaction.id
                detail.revokedAt = time
                grants[dependent.id] = detail
            }
            policies[patient] = policy

        case .writeRecord(let operation):
            try authorizeWrite(operation, author: author, in: state)
            guard case .writeRecord(let metadata)? = body.operation else { preconditionFailure("operation mismatch") }
            records[transaction.id] = RecordEntry(
                id: transaction.id, patient: operation.patient.text, category: operation.category, author: author,
                createdAt: body.createdAtUnixMs, effectiveAt: metadata.effectiveAtUnixMs,
                contentSha256: metadata.contentSha256, sizeBytes: metadata.sizeBytes, position: position,
                contentErased: false)
            newRecordIDs.append(transaction.id)

        case .rotateKey(let newKey, let proof):
            if keyState(newKey.keyID, in: state) != nil {
                throw RPCError(
                    .failedPrecondition, "transaction.body.rotate_key.new_public_key: this key was used before")
            }
            if mode == .live {
                let message = TransactionValidator.keyPossessionMessage(chainID: state.chainID, author: author)
                guard newKey.isValidSignature(proof, for: message) else {
                    throw RPCError(
                        .unauthenticated, "transaction.body.rotate_key.new_key_proof: does not verify with the new key")
                }
            }
            var retired = keyState(principal.currentKeyID, in: state)!
            retired.retiredAtHeight = height
            keys[retired.key.keyID] = retired
            keys[newKey.keyID] = KeyState(key: newKey, owner: author, addedAtHeight: height, retiredAtHeight: nil)
            principal.keyIDs.append(newKey.keyID)
            principal.currentKeyID = newKey.keyID

        case .erasure(let recordIDs):
            if let recordIDs {
                var erased: [RecordEntry] = []
                for (index, id) in recordIDs.enumerated() {
                    guard var record = record(id, in: state), record.patient == author.text else {
                        throw RPCError(
                            .notFound,
                            "transaction.body.erasure_request.records.record_ids[\(index)]: \(id) is not a record of the author")
                    }
                    if !record.contentErased {
                        record.contentErased = true
                        erased.append(record)
                    }
                }
                for record in erased { records[record.id] = record }
                admission.erasedRecords = erased
            } else {
                var erased: [RecordEntry] = []
                let committed = state.records.rows(of: author.text).map { state.records.row(at: Int($0)).id.hex }
                for id in committed + newRecordIDs {
                    guard var record = record(id, in: state), record.patient == author.text,
                        !record.contentErased
                    else { continue }
                    record.contentErased = true
                    records[id] = record
                    erased.append(record)
                }
                admission.erasedRecords = erased
                admission.erasesAllOf = author
            }

        case .emergencyAccess(let operation):
            let rule = try emergencyAccessRule(for: operation, id: transaction.id, author: author, in: state)
            var policy = takePolicy(of: operation.patient.text, in: state)
            _ = policy.add(rule)
            policies[operation.patient.text] = policy
            emergencyAccesses[transaction.id] = rule
            admission.emergencyExpiresAt = rule.expiresAt
        }

        if keyState(transaction.signed.keyId, in: state) == nil, let firstKey = transaction.attachedKey {
            // The author's first transaction brings the key its principal id derives from.
            keys[firstKey.keyID] = KeyState(key: firstKey, owner: author, addedAtHeight: height, retiredAtHeight: nil)
        }
        principal.nextSequence += 1
        principals[author] = principal
        transactions.insert(transactionKey)
        entries.append(entryBytes)
        return admission
    }

    /// Adds `event` as the next entry: its sequence, block height and entry index are assigned here, before the
    /// block is hashed. Returns the committed form.
    @discardableResult
    public mutating func appendAudit(_ event: Healthledger_V1_AuditEvent, salt: [UInt8]) -> AuditEntry {
        var event = event
        event.sequence = firstAuditSequence + UInt64(auditEvents.count)
        event.blockHeight = height
        event.entryIndex = nextEntryIndex
        var entry = Healthledger_V1_LedgerEntry()
        entry.salt = salt
        entry.entry = .auditEvent(event)
        let audit = AuditEntry(event: event, ledgerEntry: entry.serializedBytes().copiedToExactCapacity())
        entries.append(audit.ledgerEntry)
        auditEvents.append(audit)
        return audit
    }

    // MARK: Checks

    private func authorState(of transaction: ValidatedTransaction, in state: LedgerState) throws(RPCError)
        -> PrincipalState
    {
        let author = transaction.author
        let keyID = transaction.signed.keyId
        if let key = keyState(keyID, in: state) {
            guard key.owner == author else {
                throw RPCError(.unauthenticated, "transaction.key_id: key \(keyID) is not a key of \(author)")
            }
            if let retiredAt = key.retiredAtHeight { throw RetiredKeyRefusal.error(keyID: keyID, retiredAt: retiredAt) }
            guard let principal = principal(author, in: state) else {
                preconditionFailure("a known key without its principal")
            }
            return principal
        }
        if principal(author, in: state) != nil {
            throw RPCError(.unauthenticated, "transaction.key_id: key \(keyID) is not a key of \(author)")
        }
        guard let key = transaction.attachedKey else {
            throw InputValidation.invalid("transaction.public_key", "required on the author's first transaction")
        }
        guard PrincipalID(firstKey: key) == author else {
            throw RPCError(
                .unauthenticated, "transaction.public_key: does not derive the author's principal id \(author)")
        }
        return PrincipalState(id: author, keyIDs: [key.keyID], currentKeyID: key.keyID, nextSequence: 1)
    }

    /// The DELEGATE grant `id` of `patient` that `author` acts under, active now.
    private func delegation(
        _ id: String, author: PrincipalID, patient: String, field: String, in state: LedgerState
    ) throws(RPCError) -> GrantRule {
        let policy = self.policy(of: patient, in: state)
        guard let policy, policy.grant(id: id) != nil else {
            throw RPCError(.notFound, "\(field): delegation grant \(id) not found for this patient")
        }
        guard let rule = PolicyEngine.activeDelegation(
            caller: author.text, patient: patient, grantID: id, policy: policy, now: time)
        else {
            throw RPCError(
                .permissionDenied, "\(field): grant \(id) is not an active DELEGATE grant to \(author)")
        }
        return rule
    }

    private func grantRule(
        for operation: GrantOperation, id: String, author: PrincipalID, in state: LedgerState
    ) throws(RPCError) -> GrantRule {
        let patient = operation.patient.text
        var activeUntil = operation.validUntil
        if author == operation.patient {
            if operation.delegationGrantID != nil {
                throw InputValidation.invalid(
                    "transaction.body.grant.delegation_grant_id", "must be absent when the patient signs")
            }
        } else {
            guard let delegationID = operation.delegationGrantID else {
                throw RPCError(
                    .permissionDenied,
                    "only the patient or an active delegate may grant on \(patient)'s data (delegation_grant_id is absent)")
            }
            let delegation = try delegation(
                delegationID, author: author, patient: patient, field: "transaction.body.grant.delegation_grant_id",
                in: state)
            if operation.actions.contains(.delegate) {
                throw RPCError(.permissionDenied, "a delegate may not grant ACTION_DELEGATE onward")
            }
            if !operation.categories.isSubset(of: delegation.categories) {
                throw RPCError(.permissionDenied, "transaction.body.grant.categories: outside the delegation's categories")
            }
            if !operation.purposes.isSubset(of: delegation.purposes) {
                throw RPCError(.permissionDenied, "transaction.body.grant.purposes: outside the delegation's purposes")
            }
            // A delegate's grant never outlives the delegation; revoking the delegation ends it too.
            if let end = delegation.activeUntil { activeUntil = min(activeUntil ?? end, end) }
        }
        if case .principal(let grantee) = operation.grantee, grantee == author.text, operation.effect == .permit,
            author != operation.patient
        {
            throw RPCError(.permissionDenied, "a delegate may not grant access to themself")
        }
        return GrantRule(
            id: id, patient: patient, grantee: operation.grantee, actions: operation.actions,
            categories: operation.categories, purposes: operation.purposes,
            activeFrom: max(operation.validFrom, time), activeUntil: activeUntil, recordDates: operation.recordDates,
            effect: operation.effect)
    }

    private func revocationTarget(
        grantID: String, delegationGrantID: String?, author: PrincipalID, in state: LedgerState
    ) throws(RPCError) -> GrantDetail {
        guard let target = grant(grantID, in: state) else {
            throw RPCError(.notFound, "transaction.body.revoke.grant_id: grant \(grantID) not found")
        }
        let patient = target.patient
        if author.text == patient {
            if delegationGrantID != nil {
                throw InputValidation.invalid(
                    "transaction.body.revoke.delegation_grant_id", "must be absent when the patient signs")
            }
        } else {
            guard let delegationGrantID else {
                throw RPCError(
                    .permissionDenied,
                    "only the patient or an active delegate may revoke grants on \(patient)'s data")
            }
            let delegation = try delegation(
                delegationGrantID, author: author, patient: patient,
                field: "transaction.body.revoke.delegation_grant_id", in: state)
            guard let rule = policy(of: patient, in: state)?.grant(id: grantID),
                rule.categories.isSubset(of: delegation.categories), !rule.actions.contains(.delegate)
            else {
                throw RPCError(.permissionDenied, "grant \(grantID) lies outside the delegation")
            }
        }
        if target.revokedAt != nil {
            throw RPCError(.failedPrecondition, "transaction.body.revoke.grant_id: grant \(grantID) is already revoked")
        }
        return target
    }

    private func authorizeWrite(_ operation: RecordOperation, author: PrincipalID, in state: LedgerState)
        throws(RPCError)
    {
        if let amends = operation.amendsRecordID {
            guard let original = record(amends, in: state), original.patient == operation.patient.text,
                original.category == operation.category
            else {
                throw RPCError(
                    .notFound,
                    "transaction.body.write_record.amends_record_id: no record \(amends) of this patient and category")
            }
        }
        if author == operation.patient { return }
        let policy = self.policy(of: operation.patient.text, in: state)
        for purpose in Purpose.allCases {
            let request = AccessRequest(
                caller: author.text, patient: operation.patient.text, action: .write,
                categories: CategorySet([operation.category]), asksAllCategories: false, purpose: purpose, now: time)
            let decision = PolicyEngine.decide(request, policy: policy)
            if decision.isAllowed && decision.covers(category: operation.category, effectiveAt: operation.effectiveAt) {
                return
            }
        }
        if mode == .replay {
            // Blocks committed while an open emergency access also admitted writes (break-glass now opens reading
            // only) were decided under that rule, and must still replay.
            let request = AccessRequest(
                caller: author.text, patient: operation.patient.text, action: .read,
                categories: CategorySet([operation.category]), asksAllCategories: false, purpose: .emergency, now: time)
            let decision = PolicyEngine.decide(request, policy: policy)
            if decision.isAllowed && decision.basis == .emergencyAccess { return }
        }
        throw RPCError(
            .permissionDenied, "no active WRITE permit of the patient for \(operation.category.protoName)")
    }

    private func emergencyAccessRule(
        for operation: EmergencyAccessOperation, id: String, author: PrincipalID, in state: LedgerState
    ) throws(RPCError) -> EmergencyAccessRule {
        let field = "transaction.body.emergency_access"
        if operation.patient == author {
            throw InputValidation.invalid("\(field).patient", "must differ from the author")
        }
        var categories = operation.categories
        if mode == .live {
            if !rules.emergencyClinicians.contains(author.text) {
                throw RPCError(.permissionDenied, "\(author) is not registered for emergency access on this node")
            }
            if operation.durationMs > rules.maxEmergencyDurationMs {
                throw InputValidation.invalid(
                    "\(field).duration_ms", "at most \(rules.maxEmergencyDurationMs) on this node")
            }
            if let outside = categories.subtracting(rules.emergencyCategories).categories.first {
                throw InputValidation.invalid(
                    "\(field).categories", "\(outside.protoName) is not an emergency category on this node")
            }
        }
        if operation.namesAll { categories.formUnion(rules.emergencyCategories) }
        // The patient's DENY grants for PURPOSE_EMERGENCY refuse the opening when, together, they cover every
        // category asked for (undated ones only: a dated DENY excludes records, not categories). A DENY of some
        // of them lets the rest open; deny still overrides for those at every read.
        let policy = self.policy(of: operation.patient.text, in: state)
        let refusals = PolicyEngine.refusesEmergencyAccess(
            clinician: author.text, patient: operation.patient.text, policy: policy, now: time)
        var refused = CategorySet()
        for id in refusals {
            if let rule = policy?.grant(id: id), rule.recordDates == nil { refused.formUnion(rule.categories) }
        }
        if !refusals.isEmpty && categories.isSubset(of: refused) {
            throw RPCError(.permissionDenied, "the patient refused emergency access (DENY grant \(refusals[0]))")
        }
        return EmergencyAccessRule(
            id: id, clinician: author.text, patient: operation.patient.text, categories: categories, openedAt: time,
            expiresAt: time + operation.durationMs)
    }
}

extension [UInt8] {
    /// The same bytes in a buffer of exactly their size. The state keeps every committed entry's bytes for the
    /// node's lifetime, and an encoder's output keeps the capacity it grew to (about 40% more for an audit event).
    fileprivate func copiedToExactCapacity() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: self)
        }
    }
}

/// The refusal of a transaction signed with a key its author retired by a rotation: FAILED_PRECONDITION. The
/// signature verified with that key, so whoever sent it holds the key: the node audits the attempt, as a retired
/// key still in use may be a stolen one.
public enum RetiredKeyRefusal {
    private static let field = "transaction.key_id: key "
    private static let retired = " was retired by a rotation at block "

    /// The error for `keyID`, retired by the rotation in block `retiredAt`.
    static func error(keyID: String, retiredAt: UInt64) -> RPCError {
        RPCError(.failedPrecondition, "\(field)\(keyID)\(retired)\(retiredAt)")
    }

    /// Whether `error` is this refusal.
    public static func matches(_ error: RPCError) -> Bool {
        error.code == .failedPrecondition && error.message.hasPrefix(field) && error.message.contains(retired)
    }
}
