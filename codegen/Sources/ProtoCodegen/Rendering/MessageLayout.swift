/// The Swift member names of one message: a property per field or oneof, a case per oneof member, and the
/// names of the oneof enums, with keyword escaping and collision renames applied.
struct MessageLayout {
    /// Members every generated message has; a field that would take one of these names gets a `_p` suffix.
    static let reservedPropertyNames: Set<String> = [
        "unknownFields", "protoMessageName", "encodeFields", "decodeFields", "serializedBytes", "merge",
        "hashValue", "hash",
    ]

    /// Names the generated methods use for their locals; fields with these names are referenced via `self.`.
    static let localNames: Set<String> = [
        "writer", "reader", "tag", "entry", "entryTag", "key", "value", "element", "ignored", "current",
        "fieldValue",
    ]

    /// Property name (escaped) for fields outside oneofs, by field number.
    private(set) var propertyNames: [Int: String] = [:]
    /// Case name (escaped) for oneof members, by field number.
    private(set) var caseNames: [Int: String] = [:]
    /// Property name (escaped) of each oneof, by oneof index.
    private(set) var oneofPropertyNames: [Int: String] = [:]
    /// Enum type name of each oneof, by oneof index.
    private(set) var oneofTypeNames: [Int: String] = [:]
    /// Fields renamed because their natural name is a generated member's, by field number.
    private(set) var renamedFields: Set<Int> = []

    /// Names the members of `message`; `nestedTypeNames` are the Swift names of its nested types.
    init(message: MessageType, nestedTypeNames: Set<String>) {
        for (index, oneof) in message.oneofs.enumerated() {
            oneofPropertyNames[index] = Self.propertyName(oneof.name).name
            var typeName = SwiftNaming.upperCamelCase(oneof.name)
            if nestedTypeNames.contains(typeName) || SwiftTypeTable.shadowingNames.contains(typeName)
                || SwiftNaming.keywords.contains(typeName)
            {
                typeName += "Oneof"
            }
            oneofTypeNames[index] = typeName
        }
        for field in message.fields {
            if field.oneofIndex != nil {
                var caseName = SwiftNaming.lowerCamelCase(field.name)
                if SwiftNaming.dotReservedNames.contains(caseName) { caseName += "_" }
                caseNames[field.number] = SwiftNaming.escaped(caseName)
            } else {
                let (name, renamed) = Self.propertyName(field.name)
                propertyNames[field.number] = name
                if renamed { renamedFields.insert(field.number) }
            }
        }
    }

    /// The property name of a proto field or oneof name, and whether it had to be renamed.
    private static func propertyName(_ protoName: String) -> (name: String, renamed: Bool) {
        let camel = SwiftNaming.lowerCamelCase(protoName)
        if reservedPropertyNames.contains(camel) { return (camel + "_p", true) }
        return (SwiftNaming.escaped(camel), false)
    }

    /// How generated methods refer to a property: bare, or through `self.` when a local has its name or
    /// the name is escaped (a bare `` `self` `` would mean the message itself).
    static func reference(_ property: String) -> String {
        localNames.contains(property) || property.hasPrefix("`") ? "self.\(property)" : property
    }
}
