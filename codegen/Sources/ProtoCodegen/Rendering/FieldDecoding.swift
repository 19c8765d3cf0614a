/// `decodeFields(from:)`: a `switch` on the field number; numbers the schema doesn't know go to unknownFields.
extension SwiftRenderer {
    /// Writes the `decodeFields(from:)` method of `message`.
    func writeDecodeFields(_ message: MessageType, layout: MessageLayout, to writer: inout CodeWriter) {
        writer.line("/// Reads fields until the end of the message, merging them into this one.")
        writer.block("public mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {") {
            writer in
            let fields = message.fields.sorted { $0.number < $1.number }
            if fields.isEmpty {
                writer.block("while let tag = try reader.nextTag() {") { writer in
                    writer.line("try reader.skipField(tag, into: &unknownFields)")
                }
                return
            }
            writer.block("while let tag = try reader.nextTag() {") { writer in
                writer.line("switch tag.fieldNumber {")
                for field in fields {
                    let statements = decodeStatements(field, of: message, layout: layout)
                    let single = "case \(field.number): \(statements[0].text)"
                    if statements.count == 1, writer.fits(single) {
                        writer.line(single)
                    } else {
                        writer.line("case \(field.number):")
                        writer.indented { writer in
                            for statement in statements { writer.line(statement.text, depth: statement.depth) }
                        }
                    }
                }
                writer.line("default: try reader.skipField(tag, into: &unknownFields)")
                writer.line("}")
            }
        }
    }

    /// The call that reads one value of `type` from `reader` (a `ProtoReader` variable) for a field `tag`.
    private func readCall(_ type: FieldType, fieldName: String, reader: String = "reader", tag: String = "tag") -> String {
        let name = Self.literal(fieldName)
        switch type {
        case .scalar(let scalar): return "\(reader).read\(scalar.codecName)(\(tag), field: \(name))"
        case .enumeration: return "\(reader).readEnum(\(tag), field: \(name))"
        case .message, .map: return "\(reader).readMessage(\(tag), field: \(name))"
        }
    }

    /// One line of a `case` body and how many levels deeper than the body it is indented.
    private struct Statement: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
        var depth = 0
        var text: String

        init(_ text: String, depth: Int = 0) {
            self.text = text
            self.depth = depth
        }

        init(stringLiteral text: String) {
            self.init(text)
        }
    }

    /// The statements of one `case`.
    private func decodeStatements(_ field: Field, of message: MessageType, layout: MessageLayout) -> [Statement] {
        let fieldName = "\(message.fullName).\(field.name)"
        let literal = Self.literal(fieldName)

        if let oneofIndex = field.oneofIndex {
            guard let property = layout.oneofPropertyNames[oneofIndex], let caseName = layout.caseNames[field.number]
            else { return ["break"] }
            let reference = MessageLayout.reference(property)
            if case .message = field.type {
                // Merge into the message already set in this oneof, as protobuf's merge semantics require.
                return [
                    "var value = \(swiftType(field.type))()",
                    "if case \(SwiftNaming.dotted(caseName))(let current)? = \(reference) { value = current }",
                    "try reader.readMessage(tag, into: &value, field: \(literal))",
                    "\(reference) = \(SwiftNaming.dotted(caseName))(value)",
                ]
            }
            return [Statement("\(reference) = \(SwiftNaming.dotted(caseName))(try \(readCall(field.type, fieldName: fieldName)))")]
        }

        guard let property = layout.propertyNames[field.number] else { return ["break"] }
        let reference = MessageLayout.reference(property)

        if case .map(let key, let value, let entryName) = field.type {
            let valueDefault: String
            switch value {
            case .scalar(let scalar): valueDefault = "var value: \(scalar.swiftType) = \(scalar.zeroLiteral)"
            case .enumeration(let name): valueDefault = "var value: \(swiftType(value)) = \(types.zeroValue(ofEnum: name))"
            case .message, .map: valueDefault = "var value = \(swiftType(value))()"
            }
            let valueRead: String
            if case .message = value {
                valueRead = "case 2: try entry.readMessage(entryTag, into: &value, field: \(Self.literal(entryName + ".value")))"
            } else {
                valueRead = "case 2: value = try \(readCall(value, fieldName: entryName + ".value", reader: "entry", tag: "entryTag"))"
            }
            let keyRead = readCall(.scalar(key), fieldName: entryName + ".key", reader: "entry", tag: "entryTag")
            return [
                "var key: \(key.swiftType) = \(key.zeroLiteral)",
                Statement(valueDefault),
                "try reader.readLengthDelimited(tag, field: \(literal)) {",
                Statement("(entry: inout ProtoReader) throws(ProtoDecodingError) in", depth: 1),
                Statement("var ignored = UnknownFields()", depth: 1),
                Statement("while let entryTag = try entry.nextTag() {", depth: 1),
                Statement("switch entryTag.fieldNumber {", depth: 2),
                Statement("case 1: key = try \(keyRead)", depth: 2),
                Statement(valueRead, depth: 2),
                Statement("default: try entry.skipField(entryTag, into: &ignored)", depth: 2),
                Statement("}", depth: 2),
                Statement("}", depth: 1),
                "}",
                "\(reference)[key] = value",
            ]
        }

        if field.label == .repeated {
            switch field.type {
            case .scalar(let scalar) where scalar.isPackable:
                return ["try reader.readRepeated\(scalar.codecName)(tag, into: &\(reference), field: \(literal))"]
            case .enumeration:
                return ["try reader.readRepeatedEnum(tag, into: &\(reference), field: \(literal))"]
            case .scalar:
                return ["\(reference).append(try \(readCall(field.type, fieldName: fieldName)))"]
            case .message, .map:
                // Decoded in place at the end of the array: no temporary copy of the element.
                return ["try reader.readRepeatedMessage(tag, into: &\(reference), field: \(literal))"]
            }
        }

        if case .message = field.type {
            return ["try reader.readMessage(tag, into: &\(reference), field: \(literal))"]
        }
        return ["\(reference) = try \(readCall(field.type, fieldName: fieldName))"]
    }
}
