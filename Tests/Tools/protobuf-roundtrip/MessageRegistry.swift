import EtcdProtos
import GRPCProtos
import HealthLedgerProtos
import ProtobufWire
import WireFixtures

/// Every generated message type the tool can round-trip, by fully-qualified proto name.
enum MessageRegistry {
    /// The descriptors of every generated .proto file, one line per file under proto/ and
    /// Tests/WireFixtures/proto. The interop tests check that this covers every message protoc sees.
    static let files: [ProtoFileDescriptor] = [
        // proto/healthledger/v1
        HealthledgerV1AuditProtoFile.descriptor,
        HealthledgerV1ChainProtoFile.descriptor,
        HealthledgerV1IdentityProtoFile.descriptor,
        HealthledgerV1LedgerServiceProtoFile.descriptor,
        HealthledgerV1PolicyProtoFile.descriptor,
        HealthledgerV1RecordsProtoFile.descriptor,
        HealthledgerV1StateProtoFile.descriptor,
        HealthledgerV1TransactionProtoFile.descriptor,
        // proto/healthledger/storage/v1
        HealthledgerStorageV1SnapshotProtoFile.descriptor,
        // proto/grpc
        GrpcHealthV1HealthProtoFile.descriptor,
        GrpcReflectionV1ReflectionProtoFile.descriptor,
        GrpcReflectionV1alphaReflectionProtoFile.descriptor,
        GrpcTestingEmptyProtoFile.descriptor,
        GrpcTestingMessagesProtoFile.descriptor,
        GrpcTestingTestProtoFile.descriptor,
        // proto/google (generated into GRPCProtos with proto/grpc)
        GoogleProtobufAnyProtoFile.descriptor,
        GoogleProtobufDurationProtoFile.descriptor,
        GoogleRpcErrorDetailsProtoFile.descriptor,
        GoogleRpcStatusProtoFile.descriptor,
        // proto/etcd
        EtcdMvccpbKvProtoFile.descriptor,
        EtcdEtcdserverpbRpcProtoFile.descriptor,
        // Tests/WireFixtures/proto
        WireFixturesProtoFile.descriptor,
    ]

    /// Message types keyed by `protoMessageName` ("healthledger.v1.Grant").
    static let typesByName: [String: any ProtoMessage.Type] = {
        var types: [String: any ProtoMessage.Type] = [:]
        for file in files {
            for type in file.messageTypes { types[type.protoMessageName] = type }
        }
        return types
    }()
}
