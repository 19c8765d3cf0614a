extension LedgerState {
    /// The log index of the committed audit event with sequence `sequence` (1 through `auditSequence`).
    public func auditEntryIndex(sequence: UInt64) -> UInt64 {
        auditEntryIndexes[Int(sequence) - 1]
    }
}
