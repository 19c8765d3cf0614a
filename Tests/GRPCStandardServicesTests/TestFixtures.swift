import Foundation
import GRPCProtos
@testable import GRPCStandardServices
import HealthLedgerProtos
import ProtobufWire
import RPCCore

/// The descriptors and services the reflection tests serve: HealthLedger's files and the grpc.testing ones.
enum TestFixtures {
    /// Every generated file of both proto modules (the standard ones are added by ReflectionService).
    static let files: [ProtoFileDescriptor] = [
        HealthledgerV1AuditProtoFile.descriptor,
        HealthledgerV1ChainProtoFile.descriptor,
        HealthledgerV1IdentityProtoFile.descriptor,
        HealthledgerV1LedgerServiceProtoFile.descriptor,
        HealthledgerV1PolicyProtoFile.descriptor,
        HealthledgerV1RecordsProtoFile.descriptor,
        HealthledgerV1StateProtoFile.descriptor,
        HealthledgerV1TransactionProtoFile.descriptor,
        GrpcTestingEmptyProtoFile.descriptor,
        GrpcTestingMessagesProtoFile.descriptor,
        GrpcTestingTestProtoFile.descriptor,
    ]

    /// The services a HealthLedger node serves besides reflection.
    static let servedServices = ["healthledger.v1.Ledger", "grpc.health.v1.Health"]

    /// What healthledger/v1/ledger_service.proto imports, directly or not.
    static let ledgerServiceImports: Set<String> = [
        "healthledger/v1/audit.proto", "healthledger/v1/chain.proto", "healthledger/v1/identity.proto",
        "healthledger/v1/policy.proto", "healthledger/v1/records.proto", "healthledger/v1/state.proto",
        "healthledger/v1/transaction.proto",
    ]

    /// The reflection service over `files`, serving `servedServices`.
    static func reflection() throws -> ReflectionService {
        try ReflectionService(files: files, servedServices: servedServices)
    }

    /// An in-process transport serving both reflection versions.
    static func reflectionTransport() throws -> InProcessTransport {
        InProcessTransport(services: try reflection().serviceDefinitions)
    }

    /// Call options that keep a broken test from hanging.
    static let options = CallOptions(timeout: .seconds(20))

    /// The include-relative file names in serialized FileDescriptorProtos, in order.
    static func fileNames(_ descriptors: [[UInt8]]) throws -> [String] {
        try descriptors.map { try FileDescriptorOutline(serializedDescriptor: $0).name }
    }
}
