// The resolved model of a set of .proto files: every name is fully qualified and every type reference
// resolved. The parser and resolver produce it; the Swift renderer and the descriptor builder read it.

/// A position in a .proto source file, 1-based, used in every error the generator reports.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file path as given on the command line or import (relative to its include root).
    public var file: String
    /// Line number, starting at 1.
    public var line: Int
    /// Column number (in Unicode scalars), starting at 1.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, the form compilers and editors understand.
    public var description: String { "\(file):\(line):\(column)" }
}

/// The comments attached to a declaration, as protoc attaches them: the block immediately above it
/// (leading) and the one on the same line after it (trailing). Comment markers are stripped.
public struct Comments: Hashable, Sendable {
    /// Text of the comment block right above the declaration, lines joined with "\n".
    public var leading: String
    /// Text of the comment after the declaration on the same line.
    public var trailing: String

    /// Creates comments.
    public init(leading: String = "", trailing: String = "") {
        self.leading = leading
        self.trailing = trailing
    }

    /// No comment at all.
    public static let none = Comments()
}

/// One of the 15 proto3 scalar types, with its `FieldDescriptorProto.Type` number.
public enum ScalarType: String, Hashable, Sendable, CaseIterable {
    case double, float, int64, uint64, int32, fixed64, fixed32, bool, string, bytes, uint32, sfixed32,
        sfixed64, sint32, sint64

    /// The `google.protobuf.FieldDescriptorProto.Type` value.
    public var descriptorType: Int {
        switch self {
        case .double: 1
        case .float: 2
        case .int64: 3
        case .uint64: 4
        case .int32: 5
        case .fixed64: 6
        case .fixed32: 7
        case .bool: 8
        case .string: 9
        case .bytes: 12
        case .uint32: 13
        case .sfixed32: 15
        case .sfixed64: 16
        case .sint32: 17
        case .sint64: 18
        }
    }

    /// Whether repeated fields of this type are packed by default in proto3.
    public var isPackable: Bool { self != .string && self != .bytes }

    /// Whether this type may be a map key (every integral type, bool and string).
    public var isValidMapKey: Bool { self != .double && self != .float && self != .bytes }
}

/// The type of a field after resolution.
public indirect enum FieldType: Hashable, Sendable {
    /// A scalar value.
    case scalar(ScalarType)
    /// A message, by fully qualified name without leading dot ("healthledger.v1.Grant").
    case message(String)
    /// An enum, by fully qualified name without leading dot.
    case enumeration(String)
    /// `map<K, V>`; `entry` is the fully qualified name of the synthetic `<Field>Entry` message that the
    /// resolver adds to the containing message's `nestedMessages` (with `isMapEntry == true`).
    case map(key: ScalarType, value: FieldType, entry: String)
}

/// The cardinality of a field as `FieldDescriptorProto.Label` says it (proto3 singular is `.optional`).
public enum FieldLabel: Int, Hashable, Sendable {
    case optional = 1
    case repeated = 3
}

/// A message field.
public struct Field: Hashable, Sendable {
    /// Name as written in the .proto (snake_case).
    public var name: String
    /// Field number, 1 ... 536_870_911 minus the reserved 19000 ... 19999.
    public var number: Int
    /// `.repeated` for repeated and map fields, `.optional` otherwise.
    public var label: FieldLabel
    /// The resolved type.
    public var type: FieldType
    /// JSON name: the `json_name` option, or lowerCamelCase of `name` as protoc computes it.
    public var jsonName: String
    /// Whether an explicit `json_name` option was given (protoc records it the same either way).
    public var hasExplicitJSONName: Bool
    /// Declared with the proto3 `optional` keyword (explicit presence, a synthetic oneof in descriptors).
    public var isProto3Optional: Bool
    /// Index into the containing message's `oneofs` when declared inside a `oneof` block.
    public var oneofIndex: Int?
    /// Whether a repeated scalar is encoded packed (proto3 default true; `[packed = false]` turns it off).
    public var isPacked: Bool
    /// Whether an explicit `packed` option was written (descriptors record explicit options only).
    public var explicitPackedOption: Bool?
    /// `[deprecated = true]`.
    public var isDeprecated: Bool
    /// Comments on the field.
    public var comments: Comments
    /// Where the field is declared.
    public var location: SourceLocation

    /// Creates a field.
    public init(
        name: String, number: Int, label: FieldLabel, type: FieldType, jsonName: String,
        hasExplicitJSONName: Bool = false, isProto3Optional: Bool = false, oneofIndex: Int? = nil,
        isPacked: Bool = false, explicitPackedOption: Bool? = nil, isDeprecated: Bool = false,
        comments: Comments = .none, location: SourceLocation
    ) {
        self.name = name
        self.number = number
        self.label = label
        self.type = type
        self.jsonName = jsonName
        self.hasExplicitJSONName = hasExplicitJSONName
        self.isProto3Optional = isProto3Optional
        self.oneofIndex = oneofIndex
        self.isPacked = isPacked
        self.explicitPackedOption = explicitPackedOption
        self.isDeprecated = isDeprecated
        self.comments = comments
        self.location = location
    }
}

/// A `oneof` block as written (synthetic oneofs of proto3 `optional` fields are not listed here).
public struct Oneof: Hashable, Sendable {
    /// Name as written.
    public var name: String
    /// Comments on the oneof.
    public var comments: Comments

    /// Creates a oneof.
    public init(name: String, comments: Comments = .none) {
        self.name = name
        self.comments = comments
    }
}

/// An inclusive range of reserved numbers (`reserved 5 to 9;` is 5...9, `to max` ends at the maximum).
public typealias ReservedRange = ClosedRange<Int>

/// A message type.
public struct MessageType: Hashable, Sendable {
    /// Simple name ("Grant").
    public var name: String
    /// Fully qualified name without leading dot ("healthledger.v1.Grant").
    public var fullName: String
    /// Fields in declaration order.
    public var fields: [Field]
    /// Real oneofs in declaration order.
    public var oneofs: [Oneof]
    /// Nested messages in declaration order, map entry messages included: each entry sits where its map field
    /// is declared, as protoc orders `nested_type`.
    public var nestedMessages: [MessageType]
    /// Nested enums in declaration order.
    public var nestedEnums: [EnumType]
    /// Reserved field numbers.
    public var reservedRanges: [ReservedRange]
    /// Reserved field names.
    public var reservedNames: [String]
    /// A synthetic `map<K, V>` entry message.
    public var isMapEntry: Bool
    /// `option deprecated = true;`.
    public var isDeprecated: Bool
    /// Comments on the message.
    public var comments: Comments
    /// Where it is declared.
    public var location: SourceLocation

    /// Creates a message type.
    public init(
        name: String, fullName: String, fields: [Field] = [], oneofs: [Oneof] = [],
        nestedMessages: [MessageType] = [], nestedEnums: [EnumType] = [], reservedRanges: [ReservedRange] = [],
        reservedNames: [String] = [], isMapEntry: Bool = false, isDeprecated: Bool = false,
        comments: Comments = .none, location: SourceLocation
    ) {
        self.name = name
        self.fullName = fullName
        self.fields = fields
        self.oneofs = oneofs
        self.nestedMessages = nestedMessages
        self.nestedEnums = nestedEnums
        self.reservedRanges = reservedRanges
        self.reservedNames = reservedNames
        self.isMapEntry = isMapEntry
        self.isDeprecated = isDeprecated
        self.comments = comments
        self.location = location
    }
}

/// One value of an enum.
public struct EnumValue: Hashable, Sendable {
    /// Name as written ("EFFECT_PERMIT").
    public var name: String
    /// Number.
    public var number: Int32
    /// Comments on the value.
    public var comments: Comments
    /// Where it is declared.
    public var location: SourceLocation

    /// Creates an enum value.
    public init(name: String, number: Int32, comments: Comments = .none, location: SourceLocation) {
        self.name = name
        self.number = number
        self.comments = comments
        self.location = location
    }
}

/// An enum type (proto3: open, first value 0).
public struct EnumType: Hashable, Sendable {
    /// Simple name.
    public var name: String
    /// Fully qualified name without leading dot.
    public var fullName: String
    /// Values in declaration order.
    public var values: [EnumValue]
    /// `option allow_alias = true;`.
    public var allowAlias: Bool
    /// Reserved numbers.
    public var reservedRanges: [ClosedRange<Int32>]
    /// Reserved names.
    public var reservedNames: [String]
    /// Comments on the enum.
    public var comments: Comments
    /// Where it is declared.
    public var location: SourceLocation

    /// Creates an enum type.
    public init(
        name: String, fullName: String, values: [EnumValue], allowAlias: Bool = false,
        reservedRanges: [ClosedRange<Int32>] = [], reservedNames: [String] = [], comments: Comments = .none,
        location: SourceLocation
    ) {
        self.name = name
        self.fullName = fullName
        self.values = values
        self.allowAlias = allowAlias
        self.reservedRanges = reservedRanges
        self.reservedNames = reservedNames
        self.comments = comments
        self.location = location
    }
}

/// An RPC method.
public struct Method: Hashable, Sendable {
    /// Name as written ("AuditStream").
    public var name: String
    /// Fully qualified request message name.
    public var inputType: String
    /// Fully qualified response message name.
    public var outputType: String
    /// `stream` on the request.
    public var clientStreaming: Bool
    /// `stream` on the response.
    public var serverStreaming: Bool
    /// Comments on the method.
    public var comments: Comments
    /// Where it is declared.
    public var location: SourceLocation

    /// Creates a method.
    public init(
        name: String, inputType: String, outputType: String, clientStreaming: Bool, serverStreaming: Bool,
        comments: Comments = .none, location: SourceLocation
    ) {
        self.name = name
        self.inputType = inputType
        self.outputType = outputType
        self.clientStreaming = clientStreaming
        self.serverStreaming = serverStreaming
        self.comments = comments
        self.location = location
    }
}

/// A service.
public struct Service: Hashable, Sendable {
    /// Simple name ("Ledger").
    public var name: String
    /// Fully qualified name ("healthledger.v1.Ledger").
    public var fullName: String
    /// Methods in declaration order.
    public var methods: [Method]
    /// Comments on the service.
    public var comments: Comments
    /// Where it is declared.
    public var location: SourceLocation

    /// Creates a service.
    public init(name: String, fullName: String, methods: [Method], comments: Comments = .none, location: SourceLocation)
    {
        self.name = name
        self.fullName = fullName
        self.methods = methods
        self.comments = comments
        self.location = location
    }
}

/// A file-level `option name = value;` kept as written (the generator uses `swift_prefix`; descriptors
/// record the standard FileOptions it knows).
public struct FileOption: Hashable, Sendable {
    /// Option name ("java_package", "go_package", "swift_prefix", ...).
    public var name: String
    /// The constant as written: a string's decoded text, or the identifier/number text.
    public var value: String
    /// Whether the constant was a string literal.
    public var isString: Bool

    /// Creates a file option.
    public init(name: String, value: String, isString: Bool) {
        self.name = name
        self.value = value
        self.isString = isString
    }
}

/// One resolved .proto file.
public struct ProtoFile: Hashable, Sendable {
    /// Path relative to its include root ("healthledger/v1/ledger.proto"), as imports name it.
    public var path: String
    /// Package ("healthledger.v1"), empty when none.
    public var package: String
    /// Imported paths in declaration order.
    public var dependencies: [String]
    /// Indexes into `dependencies` of `import public`.
    public var publicDependencies: [Int]
    /// Indexes into `dependencies` of `import weak`.
    public var weakDependencies: [Int]
    /// File options as written.
    public var options: [FileOption]
    /// Top-level messages in declaration order.
    public var messages: [MessageType]
    /// Top-level enums in declaration order.
    public var enums: [EnumType]
    /// Services in declaration order.
    public var services: [Service]
    /// Comment on the `syntax` line / file header, when present.
    public var comments: Comments

    /// Creates a file.
    public init(
        path: String, package: String, dependencies: [String] = [], publicDependencies: [Int] = [],
        weakDependencies: [Int] = [], options: [FileOption] = [], messages: [MessageType] = [],
        enums: [EnumType] = [], services: [Service] = [], comments: Comments = .none
    ) {
        self.path = path
        self.package = package
        self.dependencies = dependencies
        self.publicDependencies = publicDependencies
        self.weakDependencies = weakDependencies
        self.options = options
        self.messages = messages
        self.enums = enums
        self.services = services
        self.comments = comments
    }

    /// The value of a file option, when set.
    public func option(_ name: String) -> FileOption? { options.first { $0.name == name } }
}

/// Every file loaded for one generator run (those asked for and everything they import), resolved.
public struct ProtoModel: Hashable, Sendable {
    /// All files, dependencies before dependents.
    public var files: [ProtoFile]
    /// Paths of the files to generate code for (in the order given).
    public var filesToGenerate: [String]

    /// Creates a model.
    public init(files: [ProtoFile], filesToGenerate: [String]) {
        self.files = files
        self.filesToGenerate = filesToGenerate
    }

    /// The file with this path.
    public func file(_ path: String) -> ProtoFile? { files.first { $0.path == path } }
}
