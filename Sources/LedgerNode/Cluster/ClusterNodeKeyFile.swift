import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import ProtobufWire

/// `<data-dir>/cluster-node-keys`: the block-signing keys of every node of the cluster this node belongs to, as the
/// protobuf message `message ClusterNodeKeys { repeated healthledger.v1.NodeKey node_keys = 1; }`. A cluster's
/// blocks are signed by whichever node led, so a data directory verified offline (`healthledger verify`) needs them
/// all; the node rewrites the file whenever it learns a key.
public enum ClusterNodeKeyFile {
    public static let name = "cluster-node-keys"

    /// The keys in `directory`'s file; empty when there is none (a single node).
    public static func read(directory: String, fileIO: FileIO = .system) throws -> [Healthledger_V1_NodeKey] {
        let bytes: [UInt8]?
        do { bytes = try SmallFile.read(directory + "/" + name, fileIO: fileIO) } catch {
            throw LedgerNodeError("\(error)")
        }
        guard let bytes else { return [] }
        do { return try ClusterNodeKeyList(serializedBytes: bytes).nodeKeys } catch {
            throw LedgerNodeError("\(directory)/\(name): not a list of node keys (\(error))")
        }
    }

    /// Writes `keys` (sorted by key id) to `directory`'s file, atomically and durably.
    static func write(_ keys: [SigningPublicKey], directory: String, fileIO: FileIO) throws {
        var file = ClusterNodeKeyList()
        file.nodeKeys = keys.sorted(by: { $0.keyID < $1.keyID }).map(Healthledger_V1_NodeKey.init(signingKey:))
        do { try SmallFile.write(file.serializedBytes(), to: directory + "/" + name, fileIO: fileIO) } catch {
            throw LedgerNodeError("\(error)")
        }
    }
}

/// The file's message.
private struct ClusterNodeKeyList: ProtoMessage {
    static var protoMessageName: String { "healthledger.storage.v1.ClusterNodeKeys" }

    var nodeKeys: [Healthledger_V1_NodeKey] = []
    var unknownFields = UnknownFields()

    init() {}

    func encodeFields(to writer: inout ProtoWriter) {
        for key in nodeKeys { writer.writeMessage(key, field: 1) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: try reader.readRepeatedMessage(tag, into: &nodeKeys, field: "healthledger.storage.v1.ClusterNodeKeys.node_keys")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}
