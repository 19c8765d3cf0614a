/// Metadata about one generated .proto file, for server reflection and type registries.
public struct ProtoFileDescriptor: Sendable {
    /// The file's include-relative path, e.g. "healthledger/v1/ledger.proto".
    public let path: String
    /// The serialized `google.protobuf.FileDescriptorProto`, built by the generator.
    public let serializedDescriptor: [UInt8]
    /// Include-relative paths of the files this one imports.
    public let dependencies: [String]
    /// Every message declared in the file, nested ones included (map entries excluded).
    public let messageTypes: [any ProtoMessage.Type]

    /// Creates the descriptor of one file; generated code calls this once per file.
    public init(
        path: String, serializedDescriptor: [UInt8], dependencies: [String], messageTypes: [any ProtoMessage.Type]
    ) {
        self.path = path
        self.serializedDescriptor = serializedDescriptor
        self.dependencies = dependencies
        self.messageTypes = messageTypes
    }
}
