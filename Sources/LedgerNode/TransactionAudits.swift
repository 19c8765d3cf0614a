import HealthLedgerProtos
import LedgerDomain
import RPCCore

/// The audit events committing a transaction adds, chosen by what the transaction does. Being a function of the
/// transaction, the time its RPC arrived and the committed state, it gives the same events on whichever node admits
/// the transaction: the node that received it, or a cluster's leader admitting it for another node.
enum TransactionAudits {
    /// The event logged in the same block as a committed transaction: an erasure, an emergency access opened.
    static func onSuccess(
        _ transaction: ValidatedTransaction, admission: Admission, rules: LedgerRules, receivedAt now: Int64
    ) -> Healthledger_V1_AuditEvent? {
        switch transaction.operation {
        case .erasure: AuditEvents.erasure(transaction, admission: admission, now: now)
        case .emergencyAccess:
            AuditEvents.emergencyOpened(
                transaction, expiresAt: admission.emergencyExpiresAt ?? now, rules: rules, now: now)
        default: nil
        }
    }

    /// The event logged for a refused transaction: a refusal by policy of a policy change, a write or an emergency
    /// access, or, whatever the transaction, an attempt with a retired key. `state` is the committed state it was
    /// refused against (a revoked grant's patient and categories come from there; they never change).
    static func onDenial(
        _ transaction: ValidatedTransaction, error: RPCError, rules: LedgerRules, receivedAt now: Int64,
        in state: borrowing LedgerState
    ) -> Healthledger_V1_AuditEvent? {
        var specific: Healthledger_V1_AuditEvent?
        if error.code == .permissionDenied {
            switch transaction.operation {
            case .grant(let operation):
                specific = AuditEvents.policyChangeRefused(
                    transaction, patient: operation.patient.text, categories: operation.categories, error: error,
                    now: now)
            case .revoke(let grantID, _):
                if let detail = state.grants[grantID] {
                    let categories = state.policies[detail.patient]?.grant(id: grantID)?.categories ?? []
                    specific = AuditEvents.policyChangeRefused(
                        transaction, patient: detail.patient, categories: categories, error: error, now: now)
                }
            case .writeRecord: specific = AuditEvents.writeRefused(transaction, error: error, now: now)
            case .emergencyAccess:
                specific = AuditEvents.emergencyRefused(transaction, error: error, rules: rules, now: now)
            case .rotateKey, .erasure: break
            }
        }
        return specific ?? AuditEvents.retiredKeyUse(transaction, error: error, now: now)
    }
}
