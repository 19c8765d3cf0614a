import HealthLedgerProtos

// Reads of single audit events for AuditStream's replay, which touches hundreds of thousands of them: each returns
// only what the caller needs, so the event's other fields are not copied (and retained) on the way.
extension LedgerState {
    /// The exact ledger entry bytes of the committed audit event with sequence `sequence` (1 through
    /// `auditSequence`).
    public func auditLedgerEntry(sequence: UInt64) -> [UInt8] {
        auditEvents[Int(sequence) - 1].ledgerEntry
    }

    /// Whether the committed audit event with sequence `sequence` satisfies `predicate`.
    public func auditEvent(sequence: UInt64, satisfies predicate: (Healthledger_V1_AuditEvent) -> Bool) -> Bool {
        predicate(auditEvents[Int(sequence) - 1].event)
    }

    /// The log index of the committed audit event with sequence `sequence`.
    public func auditEntryIndex(sequence: UInt64) -> UInt64 {
        auditEvents[Int(sequence) - 1].event.entryIndex
    }
}
