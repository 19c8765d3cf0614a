import HealthLedgerProtos
import RPCCore

/// One AuditStreamResponse as the catch-up reader needs it.
enum AuditItem: Equatable {
    /// An event: its sequence and whether it names the expected patient.
    case event(sequence: UInt64, patient: [UInt8])
    /// The end of the replay.
    case replayCompleted
}

/// Reads AuditStreamResponse messages either fully (the generated decoder) or lightly: walking the wire format
/// to the two fields the check needs (event.event.sequence and event.event.patient), so that at hundreds of
/// thousands of events per second the reader measures the node rather than its own decoding.
enum AuditStreamReading {
    /// Decodes with the generated code.
    static func full(_ bytes: [UInt8]) throws -> AuditItem {
        let message = try RawCalls.decode(Healthledger_V1_AuditStreamResponse.self, bytes)
        switch message.item {
        case .event(let logged)?:
            guard let event = logged.event else { throw RPCError(.internalError, "LoggedAuditEvent without event") }
            return .event(sequence: event.sequence, patient: Array(event.patient.utf8))
        case .replayCompleted?: return .replayCompleted
        case nil: throw RPCError(.internalError, "empty AuditStreamResponse")
        }
    }

    /// Walks the wire format: AuditStreamResponse{1: LoggedAuditEvent{1: AuditEvent{1: sequence, 4: patient}}}.
    static func light(_ bytes: [UInt8]) throws -> AuditItem {
        try bytes.withUnsafeBytes { buffer throws -> AuditItem in
            var cursor = WireCursor(buffer: buffer, start: 0, end: buffer.count)
            while let (field, wireType) = try cursor.nextTag() {
                switch (field, wireType) {
                case (1, 2):
                    let logged = try cursor.lengthDelimited()
                    var inner = WireCursor(buffer: buffer, start: logged.lowerBound, end: logged.upperBound)
                    while let (loggedField, loggedType) = try inner.nextTag() {
                        guard loggedField == 1, loggedType == 2 else { try inner.skip(loggedType); continue }
                        let eventRange = try inner.lengthDelimited()
                        var event = WireCursor(buffer: buffer, start: eventRange.lowerBound, end: eventRange.upperBound)
                        var sequence: UInt64 = 0
                        var patient: [UInt8] = []
                        while let (eventField, eventType) = try event.nextTag() {
                            if eventField == 1 && eventType == 0 {
                                sequence = try event.varint()
                            } else if eventField == 4 && eventType == 2 {
                                let range = try event.lengthDelimited()
                                patient = Array(buffer[range])
                            } else {
                                try event.skip(eventType)
                            }
                        }
                        return .event(sequence: sequence, patient: patient)
                    }
                    throw RPCError(.internalError, "LoggedAuditEvent without event")
                case (2, 2):
                    return .replayCompleted
                default:
                    try cursor.skip(wireType)
                }
            }
            throw RPCError(.internalError, "empty AuditStreamResponse")
        }
    }
}

/// A bounds-checked reader of protobuf wire format over a byte range.
struct WireCursor {
    let buffer: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(buffer: UnsafeRawBufferPointer, start: Int, end: Int) {
        self.buffer = buffer
        self.position = start
        self.end = end
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end && shift < 64 {
            let byte = buffer[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw RPCError(.internalError, "truncated varint")
    }

    mutating func nextTag() throws -> (field: UInt64, wireType: UInt64)? {
        guard position < end else { return nil }
        let tag = try varint()
        return (tag >> 3, tag & 7)
    }

    mutating func lengthDelimited() throws -> Range<Int> {
        let length = Int(try varint())
        guard length >= 0, position + length <= end else { throw RPCError(.internalError, "truncated field") }
        defer { position += length }
        return position..<(position + length)
    }

    mutating func skip(_ wireType: UInt64) throws {
        switch wireType {
        case 0: _ = try varint()
        case 1: position += 8
        case 2: _ = try lengthDelimited()
        case 5: position += 4
        default: throw RPCError(.internalError, "wire type \(wireType)")
        }
        guard position <= end else { throw RPCError(.internalError, "truncated field") }
    }
}
