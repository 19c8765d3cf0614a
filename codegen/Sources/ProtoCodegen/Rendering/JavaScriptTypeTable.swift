/// The JavaScript name and module of every message and enum in a model, looked up by fully qualified proto name.
struct JavaScriptTypeTable {
    /// A message or enum: its exported name and the .proto file whose module exports it.
    struct Entry {
        /// The exported binding (`Grant`, `Outer_Middle_Inner`).
        var name: String
        /// The .proto path of the file declaring it.
        var file: String
    }

    private(set) var entries: [String: Entry] = [:]
    private(set) var messages: [String: MessageType] = [:]
    private(set) var enums: [String: EnumType] = [:]

    /// Indexes every file of `model`.
    init(model: ProtoModel) {
        for file in model.files {
            for message in file.messages { add(message, outer: nil, file: file.path) }
            for enumType in file.enums { add(enumType, outer: nil, file: file.path) }
        }
    }

    /// The entry of a message or enum; nil when the model does not know the name.
    func entry(_ fullName: String) -> Entry? { entries[fullName] }

    /// The exported name of a message or enum (unknown names are made identifier-shaped).
    func name(of fullName: String) -> String {
        entries[fullName]?.name ?? fullName.split(separator: ".").joined(separator: "_")
    }

    private mutating func add(_ message: MessageType, outer: String?, file: String) {
        let local = outer.map { "\($0)_\(message.name)" } ?? message.name
        entries[message.fullName] = Entry(name: JavaScriptNaming.bindingName(local), file: file)
        messages[message.fullName] = message
        for nested in message.nestedMessages where !nested.isMapEntry { add(nested, outer: local, file: file) }
        for nested in message.nestedEnums { add(nested, outer: local, file: file) }
    }

    private mutating func add(_ enumType: EnumType, outer: String?, file: String) {
        let local = outer.map { "\($0)_\(enumType.name)" } ?? enumType.name
        entries[enumType.fullName] = Entry(name: JavaScriptNaming.bindingName(local), file: file)
        enums[enumType.fullName] = enumType
    }
}

extension ScalarType {
    /// The `BinaryWriter`/`BinaryReader` method of this type in clients/web/lib/protobuf.js.
    var javaScriptCodec: String { rawValue }

    /// The wire type a single value of this type has.
    var wireType: Int {
        switch self {
        case .double, .fixed64, .sfixed64: 1
        case .string, .bytes: 2
        case .float, .fixed32, .sfixed32: 5
        default: 0
        }
    }

    /// Whether values are BigInt in JavaScript.
    var isSixtyFourBit: Bool {
        switch self {
        case .int64, .uint64, .sint64, .fixed64, .sfixed64: true
        default: false
        }
    }

    /// The JSDoc type of a value.
    var javaScriptType: String {
        switch self {
        case .bool: "boolean"
        case .string: "string"
        case .bytes: "Uint8Array"
        default: isSixtyFourBit ? "bigint" : "number"
        }
    }

    /// The JavaScript default value.
    var javaScriptZero: String {
        switch self {
        case .bool: "false"
        case .string: "\"\""
        case .bytes: "new Uint8Array(0)"
        default: isSixtyFourBit ? "0n" : "0"
        }
    }

    /// The condition under which implicit presence writes `value`: not zero or empty; floating-point values
    /// whenever their bit pattern is not +0.0 (so -0.0 and NaN are written).
    func javaScriptIsSet(_ value: String) -> String {
        switch self {
        case .bool: value
        case .string: "\(value) !== \"\""
        case .bytes: "\(value).length > 0"
        case .float, .double: "$pb.isNonZeroFloat(\(value))"
        default: isSixtyFourBit ? "\(value) !== 0n" : "\(value) !== 0"
        }
    }

    /// The key conversion of `clients/web/lib/protobuf.js`'s `MapKey` for plain-object map initialisers.
    var javaScriptMapKey: String {
        switch self {
        case .string: "$pb.MapKey.string"
        case .bool: "$pb.MapKey.bool"
        default: isSixtyFourBit ? "$pb.MapKey.bigint" : "$pb.MapKey.number"
        }
    }
}
