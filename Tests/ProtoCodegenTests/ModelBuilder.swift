import ProtoCodegen

/// Builds `ProtoModel` values by hand for tests that must not depend on the parser: each declaration gets the
/// next line of a pretend source file, so source order is declaration order.
struct ModelBuilder {
    /// The pretend file every location points into.
    let path: String
    /// The package of the pretend file.
    let package: String
    private var line = 0

    init(path: String = "demo/v1/sample.proto", package: String = "demo.v1") {
        self.path = path
        self.package = package
    }

    /// The location of the next declaration.
    mutating func location() -> SourceLocation {
        line += 1
        return SourceLocation(file: path, line: line, column: 1)
    }

    /// The fully qualified name of `name` in this package.
    func qualified(_ name: String) -> String { package.isEmpty ? name : "\(package).\(name)" }

    /// A field as the resolver would produce it: label, packing and JSON name derived like protoc.
    mutating func field(
        _ name: String, _ number: Int, _ type: FieldType, repeated: Bool = false, optional: Bool = false,
        oneof: Int? = nil, packed: Bool? = nil, deprecated: Bool = false, comments: Comments = .none
    ) -> Field {
        var isMap = false
        if case .map = type { isMap = true }
        var packable = false
        if case .scalar(let scalar) = type { packable = scalar.isPackable }
        if case .enumeration = type { packable = true }
        return Field(
            name: name, number: number, label: repeated || isMap ? .repeated : .optional, type: type,
            jsonName: Self.jsonName(name), isProto3Optional: optional, oneofIndex: oneof,
            isPacked: repeated && packable && (packed ?? true), explicitPackedOption: packed, isDeprecated: deprecated,
            comments: comments, location: location())
    }

    /// The synthetic entry message of `map<key, value> fieldName` inside `parent`.
    mutating func mapEntry(in parent: String, field fieldName: String, key: ScalarType, value: FieldType) -> MessageType {
        let name = fieldName.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Entry"
        let keyField = field("key", 1, .scalar(key))
        let valueField = field("value", 2, value)
        return MessageType(
            name: name, fullName: "\(parent).\(name)", fields: [keyField, valueField], isMapEntry: true,
            location: location())
    }

    /// An enum value.
    mutating func value(_ name: String, _ number: Int32, comments: Comments = .none) -> EnumValue {
        EnumValue(name: name, number: number, comments: comments, location: location())
    }

    /// protoc's JSON name: lowerCamelCase of the field name, dropping underscores.
    static func jsonName(_ name: String) -> String {
        var result = ""
        var upperNext = false
        for character in name {
            if character == "_" {
                upperNext = true
            } else {
                result += upperNext ? character.uppercased() : String(character)
                upperNext = false
            }
        }
        return result
    }
}
