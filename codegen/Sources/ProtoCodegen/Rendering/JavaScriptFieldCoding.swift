/// The `encode` and `decode` statics of a message class: fields written strictly in field-number order (oneof
/// members where their numbers fall), then unknown fields; decoding is a `switch` on the field number whose
/// every read names the fully qualified field for errors.
extension JavaScriptRenderer {
    /// Writes `static encode(message, writer)`.
    func writeEncode(_ message: MessageType, className: String, scope: Scope, to writer: inout JavaScriptWriter) {
        writer.jsDoc(
            extra: ["Writes the fields of `message` that are set, then its unknown fields."],
            tags: ["@param {\(className)} message", "@param {$pb.BinaryWriter} writer"])
        writer.block("static encode(message, writer) {") { writer in
            for run in message.encodingRuns {
                if let oneofIndex = run[0].oneofIndex {
                    writeOneofEncode(
                        run, property: JavaScriptNaming.propertyName(message.oneofs[oneofIndex].name),
                        scope: scope, to: &writer)
                } else {
                    writeFieldEncode(run[0], scope: scope, to: &writer)
                }
            }
            writer.line("for (const field of message.#unknownFields) writer.raw(field);")
        }
    }

    /// The statement writing one value of `type` as field `number`.
    private func writeStatement(_ type: FieldType, value: String, number: Int, scope: Scope) -> String {
        switch type {
        case .scalar(let scalar): "writer.tag(\(number), \(scalar.wireType)).\(scalar.javaScriptCodec)(\(value));"
        case .enumeration: "writer.tag(\(number), 0).enum(\(value));"
        case .message(let name): "writer.message(\(number), \(value), \(scope.name(name, types: types)));"
        case .map: "throw new Error(\"a map cannot be a map value\");"
        }
    }

    private func writeFieldEncode(_ field: Field, scope: Scope, to writer: inout JavaScriptWriter) {
        let property = "message.\(JavaScriptNaming.propertyName(field.name))"
        if case .map(let key, let value, _) = field.type {
            writer.block("for (const [key, value] of $pb.sortedEntries(\(property))) {") { writer in
                // Key and value are both always written, even at their defaults, as protoc's runtimes do.
                writer.line("const at = writer.tag(\(field.number), 2).beginLengthDelimited();")
                writer.line(writeStatement(.scalar(key), value: "key", number: 1, scope: scope))
                writer.line(writeStatement(value, value: "value", number: 2, scope: scope))
                writer.line("writer.endLengthDelimited(at);")
            }
            return
        }
        if field.label == .repeated {
            let codec: String?
            switch field.type {
            case .scalar(let scalar) where scalar.isPackable && field.isPacked: codec = scalar.javaScriptCodec
            case .enumeration where field.isPacked: codec = "enum"
            default: codec = nil
            }
            if let codec {
                writer.block("if (\(property).length > 0) {") { writer in
                    writer.line("const at = writer.tag(\(field.number), 2).beginLengthDelimited();")
                    writer.line("for (const value of \(property)) writer.\(codec)(value);")
                    writer.line("writer.endLengthDelimited(at);")
                }
            } else {
                writer.line(
                    "for (const value of \(property)) \(writeStatement(field.type, value: "value", number: field.number, scope: scope))"
                )
            }
            return
        }
        let hasPresence: Bool
        if case .message = field.type { hasPresence = true } else { hasPresence = field.isProto3Optional }
        let condition: String
        if hasPresence {
            condition = "\(property) !== undefined"
        } else {
            switch field.type {
            case .scalar(let scalar): condition = scalar.javaScriptIsSet(property)
            default: condition = "\(property) !== 0"
            }
        }
        writer.compactIf(condition, writeStatement(field.type, value: property, number: field.number, scope: scope))
    }

    private func writeOneofEncode(_ run: [Field], property: String, scope: Scope, to writer: inout JavaScriptWriter) {
        writer.block("switch (message.\(property).case) {") { writer in
            for field in run {
                writer.line("case \(JavaScriptNaming.literal(JavaScriptNaming.propertyName(field.name))):")
                writer.indented { writer in
                    writer.line(
                        writeStatement(
                            field.type, value: "message.\(property).value", number: field.number, scope: scope))
                    writer.line("break;")
                }
            }
        }
    }

    /// Writes `static decode(reader, end, message)`.
    func writeDecode(_ message: MessageType, className: String, scope: Scope, to writer: inout JavaScriptWriter) {
        writer.jsDoc(
            extra: [
                "Reads fields into `message` until `end`; fields seen again replace scalars, append to "
                    + "repeated fields and merge into messages, as protobuf's merge rules say."
            ],
            tags: [
                "@param {$pb.BinaryReader} reader", "@param {number} end", "@param {\(className)} message",
                "@returns {\(className)}",
            ])
        writer.block("static decode(reader, end, message) {") { writer in
            writer.block("while (reader.pos < end) {") { writer in
                writer.line("const keyStart = reader.pos;")
                writer.block("switch (reader.tag()) {") { writer in
                    for field in message.fields.sorted(by: { $0.number < $1.number }) {
                        // Cases that declare constants get a block of their own.
                        let declares = Self.declaresConstants(field)
                        writer.line("case \(field.number):" + (declares ? " {" : ""))
                        writer.indented { writer in
                            writeFieldDecode(field, in: message, scope: scope, to: &writer)
                            writer.line("break;")
                        }
                        if declares { writer.line("}") }
                    }
                    writer.line("default:")
                    writer.indented { writer in
                        writer.line("message.#unknownFields.push(reader.skip(keyStart));")
                    }
                }
            }
            writer.line("return message;")
        }
    }

    /// Whether the decoding of `field` declares constants (maps and packable repeated fields do).
    private static func declaresConstants(_ field: Field) -> Bool {
        switch field.type {
        case .map: true
        case .scalar(let scalar): field.label == .repeated && scalar.isPackable
        case .enumeration: field.label == .repeated
        case .message: field.oneofIndex != nil
        }
    }

    /// The expression reading one value of `type`; `existing` is merged into for messages.
    private func readExpression(_ type: FieldType, existing: String, scope: Scope) -> String {
        switch type {
        case .scalar(let scalar): "reader.\(scalar.javaScriptCodec)()"
        case .enumeration: "reader.enum()"
        case .message(let name): "reader.message(\(scope.name(name, types: types)), \(existing))"
        case .map: "undefined"
        }
    }

    /// The wire type of one value of `type`.
    private static func wireType(_ type: FieldType) -> Int {
        switch type {
        case .scalar(let scalar): scalar.wireType
        case .enumeration: 0
        case .message, .map: 2
        }
    }

    private func writeFieldDecode(
        _ field: Field, in message: MessageType, scope: Scope, to writer: inout JavaScriptWriter
    ) {
        let fieldName = JavaScriptNaming.literal("\(message.fullName).\(field.name)")
        let property = "message.\(JavaScriptNaming.propertyName(field.name))"

        if case .map(let key, let value, _) = field.type {
            writer.line("reader.expect(2, \(fieldName));")
            writer.line("const entryEnd = reader.beginMessage();")
            writer.line("let key = \(key.javaScriptZero);")
            writer.line("let value;")
            writer.block("while (reader.pos < entryEnd) {") { writer in
                writer.block("switch (reader.tag()) {") { writer in
                    writer.line("case 1:")
                    writer.indented { writer in
                        writer.line(
                            "reader.expect(\(key.wireType), \(JavaScriptNaming.literal("\(message.fullName).\(field.name).key")));"
                        )
                        writer.line("key = \(readExpression(.scalar(key), existing: "", scope: scope));")
                        writer.line("break;")
                    }
                    writer.line("case 2:")
                    writer.indented { writer in
                        writer.line(
                            "reader.expect(\(Self.wireType(value)), \(JavaScriptNaming.literal("\(message.fullName).\(field.name).value")));"
                        )
                        writer.line("value = \(readExpression(value, existing: "value", scope: scope));")
                        writer.line("break;")
                    }
                    writer.line("default:")
                    writer.indented { writer in
                        // Unknown fields inside a map entry are dropped, as protoc's runtimes do.
                        writer.line("reader.skipField();")
                    }
                }
            }
            writer.line("reader.endMessage(entryEnd);")
            let zero: String
            switch value {
            case .scalar(let scalar): zero = scalar.javaScriptZero
            case .enumeration: zero = "0"
            case .message(let name): zero = "new \(scope.name(name, types: types))()"
            case .map: zero = "undefined"
            }
            writer.line("\(property).set(key, value ?? \(zero));")
            return
        }

        if field.label == .repeated {
            let read = readExpression(field.type, existing: "undefined", scope: scope)
            let packable: Bool
            switch field.type {
            case .scalar(let scalar): packable = scalar.isPackable
            case .enumeration: packable = true
            default: packable = false
            }
            if packable {
                // Parsers accept both encodings of a packable field, whatever the schema says.
                writer.line("if (reader.wireType === 2) {")
                writer.indented { writer in
                    writer.line("const packedEnd = reader.beginPacked();")
                    writer.line("while (reader.pos < packedEnd) \(property).push(\(read));")
                    writer.line("reader.endPacked(packedEnd, \(fieldName));")
                }
                writer.line("} else {")
                writer.indented { writer in
                    writer.line("reader.expect(\(Self.wireType(field.type)), \(fieldName));")
                    writer.line("\(property).push(\(read));")
                }
                writer.line("}")
                return
            }
            writer.line("reader.expect(\(Self.wireType(field.type)), \(fieldName));")
            writer.line("\(property).push(\(read));")
            return
        }

        writer.line("reader.expect(\(Self.wireType(field.type)), \(fieldName));")
        if let oneofIndex = field.oneofIndex {
            let oneof = "message.\(JavaScriptNaming.propertyName(message.oneofs[oneofIndex].name))"
            let caseName = JavaScriptNaming.literal(JavaScriptNaming.propertyName(field.name))
            if case .message(let name) = field.type {
                // A message member seen again merges into the one already set, as for singular fields.
                writer.line("const existing = \(oneof).case === \(caseName) ? \(oneof).value : undefined;")
                writer.line(
                    "\(oneof) = { case: \(caseName), value: reader.message(\(scope.name(name, types: types)), existing) };"
                )
                return
            }
            writer.line(
                "\(oneof) = { case: \(caseName), value: \(readExpression(field.type, existing: "undefined", scope: scope)) };"
            )
            return
        }
        writer.line("\(property) = \(readExpression(field.type, existing: property, scope: scope));")
    }
}
