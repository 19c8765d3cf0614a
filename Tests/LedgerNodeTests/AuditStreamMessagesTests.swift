import HealthLedgerProtos
import ProtobufWire
import Testing

@testable import LedgerNode

@Suite("AuditStream messages encoded from stored ledger entries")
struct AuditStreamMessagesTests {
    /// An audit event whose reason is `reasonLength` bytes and that releases `records` records.
    private func event(reasonLength: Int, records: Int, emergency: Bool) -> Healthledger_V1_AuditEvent {
        var event = Healthledger_V1_AuditEvent()
        event.sequence = 1_234_567
        event.blockHeight = 89
        event.entryIndex = 4_000_000_000
        event.timeUnixMs = 1_790_000_000_000
        event.actor = "hl1clinician"
        event.patient = "hl1patient"
        event.action = .read
        event.categories = [.labs, .mentalHealth]
        event.purpose = .treatment
        event.outcome = emergency ? .allowed : .denied
        event.reason = String(repeating: "r", count: reasonLength)
        event.decidingGrantIds = ["grant-1", "grant-2"]
        event.releasedRecords = (0..<records).map { index in
            var released = Healthledger_V1_ReleasedRecord()
            released.recordId = "record-\(index)"
            released.contentSha256 = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 32)
            released.category = .labs
            return released
        }
        event.emergency = emergency
        if emergency { event.emergencyAccessId = "emergency-1" }
        return event
    }

    /// What the generated encoder makes of the stream message carrying `entry`'s event (and `proof`).
    private func generated(
        _ entry: Healthledger_V1_LedgerEntry, _ bytes: [UInt8], proof: Healthledger_V1_EntryProof? = nil
    ) -> [UInt8] {
        guard case .auditEvent(let event)? = entry.entry else { return [] }
        var logged = Healthledger_V1_LoggedAuditEvent()
        logged.event = event
        logged.ledgerEntry = bytes
        if let proof { logged.proof = proof }
        var message = Healthledger_V1_AuditStreamResponse()
        message.item = .event(logged)
        return message.serializedBytes()
    }

    @Test(
        "given audit entries of every length-prefix size, then the message is byte for byte the generated encoding",
        arguments: [
            (0, 0, false), (10, 1, true), (100, 0, false), (200, 3, false), (20_000, 5, true), (1_000, 3_000, false),
        ])
    func sameBytesAsGenerated(reasonLength: Int, records: Int, emergency: Bool) throws {
        var entry = Healthledger_V1_LedgerEntry()
        entry.salt = [UInt8](repeating: 0xA5, count: 16)
        entry.entry = .auditEvent(event(reasonLength: reasonLength, records: records, emergency: emergency))
        let bytes = entry.serializedBytes()
        let message = try #require(AuditStreamMessages.event(ledgerEntry: bytes))
        #expect(message == generated(entry, bytes))
        let decoded = try Healthledger_V1_AuditStreamResponse(serializedBytes: message)
        guard case .event(let logged)? = decoded.item else {
            Issue.record("not an event message")
            return
        }
        #expect(logged.ledgerEntry == bytes)
        #expect(logged.event?.reason.count == reasonLength)
    }

    @Test(
        "given an event with an entry proof of any length, then the message is byte for byte the generated encoding",
        arguments: [0, 1, 5, 40])
    func sameBytesWithProof(pathLength: Int) throws {
        var entry = Healthledger_V1_LedgerEntry()
        entry.salt = [UInt8](repeating: 0x5A, count: 16)
        entry.entry = .auditEvent(event(reasonLength: 30, records: 2, emergency: false))
        let bytes = entry.serializedBytes()
        var inclusion = Healthledger_V1_InclusionProof()
        inclusion.leafIndex = 4_000_000_000
        inclusion.treeSize = 4_000_000_001
        inclusion.auditPath = (0..<pathLength).map { [UInt8](repeating: UInt8($0), count: 32) }
        var checkpoint = Healthledger_V1_SignedCheckpoint()
        checkpoint.checkpoint = [UInt8](repeating: 7, count: 90)
        checkpoint.signature = [UInt8](repeating: 9, count: 64)
        checkpoint.nodeKeyId = String(repeating: "ab", count: 32)
        var proof = Healthledger_V1_EntryProof()
        proof.inclusion = inclusion
        proof.checkpoint = checkpoint
        let message = try #require(AuditStreamMessages.event(ledgerEntry: bytes, proof: proof.serializedBytes()))
        #expect(message == generated(entry, bytes, proof: proof))
    }

    @Test("given an entry that holds a transaction, no event, or the event twice, then it is left to the full decode")
    func refusesOtherEntries() {
        var transaction = Healthledger_V1_LedgerEntry()
        transaction.salt = [1, 2, 3]
        transaction.entry = .transaction(Healthledger_V1_SignedTransaction())
        #expect(AuditStreamMessages.event(ledgerEntry: transaction.serializedBytes()) == nil)
        var saltOnly = Healthledger_V1_LedgerEntry()
        saltOnly.salt = [1, 2, 3]
        #expect(AuditStreamMessages.event(ledgerEntry: saltOnly.serializedBytes()) == nil)
        var single = Healthledger_V1_LedgerEntry()
        single.entry = .auditEvent(event(reasonLength: 5, records: 1, emergency: false))
        let once = single.serializedBytes()
        // Field 3 twice: protobuf would merge the two events; the bytes alone cannot stand for that.
        #expect(AuditStreamMessages.event(ledgerEntry: once + once) == nil)
        #expect(AuditStreamMessages.event(ledgerEntry: [0xFF]) == nil)
        #expect(AuditStreamMessages.event(ledgerEntry: []) == nil)
    }

    @Test("the replay marker is the generated encoding")
    func replayCompleted() {
        var completed = Healthledger_V1_AuditReplayCompleted()
        completed.headSequence = 300
        var message = Healthledger_V1_AuditStreamResponse()
        message.item = .replayCompleted(completed)
        #expect(AuditStreamMessages.replayCompleted(headSequence: 300) == message.serializedBytes())
    }
}
