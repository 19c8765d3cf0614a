/// The Swift name of every message and enum in a model, looked up by fully qualified proto name.
struct SwiftTypeTable {
    /// Type names generated code uses unqualified; a proto type with one of these names would shadow them,
    /// so it gets a `Message` or `Enum` suffix (as swift-protobuf does for `Type`).
    static let shadowingNames: Set<String> = [
        "Type", "Protocol", "Self", "Any", "String", "Bool", "Int", "Int32", "Int64", "UInt8", "UInt32", "UInt64",
        "Float", "Double", "Array", "Dictionary", "Optional", "Error", "Sendable", "Hashable", "CaseIterable",
        "UnknownFields", "ProtoWriter", "ProtoReader", "ProtoBox", "ProtoMessage", "ProtoEnum", "FieldTag",
        "ProtoDecodingError", "ProtoFileDescriptor", "Base64", "ServerContext", "ServiceDefinition",
        "MethodDescriptor", "CallOptions", "ResponseWriter", "RequestStream", "ResponseStream", "ClientTransport",
    ]

    /// A message and where it lives.
    struct MessageEntry {
        /// The message.
        var message: MessageType
        /// Its Swift type name, qualified from the top level (`Healthledger_V1_Grant.Scope`).
        var swiftName: String
        /// Its own Swift name inside its parent (`Scope`).
        var localName: String
    }

    /// An enum and its Swift names.
    struct EnumEntry {
        /// The enum.
        var enumType: EnumType
        /// Its Swift type name, qualified from the top level.
        var swiftName: String
        /// Its own Swift name inside its parent.
        var localName: String
        /// Case names by value name, aliases included.
        var caseNames: [String: String]
    }

    private(set) var messages: [String: MessageEntry] = [:]
    private(set) var enums: [String: EnumEntry] = [:]

    /// Indexes every file of `model`.
    init(model: ProtoModel) {
        for file in model.files {
            let prefix = SwiftNaming.typePrefix(for: file)
            for message in file.messages {
                add(message, parent: nil, prefix: prefix)
            }
            for enumType in file.enums {
                add(enumType, parent: nil, prefix: prefix)
            }
        }
    }

    /// The message with this fully qualified name.
    func message(_ fullName: String) -> MessageEntry? { messages[fullName] }

    /// The enum with this fully qualified name.
    func enumeration(_ fullName: String) -> EnumEntry? { enums[fullName] }

    /// Swift type of a message or enum; falls back to the proto name made Swift-shaped when unknown.
    func swiftName(of fullName: String) -> String {
        messages[fullName]?.swiftName ?? enums[fullName]?.swiftName
            ?? fullName.split(separator: ".").map { String($0) }.joined(separator: "_")
    }

    /// The Swift expression for an enum's zero value (`.unspecified`).
    func zeroValue(ofEnum fullName: String) -> String {
        guard let entry = enums[fullName], let zero = entry.enumType.values.first(where: { $0.number == 0 }),
            let name = entry.caseNames[zero.name]
        else { return "\(swiftName(of: fullName))(rawValue: 0)" }
        return SwiftNaming.dotted(name)
    }

    private mutating func add(_ message: MessageType, parent: String?, prefix: String) {
        let local = Self.localName(message.name, prefix: parent == nil ? prefix : "", suffix: "Message")
        let swiftName = parent.map { "\($0).\(local)" } ?? local
        messages[message.fullName] = MessageEntry(message: message, swiftName: swiftName, localName: local)
        for nested in message.nestedMessages {
            add(nested, parent: swiftName, prefix: prefix)
        }
        for nested in message.nestedEnums {
            add(nested, parent: swiftName, prefix: prefix)
        }
    }

    private mutating func add(_ enumType: EnumType, parent: String?, prefix: String) {
        let local = Self.localName(enumType.name, prefix: parent == nil ? prefix : "", suffix: "Enum")
        let swiftName = parent.map { "\($0).\(local)" } ?? local
        enums[enumType.fullName] = EnumEntry(
            enumType: enumType, swiftName: swiftName, localName: local, caseNames: Self.caseNames(of: enumType))
    }

    private static func localName(_ name: String, prefix: String, suffix: String) -> String {
        let candidate = prefix + name
        return shadowingNames.contains(candidate) || SwiftNaming.keywords.contains(candidate)
            ? candidate + suffix : candidate
    }

    /// Names the members that `ProtoEnum` conformance and `CaseIterable` add; a case may not take them.
    private static let reservedCaseNames: Set<String> = SwiftNaming.dotReservedNames.union([
        "rawValue", "allCases", "hashValue",
    ])

    /// Case names of an enum's values: the `ENUM_NAME_` prefix dropped when every value has it and what
    /// remains is a valid, distinct name; then lowerCamelCase, escaped.
    static func caseNames(of enumType: EnumType) -> [String: String] {
        let prefix = SwiftNaming.upperSnakeCase(enumType.name) + "_"
        func stripped(_ value: String) -> String? {
            guard value.hasPrefix(prefix) else { return nil }
            let rest = value.dropFirst(prefix.count)
            guard let first = rest.first, first.isLetter else { return nil }
            return String(rest)
        }
        var names: [String: String] = [:]
        var used: Set<String> = []
        for value in enumType.values {
            var name = SwiftNaming.lowerCamelCase(stripped(value.name) ?? value.name)
            if used.contains(name) {
                // Stripping made two different values collide: keep the full name for the later one.
                name = SwiftNaming.lowerCamelCase(value.name)
            }
            if reservedCaseNames.contains(name) { name += "_" }
            used.insert(name)
            names[value.name] = SwiftNaming.escaped(name)
        }
        return names
    }
}
