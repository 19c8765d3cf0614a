import HealthLedgerProtos
import ProtobufWire

// What a node of a cluster forwards to the proposing node (the leader) through etcd, and what it gets back. Stored in
// etcd as these protobuf messages, so any protobuf tool can read them:
//
//   message ForwardedWork {
//     oneof work { SignedTransaction transaction = 1; AuditEvent audit_event = 2; }
//     int64 received_at_unix_ms = 3;   // when the forwarding node received the call: its audit events' time
//   }
//   message ForwardedBatch { repeated ForwardedWork work = 1; }
//   message WorkOutcome {
//     uint32 status_code = 1;          // 0: committed; else the gRPC status refusing it
//     string status_message = 2;
//     uint64 first_entry_index = 3;    // committed: the log index of its first entry
//     uint32 entry_count = 4;          // committed: how many entries it added (a transaction and its audit event)
//   }
//   message ForwardedOutcome { uint64 block_height = 1; repeated WorkOutcome outcomes = 2; }

/// One piece of work forwarded to the leader.
struct ForwardedWork: ProtoMessage {
    static var protoMessageName: String { "healthledger.cluster.v1.ForwardedWork" }

    enum Work: Hashable {
        case transaction(Healthledger_V1_SignedTransaction)
        case auditEvent(Healthledger_V1_AuditEvent)
    }

    var work: Work?
    var receivedAtUnixMs: Int64 = 0
    var unknownFields = UnknownFields()

    init() {}

    init(_ work: Work, receivedAt: Int64) {
        self.work = work
        receivedAtUnixMs = receivedAt
    }

    func encodeFields(to writer: inout ProtoWriter) {
        switch work {
        case .transaction(let transaction)?: writer.writeMessage(transaction, field: 1)
        case .auditEvent(let event)?: writer.writeMessage(event, field: 2)
        case nil: break
        }
        if receivedAtUnixMs != 0 { writer.writeInt64(receivedAtUnixMs, field: 3) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                var transaction: Healthledger_V1_SignedTransaction?
                try reader.readMessage(tag, into: &transaction, field: "healthledger.cluster.v1.ForwardedWork.transaction")
                work = transaction.map { .transaction($0) }
            case 2:
                var event: Healthledger_V1_AuditEvent?
                try reader.readMessage(tag, into: &event, field: "healthledger.cluster.v1.ForwardedWork.audit_event")
                work = event.map { .auditEvent($0) }
            case 3:
                receivedAtUnixMs = try reader.readInt64(tag, field: "healthledger.cluster.v1.ForwardedWork.received_at_unix_ms")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}

/// The work one node forwarded in one etcd write; the leader commits all of it in one block, or none.
struct ForwardedBatch: ProtoMessage {
    static var protoMessageName: String { "healthledger.cluster.v1.ForwardedBatch" }

    var work: [ForwardedWork] = []
    var unknownFields = UnknownFields()

    init() {}

    init(work: [ForwardedWork]) { self.work = work }

    func encodeFields(to writer: inout ProtoWriter) {
        for item in work { writer.writeMessage(item, field: 1) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: try reader.readRepeatedMessage(tag, into: &work, field: "healthledger.cluster.v1.ForwardedBatch.work")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}

/// What became of one piece of forwarded work.
struct WorkOutcome: ProtoMessage, Equatable {
    static var protoMessageName: String { "healthledger.cluster.v1.WorkOutcome" }

    var statusCode: UInt32 = 0
    var statusMessage = ""
    var firstEntryIndex: UInt64 = 0
    var entryCount: UInt32 = 0
    var unknownFields = UnknownFields()

    init() {}

    func encodeFields(to writer: inout ProtoWriter) {
        if statusCode != 0 { writer.writeUInt32(statusCode, field: 1) }
        if !statusMessage.isEmpty { writer.writeString(statusMessage, field: 2) }
        if firstEntryIndex != 0 { writer.writeUInt64(firstEntryIndex, field: 3) }
        if entryCount != 0 { writer.writeUInt32(entryCount, field: 4) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: statusCode = try reader.readUInt32(tag, field: "healthledger.cluster.v1.WorkOutcome.status_code")
            case 2: statusMessage = try reader.readString(tag, field: "healthledger.cluster.v1.WorkOutcome.status_message")
            case 3: firstEntryIndex = try reader.readUInt64(tag, field: "healthledger.cluster.v1.WorkOutcome.first_entry_index")
            case 4: entryCount = try reader.readUInt32(tag, field: "healthledger.cluster.v1.WorkOutcome.entry_count")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}

/// What became of a forwarded batch: the block that holds it and each piece's outcome, in order.
struct ForwardedOutcome: ProtoMessage {
    static var protoMessageName: String { "healthledger.cluster.v1.ForwardedOutcome" }

    var blockHeight: UInt64 = 0
    var outcomes: [WorkOutcome] = []
    var unknownFields = UnknownFields()

    init() {}

    func encodeFields(to writer: inout ProtoWriter) {
        if blockHeight != 0 { writer.writeUInt64(blockHeight, field: 1) }
        for outcome in outcomes { writer.writeMessage(outcome, field: 2) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: blockHeight = try reader.readUInt64(tag, field: "healthledger.cluster.v1.ForwardedOutcome.block_height")
            case 2:
                try reader.readRepeatedMessage(tag, into: &outcomes, field: "healthledger.cluster.v1.ForwardedOutcome.outcomes")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}
