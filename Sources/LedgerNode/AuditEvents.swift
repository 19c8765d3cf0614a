import AccessPolicy
import HealthLedgerProtos
import LedgerDomain
import RPCCore

/// Builds the audit events the node logs (audit.proto); sequence, block height and entry index are filled in by
/// the block they land in.
enum AuditEvents {
    /// A Query decision.
    static func query(
        caller: String, patient: String, asked: CategorySet, purpose: Purpose, decision: Decision,
        released: [RecordEntry], now: Int64
    ) -> Healthledger_V1_AuditEvent {
        var event = base(actor: caller, patient: patient, action: .read, now: now)
        event.categories = asked.categories.map(PolicyConversion.wire)
        event.purpose = PolicyConversion.wire(purpose)
        event.outcome = decision.isAllowed ? .allowed : .denied
        event.basis = PolicyConversion.wire(decision.basis)
        event.reason = decision.reason
        event.decidingGrantIds = decision.decidingGrantIDs
        event.releasedRecords = released.map { record in
            var released = Healthledger_V1_ReleasedRecord()
            released.recordId = record.id
            released.contentSha256 = record.contentSha256
            released.category = PolicyConversion.wire(record.category)
            return released
        }
        if decision.basis == .emergencyAccess {
            event.emergency = true
            event.emergencyAccessId = decision.emergencyAccessID
        }
        return event
    }

    /// One part of a patient's FHIR export: a READ by the patient of every category for PATIENT_REQUEST, releasing
    /// `released` (an event lists at most 10,000 records, so a larger export is logged as several parts).
    static func export(
        patient: String, decision: Decision, released: ArraySlice<RecordEntry>, part: Int, parts: Int, total: Int,
        now: Int64
    ) -> Healthledger_V1_AuditEvent {
        var event = query(
            caller: patient, patient: patient, asked: .every, purpose: .patientRequest, decision: decision,
            released: Array(released), now: now)
        let range =
            released.isEmpty ? "no records" : "records \(released.startIndex + 1) to \(released.endIndex) of \(total)"
        let which = parts == 1 ? "" : ", part \(part) of \(parts)"
        event.reason = "FHIR export by the patient\(which): \(range)"
        return event
    }

    /// A refused FHIR export: only the patient may export their data.
    static func exportRefused(caller: String, patient: String, now: Int64) -> Healthledger_V1_AuditEvent {
        var event = base(actor: caller, patient: patient, action: .read, now: now)
        event.categories = CategorySet.every.categories.map(PolicyConversion.wire)
        event.purpose = .patientRequest
        event.outcome = .denied
        event.basis = .noPermit
        event.reason = "FHIR export refused: only the patient may export their own data"
        return event
    }

    /// A denied query that named records the caller may not read (NOT_FOUND).
    static func queryRefused(
        caller: String, patient: String, asked: CategorySet, purpose: Purpose, reason: String, now: Int64
    ) -> Healthledger_V1_AuditEvent {
        var event = base(actor: caller, patient: patient, action: .read, now: now)
        event.categories = asked.categories.map(PolicyConversion.wire)
        event.purpose = PolicyConversion.wire(purpose)
        event.outcome = .denied
        event.basis = .noPermit
        event.reason = reason
        return event
    }

    /// The opening of an emergency access: a flagged READ event pushed to the patient.
    static func emergencyOpened(
        _ transaction: ValidatedTransaction, expiresAt: Int64, rules: LedgerRules, now: Int64
    ) -> Healthledger_V1_AuditEvent? {
        guard case .emergencyAccess(let operation) = transaction.operation,
            var event = emergencyAttempt(transaction, rules: rules, now: now)
        else { return nil }
        event.outcome = .allowed
        event.basis = .emergencyAccess
        event.reason = "emergency access opened until \(expiresAt): \(operation.reason)"
        event.emergencyAccessId = transaction.id
        return event
    }

    /// A refused emergency access attempt (not registered, or refused by the patient).
    static func emergencyRefused(
        _ transaction: ValidatedTransaction, error: RPCError, rules: LedgerRules, now: Int64
    ) -> Healthledger_V1_AuditEvent? {
        guard var event = emergencyAttempt(transaction, rules: rules, now: now) else { return nil }
        event.outcome = .denied
        event.basis = error.message.contains("DENY grant") ? .denyGrant : .noPermit
        event.reason = "emergency access refused: \(error.message)"
        return event
    }

    /// What every emergency access event says: who, whose data, which categories (ALL expanded), flagged.
    private static func emergencyAttempt(_ transaction: ValidatedTransaction, rules: LedgerRules, now: Int64)
        -> Healthledger_V1_AuditEvent?
    {
        guard case .emergencyAccess(let operation) = transaction.operation else { return nil }
        var categories = operation.categories
        if operation.namesAll { categories.formUnion(rules.emergencyCategories) }
        var event = base(actor: transaction.author.text, patient: operation.patient.text, action: .read, now: now)
        event.categories = categories.categories.map(PolicyConversion.wire)
        event.purpose = .emergency
        event.emergency = true
        return event
    }

    /// A refused record write.
    static func writeRefused(_ transaction: ValidatedTransaction, error: RPCError, now: Int64)
        -> Healthledger_V1_AuditEvent?
    {
        guard case .writeRecord(let operation) = transaction.operation else { return nil }
        var event = base(actor: transaction.author.text, patient: operation.patient.text, action: .write, now: now)
        event.categories = [PolicyConversion.wire(operation.category)]
        event.outcome = .denied
        event.basis = .noPermit
        event.reason = error.message
        return event
    }

    /// A refused Grant or Revoke on the patient's data (the author is neither the patient nor a delegate acting
    /// within the delegation): the patient sees who tried to change their policy. Logged as a denied DELEGATE, the
    /// action that would have allowed it, with the categories the grant covers.
    static func policyChangeRefused(
        _ transaction: ValidatedTransaction, patient: String, categories: CategorySet, error: RPCError, now: Int64
    ) -> Healthledger_V1_AuditEvent {
        var event = base(actor: transaction.author.text, patient: patient, action: .delegate, now: now)
        event.categories = categories.categories.map(PolicyConversion.wire)
        event.outcome = .denied
        event.basis = .noPermit
        event.reason = error.message
        return event
    }

    /// A patient's erasure of record content: logged in the patient's trail as a WRITE at their own request, with
    /// the categories of the records whose content was destroyed (their metadata and hashes stay on the chain).
    static func erasure(_ transaction: ValidatedTransaction, admission: Admission, now: Int64)
        -> Healthledger_V1_AuditEvent?
    {
        guard case .erasureRequest(let request)? = transaction.body.operation else { return nil }
        let patient = transaction.author.text
        var event = base(actor: patient, patient: patient, action: .write, now: now)
        event.categories = Set(admission.erasedRecords.map(\.category)).sorted { $0.rawValue < $1.rawValue }
            .map(PolicyConversion.wire)
        event.purpose = .patientRequest
        event.outcome = .allowed
        event.basis = .patientSelf
        let count = admission.erasedRecords.count
        let what =
            admission.erasesAllOf != nil
            ? "content of every record destroyed with the data key (\(count) records)"
            : "content of \(count) record\(count == 1 ? "" : "s") destroyed"
        var reason = "erasure: \(what); the chain keeps their hashes"
        if !request.reason.isEmpty {
            // The event's reason is at most 1,024 bytes: the patient's own words are cut to fit, on a character.
            var given = Substring(request.reason)
            while reason.utf8.count + given.utf8.count + 10 > 1_024 { given = given.dropLast() }
            reason += " (reason: \(given))"
        }
        event.reason = reason
        return event
    }

    /// A transaction signed with a key its author retired: logged as a denial of the action it attempted, in the
    /// trail of the patient it names (the author's own for a Revoke, RotateKey or Erase), since a retired key still
    /// in use may be a stolen one. Nil for any other refusal.
    static func retiredKeyUse(_ transaction: ValidatedTransaction, error: RPCError, now: Int64)
        -> Healthledger_V1_AuditEvent?
    {
        guard RetiredKeyRefusal.matches(error) else { return nil }
        let author = transaction.author.text
        let (patient, action, categories): (String, Action, CategorySet) =
            switch transaction.operation {
            case .grant(let operation): (operation.patient.text, .delegate, operation.categories)
            case .writeRecord(let operation): (operation.patient.text, .write, CategorySet([operation.category]))
            case .emergencyAccess(let operation):
                (operation.patient.text, .read, operation.namesAll ? .every : operation.categories)
            case .revoke, .rotateKey: (author, .delegate, [])
            case .erasure: (author, .write, [])
            }
        var event = base(actor: author, patient: patient, action: action, now: now)
        event.categories = categories.categories.map(PolicyConversion.wire)
        event.outcome = .denied
        event.basis = .noPermit
        event.reason = "signed with a retired key: \(error.message)"
        return event
    }

    /// A session asked for with a key the principal retired (the signature proves the caller holds it): logged in
    /// the principal's own trail as a denied READ, since sessions are for reading.
    static func retiredKeySession(principal: String, keyID: String, now: Int64) -> Healthledger_V1_AuditEvent {
        var event = base(actor: principal, patient: principal, action: .read, now: now)
        event.outcome = .denied
        event.basis = .noPermit
        event.reason = "session refused: key \(keyID) was retired by a key rotation"
        return event
    }

    /// A listing of the patient's grants by an AUDIT_READ holder (who sees them only through that grant).
    static func grantsListed(caller: String, patient: String, decision: Decision, now: Int64)
        -> Healthledger_V1_AuditEvent
    {
        var event = auditRead(caller: caller, patient: patient, decision: decision, now: now)
        event.reason = "grants listed"
        return event
    }

    /// A read of the patient's audit trail by someone other than the patient.
    static func auditRead(caller: String, patient: String, decision: Decision, now: Int64) -> Healthledger_V1_AuditEvent {
        var event = base(actor: caller, patient: patient, action: .auditRead, now: now)
        event.outcome = .allowed
        event.basis = PolicyConversion.wire(decision.basis)
        event.decidingGrantIds = decision.decidingGrantIDs
        event.reason = "audit trail read"
        return event
    }

    /// A research feed's first release of the patient's (pseudonymised) events to a registered researcher.
    static func researchRead(caller: String, patient: String, decision: Decision, now: Int64)
        -> Healthledger_V1_AuditEvent
    {
        var event = base(actor: caller, patient: patient, action: .auditRead, now: now)
        event.purpose = .research
        event.outcome = .allowed
        event.basis = PolicyConversion.wire(decision.basis)
        event.decidingGrantIds = decision.decidingGrantIDs
        event.reason = "research feed read (pseudonymised)"
        return event
    }

    private static func base(actor: String, patient: String, action: Action, now: Int64) -> Healthledger_V1_AuditEvent {
        var event = Healthledger_V1_AuditEvent()
        event.timeUnixMs = now
        event.actor = actor
        event.patient = patient
        event.action = PolicyConversion.wire(action)
        return event
    }
}
