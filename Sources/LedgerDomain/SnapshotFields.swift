/// The fields of an encoded `healthledger.storage.v1.StateSnapshot`, found in place: length-delimited fields are
/// slices of the encoded bytes, not copies, so a start reads the large columns where the file is mapped.
///
/// Only the wire format is checked here (tags, lengths within bounds); what the fields mean is checked by
/// `LedgerState.restore`. Unknown fields are skipped.
struct SnapshotFields {
    var chainID: UnsafeRawBufferPointer?
    var height: UInt64 = 0
    var lastBlockHash: UnsafeRawBufferPointer?
    var treeSize: UInt64 = 0
    var leafHashes: UnsafeRawBufferPointer?
    var interiorHashes: UnsafeRawBufferPointer?
    var principals: [UnsafeRawBufferPointer] = []
    var keys: [UnsafeRawBufferPointer] = []
    /// One message per record, from snapshots of earlier versions.
    var records: [UnsafeRawBufferPointer] = []
    var emergencyAccesses: [UnsafeRawBufferPointer] = []
    var committedTransactions: UnsafeRawBufferPointer?
    /// Audit events' entry bytes, from snapshots of versions that kept the events in memory.
    var auditEntries: [UnsafeRawBufferPointer] = []
    var auditEntryIndexes: UnsafeRawBufferPointer?
    var auditTrails: [(patient: UnsafeRawBufferPointer, sequences: UnsafeRawBufferPointer)] = []
    var blockRows: UnsafeRawBufferPointer?
    var blockSigned: UnsafeRawBufferPointer?
    var names: [UnsafeRawBufferPointer] = []
    var grantRows: UnsafeRawBufferPointer?
    var grantRevokers: UnsafeRawBufferPointer?
    var grantDelegations: UnsafeRawBufferPointer?
    var recordNames: [UnsafeRawBufferPointer] = []
    var recordRows: UnsafeRawBufferPointer?

    /// Why the bytes are not a snapshot message.
    struct Malformed: Error {}

    /// The fields of the snapshot message in `bytes`.
    init(_ bytes: UnsafeRawBufferPointer) throws(Malformed) {
        try Self.walk(bytes) { (number, field) throws(Malformed) in
            switch (number, field) {
            case (1, .bytes(let value)): chainID = value
            case (2, .varint(let value)): height = value
            case (3, .bytes(let value)): lastBlockHash = value
            case (4, .varint(let value)): treeSize = value
            case (5, .bytes(let value)): leafHashes = value
            case (7, .bytes(let value)): principals.append(value)
            case (8, .bytes(let value)): keys.append(value)
            case (10, .bytes(let value)): records.append(value)
            case (11, .bytes(let value)): emergencyAccesses.append(value)
            case (12, .bytes(let value)): committedTransactions = value
            case (13, .bytes(let value)): auditEntries.append(value)
            case (14, .bytes(let value)):
                try Self.walk(value) { (number, field) throws(Malformed) in
                    switch (number, field) {
                    case (1, .bytes(let value)): blockRows = value
                    case (2, .bytes(let value)): blockSigned = value
                    default: break
                    }
                }
            case (15, .bytes(let value)):
                try Self.walk(value) { (number, field) throws(Malformed) in
                    switch (number, field) {
                    case (1, .bytes(let value)): names.append(value)
                    case (2, .bytes(let value)): grantRows = value
                    case (3, .bytes(let value)): grantRevokers = value
                    case (4, .bytes(let value)): grantDelegations = value
                    default: break
                    }
                }
            case (16, .bytes(let value)): interiorHashes = value
            case (17, .bytes(let value)): auditEntryIndexes = value
            case (18, .bytes(let value)):
                var patient = UnsafeRawBufferPointer(start: nil, count: 0)
                var sequences = UnsafeRawBufferPointer(start: nil, count: 0)
                try Self.walk(value) { (number, field) throws(Malformed) in
                    switch (number, field) {
                    case (1, .bytes(let value)): patient = value
                    case (2, .bytes(let value)): sequences = value
                    default: break
                    }
                }
                auditTrails.append((patient, sequences))
            case (19, .bytes(let value)):
                try Self.walk(value) { (number, field) throws(Malformed) in
                    switch (number, field) {
                    case (1, .bytes(let value)): recordNames.append(value)
                    case (2, .bytes(let value)): recordRows = value
                    default: break
                    }
                }
            case (1...16, _): throw Malformed()
            default: break
            }
        }
    }

    /// One field's value on the wire.
    enum Field {
        case varint(UInt64)
        case bytes(UnsafeRawBufferPointer)
        case fixed
    }

    /// Calls `body` with each field of the message in `bytes`, in order.
    static func walk(
        _ bytes: UnsafeRawBufferPointer, _ body: (Int, Field) throws(Malformed) -> Void
    ) throws(Malformed) {
        var offset = 0
        while offset < bytes.count {
            let key = try varint(bytes, &offset)
            let number = Int(truncatingIfNeeded: key >> 3)
            switch key & 7 {
            case 0: try body(number, .varint(try varint(bytes, &offset)))
            case 1, 5:
                let width = key & 7 == 1 ? 8 : 4
                guard bytes.count - offset >= width else { throw Malformed() }
                offset += width
                try body(number, .fixed)
            case 2:
                let length = try varint(bytes, &offset)
                guard length <= UInt64(bytes.count - offset) else { throw Malformed() }
                let end = offset + Int(length)
                try body(number, .bytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])))
                offset = end
            default: throw Malformed()
            }
        }
    }

    private static func varint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws(Malformed) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw Malformed()
    }
}
