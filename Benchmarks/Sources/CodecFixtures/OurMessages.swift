import HealthLedgerProtos

/// Builds the benchmark messages as HealthLedger's own generated types (module HealthLedgerProtos).
enum OurMessages {
    /// An allowed emergency read of three categories releasing two records, with every field set.
    static func auditEvent() -> HealthLedgerProtos.Healthledger_V1_AuditEvent {
        var event = HealthLedgerProtos.Healthledger_V1_AuditEvent()
        event.sequence = FixtureValues.auditSequence
        event.timeUnixMs = FixtureValues.auditTimeUnixMs
        event.actor = FixtureValues.actor
        event.patient = FixtureValues.patient
        event.action = .read
        event.categories = [.labs, .medications, .imaging]
        event.purpose = .treatment
        event.releasedRecords = [
            releasedRecord(FixtureValues.firstRecordId, FixtureValues.firstContentHash, .labs),
            releasedRecord(FixtureValues.secondRecordId, FixtureValues.secondContentHash, .imaging),
        ]
        event.outcome = .allowed
        event.basis = .emergencyAccess
        event.reason = FixtureValues.reason
        event.decidingGrantIds = [FixtureValues.decidingGrantId]
        event.emergency = true
        event.emergencyAccessId = FixtureValues.emergencyAccessId
        event.blockHeight = FixtureValues.blockHeight
        event.entryIndex = FixtureValues.entryIndex
        return event
    }

    /// A Write upload message carrying one 64 KiB content chunk.
    static func writeRequestWithChunk() -> HealthLedgerProtos.Healthledger_V1_WriteRequest {
        var chunk = HealthLedgerProtos.Healthledger_V1_ContentChunk()
        chunk.data = FixtureValues.chunkData
        chunk.offsetBytes = FixtureValues.chunkOffsetBytes
        var request = HealthLedgerProtos.Healthledger_V1_WriteRequest()
        request.part = .chunk(chunk)
        return request
    }

    private static func releasedRecord(
        _ recordId: String, _ contentHash: [UInt8], _ category: HealthLedgerProtos.Healthledger_V1_DataCategory
    ) -> HealthLedgerProtos.Healthledger_V1_ReleasedRecord {
        var record = HealthLedgerProtos.Healthledger_V1_ReleasedRecord()
        record.recordId = recordId
        record.contentSha256 = contentHash
        record.category = category
        return record
    }
}
