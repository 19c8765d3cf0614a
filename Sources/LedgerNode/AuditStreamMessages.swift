import HealthLedgerProtos
import ProtobufWire

/// AuditStream's response messages, encoded straight from the stored ledger entries.
///
/// A committed audit event's `LedgerEntry` already holds the event's encoding (field `audit_event`), and
/// `LoggedAuditEvent.event` is by definition that event decoded from the entry, so an event message is the entry's
/// event bytes and the entry bytes under three length prefixes: a replay copies bytes instead of copying and
/// re-encoding every field of every event. The result is byte for byte what the generated encoder makes of the
/// same message.
enum AuditStreamMessages {
    /// The encoded `AuditStreamResponse` carrying the audit event held by `ledgerEntry` (a `LedgerEntry`
    /// encoding), or nil when the entry does not hold exactly one audit event.
    /// `proof`, when given, is an encoded `EntryProof` put in as `LoggedAuditEvent.proof`.
    static func event(ledgerEntry: [UInt8], proof: [UInt8]? = nil) -> [UInt8]? {
        ledgerEntry.withUnsafeBytes { event(ledgerEntry: $0, proof: proof) }
    }

    /// `event(ledgerEntry:proof:)` of entry bytes in place (a replay reads them inside a stored block).
    static func event(ledgerEntry entry: UnsafeRawBufferPointer, proof: [UInt8]? = nil) -> [UInt8]? {
        guard let event = eventRange(in: entry), let base = entry.baseAddress else { return nil }
        let eventCount = event.count
        let entryCount = entry.count
        let proofField = proof.map { 1 + varintSize($0.count) + $0.count } ?? 0
        // LoggedAuditEvent { event = 1; ledger_entry = 2; proof = 3 }
        let loggedCount =
            1 + varintSize(eventCount) + eventCount + 1 + varintSize(entryCount) + entryCount + proofField
        // AuditStreamResponse { oneof item { LoggedAuditEvent event = 1 } }
        let totalCount = 1 + varintSize(loggedCount) + loggedCount
        return [UInt8](unsafeUninitializedCapacity: totalCount) { output, initialized in
            var at = 0
            func put(_ byte: UInt8) {
                output[at] = byte
                at += 1
            }
            func putVarint(_ value: Int) {
                var value = UInt(value)
                while value >= 0x80 {
                    put(UInt8(truncatingIfNeeded: value) | 0x80)
                    value >>= 7
                }
                put(UInt8(value))
            }
            func putBytes(_ bytes: UnsafeRawPointer, count: Int) {
                guard count > 0 else { return }
                UnsafeMutableRawPointer(output.baseAddress! + at).copyMemory(from: bytes, byteCount: count)
                at += count
            }
            put(fieldKey(1))
            putVarint(loggedCount)
            put(fieldKey(1))
            putVarint(eventCount)
            putBytes(base + event.lowerBound, count: eventCount)
            put(fieldKey(2))
            putVarint(entryCount)
            putBytes(base, count: entryCount)
            if let proof {
                put(fieldKey(3))
                putVarint(proof.count)
                proof.withUnsafeBytes { bytes in
                    if let proofBase = bytes.baseAddress { putBytes(proofBase, count: bytes.count) }
                }
            }
            initialized = at
        }
    }

    /// The encoded `AuditStreamResponse` carrying `logged` the generated way: for an entry `event(ledgerEntry:)`
    /// does not take (none the node writes).
    static func event(_ logged: Healthledger_V1_LoggedAuditEvent) -> [UInt8] {
        var message = Healthledger_V1_AuditStreamResponse()
        message.item = .event(logged)
        return message.serializedBytes()
    }

    /// The encoded `AuditStreamResponse` that ends a replay.
    static func replayCompleted(headSequence: UInt64) -> [UInt8] {
        var completed = Healthledger_V1_AuditReplayCompleted()
        completed.headSequence = headSequence
        var message = Healthledger_V1_AuditStreamResponse()
        message.item = .replayCompleted(completed)
        return message.serializedBytes()
    }

    /// Where the `audit_event` field's body (field 3) lies in a `LedgerEntry` encoding; nil when the entry does not
    /// decode, holds no audit event or holds the field more than once (a merge the bytes alone would not show).
    static func eventRange(in buffer: UnsafeRawBufferPointer) -> Range<Int>? {
        var reader = ProtoReader(buffer: buffer)
        var found: Range<Int>?
        do throws(ProtoDecodingError) {
            while let tag = try reader.nextTag() {
                guard tag.fieldNumber == 3 else {
                    // A transaction (field 2) among the fields means this is not an audit entry.
                    if tag.fieldNumber == 2 { return nil }
                    try reader.skipField(tag)
                    continue
                }
                guard found == nil, tag.wireType == .lengthDelimited else { return nil }
                var start = 0
                try reader.readLengthDelimited(tag, field: "healthledger.v1.LedgerEntry.audit_event") { body in
                    start = body.offset
                }
                found = start..<reader.offset
            }
        } catch {
            return nil
        }
        return found
    }

    private static func fieldKey(_ field: UInt8) -> UInt8 { field << 3 | 2 }

    private static func varintSize(_ value: Int) -> Int {
        var size = 1
        var rest = UInt(value) >> 7
        while rest != 0 {
            size += 1
            rest >>= 7
        }
        return size
    }
}
