// The parsed form of one .proto file: declarations as written, names unresolved, every part with the
// location of the token it came from so later stages can point at it.

/// A name or value together with where it was written.
struct Located<Value: Sendable>: Sendable {
    var value: Value
    var location: SourceLocation
}

/// A parsed .proto file.
struct FileSyntax: Sendable {
    var path: String
    /// The `syntax` statement's string (always "proto3" once parsing succeeded).
    var syntax: Located<String>
    /// Comments on the `syntax` statement.
    var syntaxComments: Comments
    var package: Located<String>?
    var imports: [ImportSyntax] = []
    var options: [OptionSyntax] = []
    var messages: [MessageSyntax] = []
    var enums: [EnumSyntax] = []
    var services: [ServiceSyntax] = []
}

/// `import [public|weak] "path";`
struct ImportSyntax: Sendable {
    enum Kind: Sendable { case normal, isPublic, weak }
    var path: String
    var kind: Kind
    /// The path string's location.
    var location: SourceLocation
}

/// A type as written in a field or method: a scalar keyword or a (possibly dotted, possibly
/// fully-qualified) message/enum name.
struct TypeReferenceSyntax: Sendable {
    var name: String
    var location: SourceLocation

    /// The scalar type when the name is one of the 15 scalar keywords.
    var scalar: ScalarType? { ScalarType(rawValue: name) }
}

/// One part of an option name: `java_package`, or `(foo.bar)` for an extension (custom option).
struct OptionNamePart: Sendable {
    var name: String
    var isExtension: Bool
}

/// An option constant.
enum OptionValueSyntax: Sendable {
    case identifier(String)
    case integer(isNegative: Bool, magnitude: UInt64)
    case float(Double)
    case string([UInt8])
    /// A text-format `{ ... }` message value, skipped.
    case aggregate
}

/// `option name = value;` or one `name = value` inside a field's `[...]`.
struct OptionSyntax: Sendable {
    var nameParts: [OptionNamePart]
    var value: OptionValueSyntax
    /// The value as written: the decoded string, or the identifier/number text with its sign.
    var valueText: String
    /// Where the name starts.
    var location: SourceLocation
    var valueLocation: SourceLocation

    /// The name as written, `(foo.bar).baz` style.
    var nameText: String {
        nameParts.map { $0.isExtension ? "(\($0.name))" : $0.name }.joined(separator: ".")
    }

    /// The name of a built-in option (`deprecated`), nil for custom `(...)` options.
    var builtInName: String? {
        guard let first = nameParts.first, !first.isExtension else { return nil }
        return nameText
    }

    /// The boolean constant, when the value is `true` or `false`.
    var boolValue: Bool? {
        if case .identifier(let name) = value { return name == "true" ? true : name == "false" ? false : nil }
        return nil
    }

    /// The string constant's text, when the value is a string.
    var stringValue: String? {
        if case .string(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }
}

/// A field label as written.
enum FieldLabelSyntax: String, Sendable {
    case optional, repeated, required
}

/// A message field (also the fields of a oneof and of an `extend` block).
struct FieldSyntax: Sendable {
    var label: Located<FieldLabelSyntax>?
    /// The value type; for a map, the key type is in `mapKey`.
    var type: TypeReferenceSyntax
    /// The key type of a `map<K, V>` field; nil for other fields.
    var mapKey: TypeReferenceSyntax?
    /// Where the field's first token (label, type or `map`) starts.
    var start: SourceLocation
    var name: Located<String>
    var number: Located<Int64>
    var options: [OptionSyntax]
    var comments: Comments

    var isMap: Bool { mapKey != nil }
}

/// `oneof name { ... }`.
struct OneofSyntax: Sendable {
    var name: Located<String>
    var options: [OptionSyntax]
    var fields: [FieldSyntax]
    var comments: Comments
}

/// One number or range in a `reserved` (or `extensions`) statement; `end` is nil for `to max`.
struct NumberRangeSyntax: Sendable {
    var start: Int64
    var end: Int64?
    var location: SourceLocation
}

/// `reserved 2, 9 to 11;` or `reserved "foo";`.
struct ReservedSyntax: Sendable {
    var ranges: [NumberRangeSyntax]
    var names: [Located<String>]
}

/// One item of a message body, kept in declaration order (protoc orders fields and nested types,
/// including synthetic map entries, by where they appear).
enum MessageMemberSyntax: Sendable {
    case field(FieldSyntax)
    case oneof(OneofSyntax)
    case message(MessageSyntax)
    case enumeration(EnumSyntax)
    case option(OptionSyntax)
    case reserved(ReservedSyntax)
    /// `extensions ...;`, which proto3 forbids; the location of the keyword.
    case extensionRange(SourceLocation)
}

/// `message Name { ... }`.
struct MessageSyntax: Sendable {
    var name: Located<String>
    var members: [MessageMemberSyntax]
    var comments: Comments

    /// Every field in declaration order, oneof members included, with the index of its oneof.
    var allFields: [(field: FieldSyntax, oneofIndex: Int?)] {
        var result: [(field: FieldSyntax, oneofIndex: Int?)] = []
        var oneofCount = 0
        for member in members {
            switch member {
            case .field(let field): result.append((field, nil))
            case .oneof(let oneof):
                result += oneof.fields.map { ($0, oneofCount) }
                oneofCount += 1
            default: break
            }
        }
        return result
    }

    var oneofs: [OneofSyntax] { members.compactMap { if case .oneof(let o) = $0 { o } else { nil } } }
    var options: [OptionSyntax] { members.compactMap { if case .option(let o) = $0 { o } else { nil } } }
    var reserved: [ReservedSyntax] { members.compactMap { if case .reserved(let r) = $0 { r } else { nil } } }
}

/// One `NAME = number [options];` of an enum.
struct EnumValueSyntax: Sendable {
    var name: Located<String>
    var number: Located<Int64>
    var options: [OptionSyntax]
    var comments: Comments
}

/// `enum Name { ... }`.
struct EnumSyntax: Sendable {
    var name: Located<String>
    var values: [EnumValueSyntax]
    var options: [OptionSyntax]
    var reserved: [ReservedSyntax]
    var comments: Comments
}

/// `rpc Name (stream A) returns (stream B);`.
struct MethodSyntax: Sendable {
    var name: Located<String>
    var input: TypeReferenceSyntax
    var clientStreaming: Bool
    var output: TypeReferenceSyntax
    var serverStreaming: Bool
    var options: [OptionSyntax]
    var comments: Comments
}

/// `service Name { ... }`.
struct ServiceSyntax: Sendable {
    var name: Located<String>
    var methods: [MethodSyntax]
    var options: [OptionSyntax]
    var comments: Comments
}
