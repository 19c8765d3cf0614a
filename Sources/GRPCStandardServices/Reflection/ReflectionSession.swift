import RPCCore

/// One reflection question, independent of the protocol version (v1 and v1alpha ask the same things).
enum ReflectionQuery: Hashable, Sendable {
    case fileByFilename(String)
    case fileContainingSymbol(String)
    case fileContainingExtension(containingType: String, number: Int32)
    case allExtensionNumbersOfType(String)
    case listServices
    /// The request set no `message_request` (or one this version of the schema doesn't know).
    case unset
}

/// The answer to one `ReflectionQuery`, independent of the protocol version.
enum ReflectionAnswer: Hashable, Sendable {
    /// Serialized FileDescriptorProtos: the file asked for first, then the imports not sent before.
    case fileDescriptors([[UInt8]])
    case extensionNumbers(baseTypeName: String, numbers: [Int32])
    case serviceNames([String])
    /// Sent as an ErrorResponse; the stream goes on.
    case error(RPCError.Code, String)
}

/// The state of one ServerReflectionInfo stream: answers its questions in order and remembers which files
/// it has sent, so each import travels once per stream.
struct ReflectionSession {
    private let index: ReflectionIndex
    private let serviceNames: [String]
    private var sentFiles: Set<String> = []

    /// Starts a stream answering from `index`, listing `serviceNames`.
    init(index: ReflectionIndex, serviceNames: [String]) {
        self.index = index
        self.serviceNames = serviceNames
    }

    /// Answers `query`; failures are answers too (grpc's reflection servers keep the stream open).
    mutating func answer(_ query: ReflectionQuery) -> ReflectionAnswer {
        switch query {
        case .fileByFilename(let path):
            return files(from: path) ?? .error(.notFound, "file not found: \(path)")
        case .fileContainingSymbol(let symbol):
            // A leading dot is how descriptors spell fully-qualified names; accept it.
            let name = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
            guard let path = index.filePath(containingSymbol: name) else {
                return .error(.notFound, "symbol not found: \(symbol)")
            }
            return files(from: path) ?? .error(.notFound, "symbol not found: \(symbol)")
        case .fileContainingExtension(let containingType, let number):
            guard let path = index.filePath(containingExtension: number, of: containingType) else {
                return .error(.notFound, "extension not found: \(containingType) field \(number)")
            }
            return files(from: path) ?? .error(.notFound, "extension not found: \(containingType) field \(number)")
        case .allExtensionNumbersOfType(let messageType):
            guard let numbers = index.extensionNumbers(of: messageType) else {
                return .error(.notFound, "message type not found: \(messageType)")
            }
            return .extensionNumbers(baseTypeName: messageType, numbers: numbers)
        case .listServices:
            return .serviceNames(serviceNames)
        case .unset:
            return .error(.invalidArgument, "the request sets no message_request")
        }
    }

    private mutating func files(from path: String) -> ReflectionAnswer? {
        index.descriptorsWithDependencies(ofFile: path, alreadySent: &sentFiles).map { .fileDescriptors($0) }
    }
}
