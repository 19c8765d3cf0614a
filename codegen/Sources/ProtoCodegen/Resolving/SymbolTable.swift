// Every fully qualified name declared by the loaded files, and protoc's rules for finding one from inside
// a scope (descriptor.cc, "LookupSymbol"): a leading dot means fully qualified; otherwise the first
// component is searched from the innermost scope outward, and once it is found the rest must be inside it.

/// What a fully qualified name denotes.
enum SymbolKind: Sendable {
    case package, message, enumeration, enumValue, field, oneof, service, method

    /// Messages and enums, the things a field can have as its type.
    var isType: Bool { self == .message || self == .enumeration }

    /// Kinds that can contain further names (`a.b` may continue past them).
    var isAggregate: Bool { self == .package || self == .message || self == .enumeration || self == .service }

    /// How messages name this kind.
    var noun: String {
        switch self {
        case .package: "package"
        case .message: "message"
        case .enumeration: "enum"
        case .enumValue: "enum value"
        case .field: "field"
        case .oneof: "oneof"
        case .service: "service"
        case .method: "method"
        }
    }
}

/// One declared name.
struct Symbol: Sendable {
    var kind: SymbolKind
    /// The file that declares it (for packages, the first one).
    var file: String
    var location: SourceLocation
    /// For enum values: the enum's full name (the value itself is its sibling, per C++ scoping).
    var enumName: String? = nil
    /// For synthetic map entry messages: the map field that creates it.
    var mapFieldName: String? = nil
}

/// The names declared by a set of files.
struct SymbolTable {
    private(set) var symbols: [String: Symbol] = [:]
    /// The package of each file, for package visibility.
    private var packageOfFile: [String: String] = [:]

    /// Declares every name in `file`, in source order, returning a diagnostic for each name already taken.
    mutating func declare(_ file: FileSyntax) -> [Diagnostic] {
        var declarations: [(String, Symbol)] = []
        let package = file.package?.value ?? ""
        packageOfFile[file.path] = package
        if let declared = file.package {
            var prefix = ""
            for component in declared.value.split(separator: ".") {
                prefix += prefix.isEmpty ? String(component) : ".\(component)"
                declarations.append((prefix, Symbol(kind: .package, file: file.path, location: declared.location)))
            }
        }
        var collected: [(String, Symbol)] = []
        for message in file.messages { collect(message, scope: package, file: file.path, into: &collected) }
        for enumeration in file.enums { collect(enumeration, scope: package, file: file.path, into: &collected) }
        for service in file.services {
            let name = SymbolTable.join(package, service.name.value)
            collected.append((name, Symbol(kind: .service, file: file.path, location: service.name.location)))
            for method in service.methods {
                collected.append(
                    (SymbolTable.join(name, method.name.value),
                     Symbol(kind: .method, file: file.path, location: method.name.location)))
            }
        }
        // Whichever declaration comes second in the file is the one reported.
        let ordered = collected.enumerated().sorted { lhs, rhs in
            let (l, r) = (lhs.element.1.location, rhs.element.1.location)
            return (l.line, l.column, lhs.offset) < (r.line, r.column, rhs.offset)
        }.map(\.element)
        var diagnostics: [Diagnostic] = []
        for (name, symbol) in declarations + ordered {
            if let existing = symbols[name] {
                if existing.kind == .package && symbol.kind == .package { continue }
                diagnostics.append(
                    Diagnostic(location: symbol.location, message: SymbolTable.conflict(name, symbol, existing)))
            } else {
                symbols[name] = symbol
            }
        }
        return diagnostics
    }

    private func collect(_ message: MessageSyntax, scope: String, file: String, into result: inout [(String, Symbol)]) {
        let name = SymbolTable.join(scope, message.name.value)
        result.append((name, Symbol(kind: .message, file: file, location: message.name.location)))
        for member in message.members {
            switch member {
            case .field(let field):
                collect(field, in: name, file: file, into: &result)
            case .oneof(let oneof):
                result.append(
                    (SymbolTable.join(name, oneof.name.value),
                     Symbol(kind: .oneof, file: file, location: oneof.name.location)))
                for field in oneof.fields { collect(field, in: name, file: file, into: &result) }
            case .message(let nested):
                collect(nested, scope: name, file: file, into: &result)
            case .enumeration(let nested):
                collect(nested, scope: name, file: file, into: &result)
            case .option, .reserved, .extensionRange:
                break
            }
        }
    }

    private func collect(_ field: FieldSyntax, in message: String, file: String, into result: inout [(String, Symbol)]) {
        result.append(
            (SymbolTable.join(message, field.name.value),
             Symbol(kind: .field, file: file, location: field.name.location)))
        if field.isMap {
            result.append(
                (SymbolTable.join(message, NameRules.mapEntryName(field.name.value)),
                 Symbol(kind: .message, file: file, location: field.name.location, mapFieldName: field.name.value)))
        }
    }

    private func collect(_ enumeration: EnumSyntax, scope: String, file: String, into result: inout [(String, Symbol)]) {
        let name = SymbolTable.join(scope, enumeration.name.value)
        result.append((name, Symbol(kind: .enumeration, file: file, location: enumeration.name.location)))
        for value in enumeration.values {
            result.append(
                (SymbolTable.join(scope, value.name.value),
                 Symbol(kind: .enumValue, file: file, location: value.name.location, enumName: name)))
        }
    }

    /// "scope.name", or "name" at the root.
    static func join(_ scope: String, _ name: String) -> String { scope.isEmpty ? name : "\(scope).\(name)" }

    private static func conflict(_ name: String, _ symbol: Symbol, _ existing: Symbol) -> String {
        let (scope, simple) = split(name)
        let place = scope.isEmpty ? "at the top level" : "in '\(scope)'"
        let previous =
            existing.file == symbol.file
            ? "\(existing.kind.noun) on line \(existing.location.line)"
            : "\(existing.kind.noun) in '\(existing.file)'"
        if let field = symbol.mapFieldName {
            return "map field '\(field)' needs a nested message named '\(simple)', which is already defined \(place) (\(previous))"
        }
        if let field = existing.mapFieldName {
            return "'\(simple)' is already defined \(place) as the entry message of map field '\(field)'"
        }
        if symbol.kind == .package {
            return "package '\(name)' conflicts with the \(existing.kind.noun) '\(name)' in '\(existing.file)'"
        }
        if existing.kind == .package {
            return "'\(simple)' is already defined \(place) as a package"
        }
        if symbol.kind == .enumValue, existing.kind == .enumValue, let enumName = symbol.enumName,
            enumName == existing.enumName
        {
            return "enum value '\(simple)' is already defined in enum '\(enumName)' (line \(existing.location.line))"
        }
        if let enumName = symbol.enumName ?? existing.enumName {
            let shortEnum = split(enumName).1
            return "'\(simple)' is already defined \(place) (\(previous)); enum values are siblings of their enum "
                + "(C++ scoping), so '\(simple)' must be unique \(place), not just within enum '\(shortEnum)'"
        }
        return "'\(simple)' is already defined \(place) (\(previous))"
    }

    /// ("a.b", "C") for "a.b.C".
    static func split(_ name: String) -> (String, String) {
        guard let dot = name.lastIndex(of: ".") else { return ("", name) }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }

    // MARK: - Lookup

    /// The outcome of looking a name up from a scope.
    enum Lookup {
        case found(fullName: String, symbol: Symbol)
        /// Not found. `resolvedTo` is set when the first component was found in an inner scope but the rest
        /// was not inside it; `hiddenIn` when a match exists in a file that is not imported.
        case notFound(resolvedTo: String?, hiddenIn: (name: String, file: String)?)
    }

    /// Finds `name` as written in a declaration whose own full name is `scope` (a field's or method's
    /// full name), seeing only the symbols of `visibleFiles`. With `typesOnly`, a one-component name
    /// skips non-type symbols on its way outward (protoc's LOOKUP_TYPES, used for field types).
    func lookup(_ name: String, from scope: String, visibleFiles: Set<String>, typesOnly: Bool) -> Lookup {
        var hidden: (name: String, file: String)?
        func find(_ fullName: String) -> Symbol? {
            guard let symbol = symbols[fullName] else { return nil }
            if symbol.kind == .package {
                let visible = visibleFiles.contains { file in
                    let package = packageOfFile[file] ?? ""
                    return package == fullName || package.hasPrefix(fullName + ".")
                }
                if visible { return symbol }
            } else if visibleFiles.contains(symbol.file) {
                return symbol
            }
            hidden = (fullName, symbol.file)
            return nil
        }
        func result(_ fullName: String) -> Lookup {
            if let symbol = find(fullName) { return .found(fullName: fullName, symbol: symbol) }
            return .notFound(resolvedTo: nil, hiddenIn: hidden)
        }

        if name.hasPrefix(".") { return result(String(name.dropFirst())) }
        let firstPart = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
        let isCompound = firstPart.count < name.count
        var scopeToTry = scope
        while true {
            guard let dot = scopeToTry.lastIndex(of: ".") else { return result(name) }
            scopeToTry = String(scopeToTry[..<dot])
            let candidate = "\(scopeToTry).\(firstPart)"
            guard let symbol = find(candidate) else { continue }
            if isCompound {
                // The first part names something; the rest must be inside it (inner scopes shadow outer).
                guard symbol.kind.isAggregate else { continue }
                let fullName = "\(scopeToTry).\(name)"
                if let found = find(fullName) { return .found(fullName: fullName, symbol: found) }
                return .notFound(resolvedTo: fullName, hiddenIn: hidden)
            }
            if typesOnly && !symbol.kind.isType { continue }
            return .found(fullName: candidate, symbol: symbol)
        }
    }
}
