/// Message structs: properties, oneof enums, nested types, and the encode/decode methods.
extension SwiftRenderer {
    /// Writes the struct for `message` (nested types inside it).
    func writeMessage(_ message: MessageType, to writer: inout CodeWriter) {
        guard let entry = types.message(message.fullName) else { return }
        let nested = Self.sourceOrdered(
            message.nestedMessages.filter { !$0.isMapEntry }.map(Declaration.message)
                + message.nestedEnums.map(Declaration.enumeration))
        let nestedNames = Set(
            message.nestedMessages.compactMap { types.message($0.fullName)?.localName }
                + message.nestedEnums.compactMap { types.enumeration($0.fullName)?.localName })
        let layout = MessageLayout(message: message, nestedTypeNames: nestedNames)

        writer.docComment(message.comments, extra: message.isDeprecated ? [Self.deprecationNote("message")] : [])
        writer.block("public struct \(entry.localName): ProtoMessage {") { writer in
            writer.line("public static let protoMessageName = \(Self.literal(message.fullName))")

            var writtenOneofs: Set<Int> = []
            for field in message.fields {
                if let oneofIndex = field.oneofIndex {
                    guard writtenOneofs.insert(oneofIndex).inserted else { continue }
                    writeOneofProperty(oneofIndex, of: message, layout: layout, to: &writer)
                } else {
                    writeProperty(field, of: message, layout: layout, to: &writer)
                }
            }

            writer.beginMember()
            writer.line("/// Fields this schema doesn't know, kept verbatim so they survive decoding and re-encoding.")
            writer.line("public var unknownFields = UnknownFields()")

            for index in message.oneofs.indices {
                writer.beginMember()
                writeOneofEnum(index, of: message, layout: layout, to: &writer)
            }

            for declaration in nested {
                writer.beginMember()
                switch declaration {
                case .message(let nestedMessage): writeMessage(nestedMessage, to: &writer)
                case .enumeration(let nestedEnum): writeEnum(nestedEnum, to: &writer)
                }
            }

            writer.beginMember()
            writer.line("/// Creates a message with every field at its default value.")
            writer.line("public init() {}")

            writer.beginMember()
            writeEncodeFields(message, layout: layout, to: &writer)

            writer.beginMember()
            writeDecodeFields(message, layout: layout, to: &writer)
        }
    }

    /// The doc line that marks a declaration deprecated in the .proto file.
    static func deprecationNote(_ kind: String) -> String {
        "- Note: This \(kind) is marked deprecated in the .proto file."
    }

    private func writeProperty(_ field: Field, of message: MessageType, layout: MessageLayout, to writer: inout CodeWriter) {
        guard let name = layout.propertyNames[field.number] else { return }
        var notes: [String] = []
        if layout.renamedFields.contains(field.number) {
            notes.append(
                "Named `\(name)` because `\(SwiftNaming.lowerCamelCase(field.name))` is a member every message has "
                    + "(proto field `\(field.name)`).")
        }
        if field.isDeprecated { notes.append(Self.deprecationNote("field")) }

        writer.beginMember()
        writer.docComment(field.comments, extra: notes)
        if recursion.isBoxed(field, in: message) {
            let type = swiftType(field.type)
            let storage = "_" + SwiftNaming.unescaped(name)
            writer.block("public var \(name): \(type)? {") { writer in
                writer.line("get { \(storage)?.value }")
                writer.line("set { \(storage) = newValue.map(ProtoBox.init) }")
            }
            writer.beginMember()
            writer.line("/// Heap storage of `\(SwiftNaming.unescaped(name))`: the message contains itself through this field.")
            writer.line("private var \(storage): ProtoBox<\(type)>? = nil")
            return
        }
        writer.line("public var \(name): \(propertyType(field)) = \(defaultValue(field))")
    }

    /// The declared Swift type of a field's property.
    private func propertyType(_ field: Field) -> String {
        if case .map = field.type { return swiftType(field.type) }
        if field.label == .repeated { return "[\(swiftType(field.type))]" }
        if field.isProto3Optional { return swiftType(field.type) + "?" }
        if case .message = field.type { return swiftType(field.type) + "?" }
        return swiftType(field.type)
    }

    /// The initial value of a field's property.
    private func defaultValue(_ field: Field) -> String {
        if case .map = field.type { return "[:]" }
        if field.label == .repeated { return "[]" }
        if field.isProto3Optional { return "nil" }
        switch field.type {
        case .message: return "nil"
        case .enumeration(let name): return types.zeroValue(ofEnum: name)
        case .scalar(let scalar): return scalar.zeroLiteral
        case .map: return "[:]"
        }
    }

    private func writeOneofProperty(_ index: Int, of message: MessageType, layout: MessageLayout, to writer: inout CodeWriter) {
        guard let name = layout.oneofPropertyNames[index], let type = layout.oneofTypeNames[index] else { return }
        writer.beginMember()
        let oneof = message.oneofs[index]
        writer.docComment(oneof.comments, extra: oneof.comments == .none ? ["The field set in oneof `\(oneof.name)`, if any."] : [])
        writer.line("public var \(name): \(type)? = nil")
    }

    private func writeOneofEnum(_ index: Int, of message: MessageType, layout: MessageLayout, to writer: inout CodeWriter) {
        guard let type = layout.oneofTypeNames[index] else { return }
        let oneof = message.oneofs[index]
        let indirect = recursion.isIndirect(oneof, in: message) ? "indirect " : ""
        writer.line("/// The fields of oneof `\(oneof.name)`; at most one is set.")
        writer.block("public \(indirect)enum \(type): Hashable, Sendable {") { writer in
            for field in message.fields where field.oneofIndex == index {
                guard let caseName = layout.caseNames[field.number] else { continue }
                writer.beginMember()
                writer.docComment(field.comments, extra: field.isDeprecated ? [Self.deprecationNote("field")] : [])
                writer.line("case \(caseName)(\(swiftType(field.type)))")
            }
        }
    }
}
