// Turns parsed files into the resolved model: every type reference replaced by the fully qualified name
// it denotes (protoc's scoping rules, see SymbolTable), synthetic map entry messages added, JSON names and
// packing decided. Problems that need resolved types (unknown types, bad map keys, enums used as method
// inputs, `packed` on a message field) are reported here; the rest are the Validator's.

/// Resolves a set of parsed files into `ProtoFile`s.
struct Resolver {
    private var table = SymbolTable()
    private var diagnostics: [Diagnostic] = []
    private let filesByPath: [String: FileSyntax]

    /// Resolves `files`, which must come dependencies first and include every file they import.
    static func resolve(_ files: [FileSyntax]) -> (files: [ProtoFile], diagnostics: [Diagnostic]) {
        var resolver = Resolver(filesByPath: Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a }))
        for file in files { resolver.diagnostics += resolver.table.declare(file) }
        let resolved = files.map { resolver.resolve($0) }
        return (resolved, resolver.diagnostics)
    }

    private init(filesByPath: [String: FileSyntax]) {
        self.filesByPath = filesByPath
    }

    /// The file itself, its imports, and whatever those re-export with `import public`, transitively.
    private func visibleFiles(of file: FileSyntax) -> Set<String> {
        var visible: Set<String> = [file.path]
        var pending = file.imports.map(\.path)
        var reexported: Set<String> = []
        visible.formUnion(pending)
        while let path = pending.popLast() {
            guard let imported = filesByPath[path] else { continue }
            for reexport in imported.imports where reexport.kind == .isPublic && reexported.insert(reexport.path).inserted {
                visible.insert(reexport.path)
                pending.append(reexport.path)
            }
        }
        return visible
    }

    // MARK: - Files

    private mutating func resolve(_ file: FileSyntax) -> ProtoFile {
        var context = FileContext(path: file.path, visibleFiles: visibleFiles(of: file))
        let package = file.package?.value ?? ""
        let messages = file.messages.map { resolve($0, scope: package, &context) }
        let enums = file.enums.map { resolve($0, scope: package) }
        let services = file.services.map { resolve($0, scope: package, &context) }
        diagnostics += context.diagnostics
        return ProtoFile(
            path: file.path, package: package, dependencies: file.imports.map(\.path),
            publicDependencies: file.imports.indices.filter { file.imports[$0].kind == .isPublic },
            weakDependencies: file.imports.indices.filter { file.imports[$0].kind == .weak },
            options: file.options.compactMap { option in
                option.builtInName.map { FileOption(name: $0, value: option.valueText, isString: option.stringValue != nil) }
            },
            messages: messages, enums: enums, services: services, comments: file.syntaxComments)
    }

    /// What a file's declarations can see, and the problems found in them.
    private struct FileContext {
        var path: String
        var visibleFiles: Set<String>
        var diagnostics: [Diagnostic] = []

        mutating func report(_ location: SourceLocation, _ message: String) {
            diagnostics.append(Diagnostic(location: location, message: message))
        }
    }

    // MARK: - Messages

    private func resolve(_ message: MessageSyntax, scope: String, _ context: inout FileContext) -> MessageType {
        let fullName = SymbolTable.join(scope, message.name.value)
        var result = MessageType(
            name: message.name.value, fullName: fullName, comments: message.comments, location: message.name.location)
        for member in message.members {
            switch member {
            case .field(let field):
                let (resolved, entry) = resolve(field, in: fullName, oneofIndex: nil, &context)
                result.fields.append(resolved)
                // protoc inserts a map's entry message where the map field is declared.
                if let entry { result.nestedMessages.append(entry) }
            case .oneof(let oneof):
                let index = result.oneofs.count
                result.oneofs.append(Oneof(name: oneof.name.value, comments: oneof.comments))
                for field in oneof.fields {
                    let (resolved, entry) = resolve(field, in: fullName, oneofIndex: index, &context)
                    result.fields.append(resolved)
                    if let entry { result.nestedMessages.append(entry) }
                }
            case .message(let nested):
                result.nestedMessages.append(resolve(nested, scope: fullName, &context))
            case .enumeration(let nested):
                result.nestedEnums.append(resolve(nested, scope: fullName))
            case .option(let option):
                if option.builtInName == "deprecated", option.boolValue == true { result.isDeprecated = true }
            case .reserved(let reserved):
                for range in reserved.ranges {
                    let end = range.end.map(Int.init) ?? Validator.maxFieldNumber
                    if Int(range.start) <= end { result.reservedRanges.append(Int(range.start)...end) }
                }
                result.reservedNames += reserved.names.map(\.value)
            case .extensionRange:
                break
            }
        }
        return result
    }

    /// A field, plus the synthetic entry message when it is a map.
    private func resolve(
        _ field: FieldSyntax, in message: String, oneofIndex: Int?, _ context: inout FileContext
    ) -> (Field, MessageType?) {
        let name = field.name.value
        let fieldFullName = SymbolTable.join(message, name)
        let explicitJSONName = field.options.first { $0.builtInName == "json_name" }?.stringValue
        let packedOption = field.options.first { $0.builtInName == "packed" }
        let explicitPacked = packedOption?.boolValue
        let isRepeated = field.isMap || field.label?.value == .repeated
        var entry: MessageType?
        let type: FieldType
        if let key = field.mapKey {
            let entryName = NameRules.mapEntryName(name)
            let entryFullName = SymbolTable.join(message, entryName)
            let keyType = resolveMapKey(key, field: name, from: fieldFullName, &context)
            let valueType =
                resolveType(field.type, from: SymbolTable.join(entryFullName, "value"), field: name, &context)
                ?? .scalar(.string)
            type = .map(key: keyType, value: valueType, entry: entryFullName)
            entry = MessageType(
                name: entryName, fullName: entryFullName,
                fields: [
                    Field(name: "key", number: 1, label: .optional, type: .scalar(keyType), jsonName: "key", location: field.name.location),
                    Field(name: "value", number: 2, label: .optional, type: valueType, jsonName: "value", location: field.name.location),
                ],
                isMapEntry: true, location: field.name.location)
        } else {
            type = resolveType(field.type, from: fieldFullName, field: name, &context) ?? .scalar(.string)
        }
        let isPackable: Bool
        switch type {
        case .scalar(let scalar): isPackable = scalar.isPackable
        case .enumeration: isPackable = true
        case .message, .map: isPackable = false
        }
        if let packedOption, !(isRepeated && isPackable && !field.isMap) {
            context.report(
                packedOption.location,
                "option 'packed' applies only to repeated fields of numeric, bool or enum type, and '\(name)' is not one")
        }
        let resolved = Field(
            name: name, number: Int(clamping: field.number.value), label: isRepeated ? .repeated : .optional, type: type,
            jsonName: explicitJSONName ?? NameRules.jsonName(name), hasExplicitJSONName: explicitJSONName != nil,
            isProto3Optional: field.label?.value == .optional && oneofIndex == nil, oneofIndex: oneofIndex,
            isPacked: isRepeated && !field.isMap && isPackable && explicitPacked != false,
            explicitPackedOption: explicitPacked,
            isDeprecated: field.options.contains { $0.builtInName == "deprecated" && $0.boolValue == true },
            comments: field.comments, location: field.name.location)
        return (resolved, entry)
    }

    /// A field's type; nil (after reporting why) when it does not name a message or enum.
    private func resolveType(
        _ reference: TypeReferenceSyntax, from scope: String, field: String, _ context: inout FileContext
    ) -> FieldType? {
        if let scalar = reference.scalar { return .scalar(scalar) }
        switch table.lookup(reference.name, from: scope, visibleFiles: context.visibleFiles, typesOnly: true) {
        case .found(let fullName, let symbol):
            switch symbol.kind {
            case .message: return .message(fullName)
            case .enumeration: return .enumeration(fullName)
            default:
                context.report(
                    reference.location,
                    "type '\(reference.name)' of field '\(field)' names the \(symbol.kind.noun) '\(fullName)', not a message or enum")
                return nil
            }
        case .notFound(let resolvedTo, let hidden):
            context.report(
                reference.location,
                "unknown type '\(reference.name)' in field '\(field)'" + explanation(reference.name, resolvedTo, hidden, context.path))
            return nil
        }
    }

    /// A map key: an integral type, bool or string.
    private func resolveMapKey(
        _ key: TypeReferenceSyntax, field: String, from scope: String, _ context: inout FileContext
    ) -> ScalarType {
        if let scalar = key.scalar {
            if !scalar.isValidMapKey {
                context.report(
                    key.location,
                    "invalid map key type '\(key.name)' in field '\(field)': keys must be an integral type, bool or string")
            }
            return scalar
        }
        switch resolveType(key, from: scope, field: field, &context) {
        case .enumeration:
            context.report(
                key.location,
                "invalid map key type '\(key.name)' in field '\(field)': enums cannot be map keys; use an integral type, bool or string")
        case .message:
            context.report(
                key.location,
                "invalid map key type '\(key.name)' in field '\(field)': messages cannot be map keys; use an integral type, bool or string")
        default:
            break
        }
        return .string
    }

    /// The second half of an unknown-name message: what the name resolved to, or which file would define it.
    private func explanation(
        _ name: String, _ resolvedTo: String?, _ hidden: (name: String, file: String)?, _ path: String
    ) -> String {
        if let resolvedTo {
            return "; it resolves to '\(resolvedTo)', which is not defined (names are searched from the innermost "
                + "scope outward; write '.\(name)' with the full package to start from the outermost scope)"
        }
        if let hidden {
            return "; '\(hidden.name)' is defined in '\(hidden.file)', which '\(path)' does not import"
        }
        return ""
    }

    // MARK: - Enums and services

    private func resolve(_ enumeration: EnumSyntax, scope: String) -> EnumType {
        EnumType(
            name: enumeration.name.value, fullName: SymbolTable.join(scope, enumeration.name.value),
            values: enumeration.values.map {
                EnumValue(name: $0.name.value, number: Int32(truncatingIfNeeded: $0.number.value), comments: $0.comments, location: $0.name.location)
            },
            allowAlias: enumeration.options.contains { $0.builtInName == "allow_alias" && $0.boolValue == true },
            reservedRanges: enumeration.reserved.flatMap(\.ranges).compactMap { range in
                let start = Int32(clamping: range.start)
                let end = range.end.map { Int32(clamping: $0) } ?? Int32.max
                return start <= end ? start...end : nil
            },
            reservedNames: enumeration.reserved.flatMap(\.names).map(\.value),
            comments: enumeration.comments, location: enumeration.name.location)
    }

    private func resolve(_ service: ServiceSyntax, scope: String, _ context: inout FileContext) -> Service {
        let fullName = SymbolTable.join(scope, service.name.value)
        let methods = service.methods.map { method in
            let methodFullName = SymbolTable.join(fullName, method.name.value)
            return Method(
                name: method.name.value,
                inputType: resolveMessage(method.input, role: "input", method: method.name.value, from: methodFullName, &context),
                outputType: resolveMessage(method.output, role: "output", method: method.name.value, from: methodFullName, &context),
                clientStreaming: method.clientStreaming, serverStreaming: method.serverStreaming,
                comments: method.comments, location: method.name.location)
        }
        return Service(
            name: service.name.value, fullName: fullName, methods: methods, comments: service.comments,
            location: service.name.location)
    }

    /// A method's request or response type, which must be a message.
    private func resolveMessage(
        _ reference: TypeReferenceSyntax, role: String, method: String, from scope: String, _ context: inout FileContext
    ) -> String {
        if reference.scalar != nil {
            context.report(
                reference.location,
                "\(role) type '\(reference.name)' of method '\(method)' is a scalar type; methods take and return messages")
            return reference.name
        }
        switch table.lookup(reference.name, from: scope, visibleFiles: context.visibleFiles, typesOnly: false) {
        case .found(let fullName, let symbol):
            if symbol.kind != .message {
                context.report(
                    reference.location,
                    "\(role) type '\(reference.name)' of method '\(method)' is the \(symbol.kind.noun) '\(fullName)', not a message")
            }
            return fullName
        case .notFound(let resolvedTo, let hidden):
            context.report(
                reference.location,
                "unknown type '\(reference.name)' in method '\(method)'" + explanation(reference.name, resolvedTo, hidden, context.path))
            return reference.name
        }
    }
}
