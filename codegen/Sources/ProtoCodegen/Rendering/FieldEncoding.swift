/// `encodeFields(to:)`: every field in field-number order (oneof members included), then unknown fields.
extension SwiftRenderer {
    /// Writes the `encodeFields(to:)` method of `message`.
    func writeEncodeFields(_ message: MessageType, layout: MessageLayout, to writer: inout CodeWriter) {
        writer.line("/// Writes the fields that are set, in field-number order, then the unknown fields.")
        writer.block("public func encodeFields(to writer: inout ProtoWriter) {") { writer in
            for run in message.encodingRuns {
                if let oneofIndex = run[0].oneofIndex {
                    let complete = message.fields.filter { $0.oneofIndex == oneofIndex }.count == run.count
                    writeOneofEncode(run, oneofIndex: oneofIndex, complete: complete, layout: layout, to: &writer)
                } else {
                    writeFieldEncode(run[0], layout: layout, to: &writer)
                }
            }
            writer.line("writer.writeUnknown(unknownFields)")
        }
    }

    /// The call that writes one value of `type` as field `number` with `writer` (a `ProtoWriter` variable).
    func writeCall(_ type: FieldType, value: String, number: Int, writer: String = "writer") -> String {
        switch type {
        case .scalar(let scalar): "\(writer).write\(scalar.codecName)(\(value), field: \(number))"
        case .enumeration: "\(writer).writeEnum(\(value), field: \(number))"
        case .message, .map: "\(writer).writeMessage(\(value), field: \(number))"
        }
    }

    private func writeFieldEncode(_ field: Field, layout: MessageLayout, to writer: inout CodeWriter) {
        guard let name = layout.propertyNames[field.number] else { return }
        let reference = MessageLayout.reference(name)

        if case .map(let key, let value, _) = field.type {
            writer.block("for (key, value) in \(reference).sorted(by: \(Self.keyOrder(key))) {") { writer in
                writer.block("writer.writeLengthDelimited(field: \(field.number)) { entry in") { writer in
                    // Key and value are both always written, even at their defaults, as protoc's runtimes do.
                    writer.line(writeCall(.scalar(key), value: "key", number: 1, writer: "entry"))
                    writer.line(writeCall(value, value: "value", number: 2, writer: "entry"))
                }
            }
            return
        }

        if field.label == .repeated {
            switch field.type {
            case .scalar(let scalar) where scalar.isPackable && field.isPacked:
                writer.line("writer.writePacked\(scalar.codecName)(\(reference), field: \(field.number))")
            case .enumeration where field.isPacked:
                writer.line("writer.writePackedEnum(\(reference), field: \(field.number))")
            default:
                writer.compactBlock(
                    "for element in \(reference)", writeCall(field.type, value: "element", number: field.number))
            }
            return
        }

        let hasPresence: Bool
        if case .message = field.type { hasPresence = true } else { hasPresence = field.isProto3Optional }
        if hasPresence {
            let plain = !name.hasPrefix("`") && !MessageLayout.localNames.contains(name)
            let binding = plain ? name : "fieldValue"
            let condition = plain ? "if let \(name)" : "if let fieldValue = self.\(name)"
            writer.compactBlock(condition, writeCall(field.type, value: binding, number: field.number))
            return
        }

        switch field.type {
        case .scalar(let scalar):
            writer.compactBlock(
                "if \(scalar.isSetCondition(reference))", writeCall(field.type, value: reference, number: field.number))
        case .enumeration:
            writer.compactBlock(
                "if \(reference).rawValue != 0", writeCall(field.type, value: reference, number: field.number))
        case .message, .map:
            break
        }
    }

    private func writeOneofEncode(
        _ run: [Field], oneofIndex: Int, complete: Bool, layout: MessageLayout, to writer: inout CodeWriter
    ) {
        guard let property = layout.oneofPropertyNames[oneofIndex] else { return }
        let reference = MessageLayout.reference(property)
        if run.count == 1, let field = run.first, let caseName = layout.caseNames[field.number] {
            writer.compactBlock(
                "if case \(SwiftNaming.dotted(caseName))(let value)? = \(reference)",
                writeCall(field.type, value: "value", number: field.number))
            return
        }
        writer.line("switch \(reference) {")
        for field in run {
            guard let caseName = layout.caseNames[field.number] else { continue }
            let pattern = "case \(SwiftNaming.dotted(caseName))(let value)?:"
            let call = writeCall(field.type, value: "value", number: field.number)
            if writer.fits("\(pattern) \(call)") {
                writer.line("\(pattern) \(call)")
            } else {
                writer.line(pattern)
                writer.indented { $0.line(call) }
            }
        }
        writer.line(complete ? "case nil: break" : "default: break")
        writer.line("}")
    }

    /// A closure ordering dictionary elements by key the way the contract fixes: strings by UTF-8 bytes,
    /// integers numerically, false before true.
    private static func keyOrder(_ key: ScalarType) -> String {
        switch key {
        case .string: "{ $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }"
        case .bool: "{ !$0.key && $1.key }"
        default: "{ $0.key < $1.key }"
        }
    }
}

extension CodeWriter {
    /// `opener { statement }` on one line when it fits, otherwise as a block.
    mutating func compactBlock(_ opener: String, _ statement: String) {
        let single = "\(opener) { \(statement) }"
        if fits(single) {
            line(single)
        } else {
            block("\(opener) {") { $0.line(statement) }
        }
    }
}
