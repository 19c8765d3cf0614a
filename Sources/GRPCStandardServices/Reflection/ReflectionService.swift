import GRPCProtos
import ProtobufWire
import RPCCore

/// gRPC server reflection (grpc.reflection.v1 and v1alpha) over the .proto files a server was built from.
///
/// Register both `serviceDefinitions`: grpcurl and grpc-go clients ask v1 first and fall back to v1alpha.
public struct ReflectionService: Sendable {
    /// The descriptors every server using this module can describe: health and both reflection versions.
    public static let standardFiles: [ProtoFileDescriptor] = [
        GrpcHealthV1HealthProtoFile.descriptor,
        GrpcReflectionV1ReflectionProtoFile.descriptor,
        GrpcReflectionV1alphaReflectionProtoFile.descriptor,
    ]

    /// The reflection services themselves, always listed.
    public static let reflectionServiceNames = [
        "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ]

    /// Where files, symbols and extensions are looked up.
    public let index: ReflectionIndex

    /// What list_services answers: the served services and the reflection services, sorted, each once.
    public let listedServices: [String]

    /// Describes `files` (the generated `…ProtoFile.descriptor` values, imports included, plus
    /// `standardFiles`) and lists `servedServices` (fully-qualified names, e.g. "healthledger.v1.Ledger").
    /// Throws when a descriptor is malformed.
    public init(files: [ProtoFileDescriptor], servedServices: [String]) throws(ProtoDecodingError) {
        self.index = try ReflectionIndex(files: files + Self.standardFiles)
        self.listedServices = Set(servedServices + Self.reflectionServiceNames).sorted()
    }

    /// The grpc.reflection.v1 service.
    public var v1: ReflectionServiceV1 { ReflectionServiceV1(reflection: self) }

    /// The grpc.reflection.v1alpha service, for clients that predate v1.
    public var v1alpha: ReflectionServiceV1alpha { ReflectionServiceV1alpha(reflection: self) }

    /// Both versions, ready to register with a server.
    public var serviceDefinitions: [ServiceDefinition] { [v1.serviceDefinition, v1alpha.serviceDefinition] }

    /// A fresh per-stream answerer.
    func makeSession() -> ReflectionSession {
        ReflectionSession(index: index, serviceNames: listedServices)
    }
}
