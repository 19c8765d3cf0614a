import HealthLedgerProtos
import ProtobufWire

/// One block as the block log stores it: the signed header, the exact entry bytes and the checkpoint at its end.
/// Encoded as the protobuf message
/// `message StoredBlock { SignedBlockHeader header = 1; repeated bytes entries = 2; SignedCheckpoint checkpoint = 3; }`
/// so any protobuf tool can read a block log record.
public struct StoredBlock: ProtoMessage {
    public static var protoMessageName: String { "healthledger.storage.v1.StoredBlock" }

    public var header: Healthledger_V1_SignedBlockHeader? = nil
    public var entries: [[UInt8]] = []
    public var checkpoint: Healthledger_V1_SignedCheckpoint? = nil
    public var unknownFields = UnknownFields()

    public init() {}

    /// A stored block from its parts.
    public init(
        header: Healthledger_V1_SignedBlockHeader, entries: [[UInt8]], checkpoint: Healthledger_V1_SignedCheckpoint
    ) {
        self.header = header
        self.entries = entries
        self.checkpoint = checkpoint
    }

    public func encodeFields(to writer: inout ProtoWriter) {
        if let header { writer.writeMessage(header, field: 1) }
        for entry in entries { writer.writeBytes(entry, field: 2) }
        if let checkpoint { writer.writeMessage(checkpoint, field: 3) }
        writer.writeUnknown(unknownFields)
    }

    public mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: try reader.readMessage(tag, into: &header, field: "healthledger.storage.v1.StoredBlock.header")
            case 2: entries.append(try reader.readBytes(tag, field: "healthledger.storage.v1.StoredBlock.entries"))
            case 3:
                try reader.readMessage(tag, into: &checkpoint, field: "healthledger.storage.v1.StoredBlock.checkpoint")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}
