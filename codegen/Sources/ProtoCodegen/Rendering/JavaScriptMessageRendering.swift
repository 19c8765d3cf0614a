/// Message classes: a property per field or oneof, a constructor taking an initialiser object, `from`,
/// `toBinary` and `fromBinary`, and the `encode`/`decode` statics nested messages are written and read through.
extension JavaScriptRenderer {
    /// Writes the class of `message` (its nested types are written by the caller, at the top level).
    func writeMessage(_ message: MessageType, scope: Scope, to writer: inout JavaScriptWriter) {
        let className = scope.name(message.fullName, types: types)
        writer.jsDoc(message.comments, extra: message.isDeprecated ? ["@deprecated"] : [])
        writer.block("export class \(className) {") { writer in
            writer.line("/** The fully qualified proto name of this message type. */")
            writer.line("static typeName = \(JavaScriptNaming.literal(message.fullName));")
            var writtenOneofs: Set<Int> = []
            for field in message.fields {
                writer.beginMember()
                if let oneofIndex = field.oneofIndex {
                    guard writtenOneofs.insert(oneofIndex).inserted else { continue }
                    let oneof = message.oneofs[oneofIndex]
                    let doc = oneof.comments == .none ? ["The field set in oneof `\(oneof.name)`, if any."] : []
                    writer.jsDoc(
                        oneof.comments, extra: doc,
                        tags: ["@type {\(oneofType(oneofIndex, of: message, scope: scope))}"])
                    writer.line("\(JavaScriptNaming.propertyName(oneof.name)) = { case: undefined };")
                } else {
                    writer.jsDoc(
                        field.comments, extra: field.isDeprecated ? ["@deprecated"] : [],
                        tags: ["@type {\(propertyType(field, scope: scope))}"])
                    writer.line("\(JavaScriptNaming.propertyName(field.name)) = \(defaultValue(field));")
                }
            }

            writer.beginMember()
            writer.line(
                "/** Fields this schema does not know, each with its key, kept verbatim so they are written back. */")
            writer.line("#unknownFields = [];")

            writer.beginMember()
            writer.jsDoc(
                extra: [
                    "Creates a message with every field at its default, then sets the fields `init` has "
                        + "(plain objects are accepted for message fields, numbers and strings for 64-bit ones)."
                ],
                tags: ["@param {Partial<\(className)>} [init]"])
            writer.block("constructor(init) {") { writer in
                writer.line("if (init == null) return;")
                var initialisedOneofs: Set<Int> = []
                for field in message.fields {
                    if let oneofIndex = field.oneofIndex {
                        guard initialisedOneofs.insert(oneofIndex).inserted else { continue }
                        writeOneofInitialiser(oneofIndex, of: message, scope: scope, to: &writer)
                    } else {
                        let name = JavaScriptNaming.propertyName(field.name)
                        writer.compactIf(
                            "init.\(name) !== undefined",
                            "this.\(name) = \(initialValue(field, "init.\(name)", scope: scope));")
                    }
                }
            }

            writer.beginMember()
            writer.jsDoc(
                extra: ["`value` itself when it is a `\(className)`, otherwise a new one initialised from it."],
                tags: ["@param {\(className) | Partial<\(className)>} value", "@returns {\(className)}"])
            writer.block("static from(value) {") { writer in
                writer.line("return value instanceof \(className) ? value : new \(className)(value);")
            }

            writer.beginMember()
            writer.jsDoc(
                extra: [
                    "The deterministic encoding: fields in field-number order, packed repeated scalars, "
                        + "map entries sorted by key, default values left out, then the unknown fields."
                ],
                tags: ["@returns {Uint8Array}"])
            writer.block("toBinary() {") { writer in
                writer.line("const writer = new $pb.BinaryWriter();")
                writer.line("\(className).encode(this, writer);")
                writer.line("return writer.finish();")
            }

            writer.beginMember()
            writer.jsDoc(
                extra: ["Decodes `bytes`; throws a `ProtobufError` saying what is wrong when they are malformed."],
                tags: [
                    "@param {Uint8Array} bytes", "@param {{ depthLimit?: number }} [options]",
                    "@returns {\(className)}",
                ])
            writer.block("static fromBinary(bytes, options) {") { writer in
                writer.line("const reader = new $pb.BinaryReader(bytes, options);")
                writer.line("return \(className).decode(reader, reader.end, new \(className)());")
            }

            writer.beginMember()
            writeEncode(message, className: className, scope: scope, to: &writer)

            writer.beginMember()
            writeDecode(message, className: className, scope: scope, to: &writer)
        }
    }

    /// The JSDoc type of a field's property.
    func propertyType(_ field: Field, scope: Scope) -> String {
        if case .map(let key, let value, _) = field.type {
            return "Map<\(key.javaScriptType), \(valueType(value, scope: scope))>"
        }
        if field.label == .repeated { return valueType(field.type, scope: scope) + "[]" }
        if field.isProto3Optional { return valueType(field.type, scope: scope) + " | undefined" }
        if case .message = field.type { return valueType(field.type, scope: scope) + " | undefined" }
        return valueType(field.type, scope: scope)
    }

    /// The JSDoc type of one value of `type`.
    func valueType(_ type: FieldType, scope: Scope) -> String {
        switch type {
        case .scalar(let scalar): scalar.javaScriptType
        case .enumeration: "number"
        case .message(let name): scope.name(name, types: types)
        case .map: "Map<unknown, unknown>"
        }
    }

    /// The JSDoc union of a oneof: one `{ case, value }` shape per member, and the unset shape.
    private func oneofType(_ index: Int, of message: MessageType, scope: Scope) -> String {
        let members = message.fields.filter { $0.oneofIndex == index }.map {
            "{ case: \(JavaScriptNaming.literal(JavaScriptNaming.propertyName($0.name))); value: \(valueType($0.type, scope: scope)) }"
        }
        return (members + ["{ case: undefined; value?: undefined }"]).joined(separator: " | ")
    }

    /// The initial value of a field's property.
    private func defaultValue(_ field: Field) -> String {
        if case .map = field.type { return "new Map()" }
        if field.label == .repeated { return "[]" }
        if field.isProto3Optional { return "undefined" }
        switch field.type {
        case .scalar(let scalar): return scalar.javaScriptZero
        case .enumeration: return "0"
        case .message, .map: return "undefined"
        }
    }

    /// `expression` (a value from an initialiser object) converted to what the property holds.
    private func initialValue(_ field: Field, _ expression: String, scope: Scope) -> String {
        if case .map(let key, let value, _) = field.type {
            return "$pb.toMap(\(expression), \(key.javaScriptMapKey), \(conversion(value, scope: scope) ?? "$pb.same"))"
        }
        if field.label == .repeated {
            if let conversion = conversion(field.type, scope: scope) {
                return "Array.from(\(expression), \(conversion))"
            }
            return "Array.from(\(expression))"
        }
        return converted(field.type, expression, scope: scope)
    }

    /// The function converting one initialiser value of `type`, nil when values are taken as they are.
    private func conversion(_ type: FieldType, scope: Scope) -> String? {
        switch type {
        case .scalar(let scalar) where scalar.isSixtyFourBit: "$pb.toBigInt"
        case .message(let name): "\(scope.name(name, types: types)).from"
        default: nil
        }
    }

    /// One initialiser value of `type` converted.
    private func converted(_ type: FieldType, _ expression: String, scope: Scope) -> String {
        conversion(type, scope: scope).map { "\($0)(\(expression))" } ?? expression
    }

    private func writeOneofInitialiser(
        _ index: Int, of message: MessageType, scope: Scope, to writer: inout JavaScriptWriter
    ) {
        let property = JavaScriptNaming.propertyName(message.oneofs[index].name)
        writer.block("if (init.\(property) !== undefined) {") { writer in
            writer.line("const value = init.\(property).value;")
            writer.block("switch (init.\(property).case) {") { writer in
                for field in message.fields where field.oneofIndex == index {
                    let caseName = JavaScriptNaming.literal(JavaScriptNaming.propertyName(field.name))
                    writer.line("case \(caseName):")
                    writer.indented { writer in
                        writer.line(
                            "this.\(property) = { case: \(caseName), value: \(converted(field.type, "value", scope: scope)) };"
                        )
                        writer.line("break;")
                    }
                }
                writer.line("default:")
                writer.indented { writer in
                    writer.line("this.\(property) = { case: undefined };")
                }
            }
        }
    }
}
