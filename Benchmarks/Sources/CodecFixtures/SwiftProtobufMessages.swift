import Foundation
import SwiftProtobufModels

/// Builds the benchmark messages as apple/swift-protobuf's generated types (module SwiftProtobufModels).
enum SwiftProtobufMessages {
    /// The same event as `OurMessages.auditEvent()`.
    static func auditEvent() -> SwiftProtobufModels.Healthledger_V1_AuditEvent {
        var event = SwiftProtobufModels.Healthledger_V1_AuditEvent()
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
        event.emergencyAccessID = FixtureValues.emergencyAccessId
        event.blockHeight = FixtureValues.blockHeight
        event.entryIndex = FixtureValues.entryIndex
        return event
    }

    /// The same request as `OurMessages.writeRequestWithChunk()`.
    static func writeRequestWithChunk() -> SwiftProtobufModels.Healthledger_V1_WriteRequest {
        var chunk = SwiftProtobufModels.Healthledger_V1_ContentChunk()
        chunk.data = Data(FixtureValues.chunkData)
        chunk.offsetBytes = FixtureValues.chunkOffsetBytes
        var request = SwiftProtobufModels.Healthledger_V1_WriteRequest()
        request.chunk = chunk
        return request
    }

    private static func releasedRecord(
        _ recordId: String, _ contentHash: [UInt8], _ category: SwiftProtobufModels.Healthledger_V1_DataCategory
    ) -> SwiftProtobufModels.Healthledger_V1_ReleasedRecord {
        var record = SwiftProtobufModels.Healthledger_V1_ReleasedRecord()
        record.recordID = recordId
        record.contentSha256 = Data(contentHash)
        record.category = category
        return record
    }
}
