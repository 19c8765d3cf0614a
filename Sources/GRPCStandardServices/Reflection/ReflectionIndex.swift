import ProtobufWire

/// What server reflection knows: .proto files by path, and which file declares each symbol and extension.
///
/// Built once from the generated descriptors and never changed, so one index serves every stream.
public struct ReflectionIndex: Sendable {
    /// One indexed file: its serialized FileDescriptorProto and the paths it imports.
    struct IndexedFile: Sendable {
        let serializedDescriptor: [UInt8]
        let dependencies: [String]
    }

    private let files: [String: IndexedFile]
    /// Fully-qualified symbol -> path of the file declaring it, as protoc's DescriptorPool resolves them.
    let fileBySymbol: [String: String]
    /// "pkg.Enum.VALUE" -> path: enum values under their enum, a name protoc does not resolve but people try.
    private let fileByEnumValueAlias: [String: String]
    private let fileByExtension: [ExtensionKey: String]
    private let messageTypes: Set<String>

    /// Indexes `files`; a path given twice keeps its first descriptor, and so does a symbol declared twice.
    /// Throws when a serialized descriptor is malformed.
    public init(files: [ProtoFileDescriptor]) throws(ProtoDecodingError) {
        var indexed: [String: IndexedFile] = [:]
        var fileBySymbol: [String: String] = [:]
        var fileByEnumValueAlias: [String: String] = [:]
        var fileByExtension: [ExtensionKey: String] = [:]
        var messageTypes: Set<String> = []
        for file in files where indexed[file.path] == nil {
            let outline = try FileDescriptorOutline(serializedDescriptor: file.serializedDescriptor)
            indexed[file.path] = IndexedFile(
                serializedDescriptor: file.serializedDescriptor, dependencies: outline.dependencies)
            for symbol in outline.symbols where fileBySymbol[symbol] == nil {
                fileBySymbol[symbol] = file.path
            }
            for alias in outline.enumValueAliases where fileByEnumValueAlias[alias] == nil {
                fileByEnumValueAlias[alias] = file.path
            }
            for key in outline.extensions where fileByExtension[key] == nil {
                fileByExtension[key] = file.path
            }
            messageTypes.formUnion(outline.messageTypes)
        }
        self.files = indexed
        self.fileBySymbol = fileBySymbol
        self.fileByEnumValueAlias = fileByEnumValueAlias
        self.fileByExtension = fileByExtension
        self.messageTypes = messageTypes
    }

    /// Whether a file with this include-relative path is indexed.
    public func containsFile(atPath path: String) -> Bool {
        files[path] != nil
    }

    /// The path of the file declaring `symbol` (a fully-qualified name, no leading dot), if known.
    public func filePath(containingSymbol symbol: String) -> String? {
        fileBySymbol[symbol] ?? fileByEnumValueAlias[symbol]
    }

    /// The path of the file declaring extension `number` of message type `extendee`, if known.
    public func filePath(containingExtension number: Int32, of extendee: String) -> String? {
        fileByExtension[ExtensionKey(extendee: extendee, number: number)]
    }

    /// The extension numbers known for message type `messageType`, ascending; nil when the type is unknown.
    public func extensionNumbers(of messageType: String) -> [Int32]? {
        guard messageTypes.contains(messageType) else { return nil }
        return fileByExtension.keys.filter { $0.extendee == messageType }.map(\.number).sorted()
    }

    /// The serialized descriptors of the file at `path` and of its transitive imports, breadth-first from
    /// the file itself, each once.
    ///
    /// Imports whose paths are in `alreadySent` are left out, and every path returned is added to it: a
    /// client keeps the files a stream already gave it, as grpc-go's reflection server assumes. The file
    /// asked for is always included. Imports that are not indexed are skipped. Nil when `path` is unknown.
    public func descriptorsWithDependencies(ofFile path: String, alreadySent: inout Set<String>) -> [[UInt8]]? {
        guard let root = files[path] else { return nil }
        var descriptors = [root.serializedDescriptor]
        var visited: Set<String> = [path]
        alreadySent.insert(path)
        var queue = root.dependencies[...]
        while let next = queue.popFirst() {
            guard visited.insert(next).inserted, let file = files[next] else { continue }
            queue.append(contentsOf: file.dependencies)
            if alreadySent.insert(next).inserted {
                descriptors.append(file.serializedDescriptor)
            }
        }
        return descriptors
    }
}
