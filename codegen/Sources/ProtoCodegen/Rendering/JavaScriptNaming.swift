/// Turns proto names into JavaScript names and module paths for the ES module target.
///
/// Names follow protobuf-es v1 where it fixes them, so the API is the one web developers already know: a class
/// per message (`Outer_Inner` for nested ones), lowerCamelCase properties, lowerCamelCase RPC methods.
enum JavaScriptNaming {
    /// Words JavaScript reserves (strict mode and modules included), which cannot name a binding.
    static let reservedWords: Set<String> = [
        "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do",
        "else", "enum", "export", "extends", "false", "finally", "for", "function", "if", "implements", "import",
        "in", "instanceof", "interface", "let", "new", "null", "package", "private", "protected", "public",
        "return", "static", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while",
        "with", "yield", "arguments", "eval",
    ]

    /// Globals generated code uses by name; a top-level declaration with one of these names would shadow them.
    static let shadowedGlobals: Set<String> = [
        "Object", "Array", "Map", "Uint8Array", "BigInt", "Number", "String", "Boolean", "Error", "Symbol",
        "Promise", "DataView", "TextEncoder", "TextDecoder", "undefined", "NaN", "Infinity", "globalThis",
    ]

    /// Members every message object has (its methods and `Object.prototype`'s); a field with one of these names
    /// gets a `$` suffix, as protobuf-es does.
    static let reservedPropertyNames: Set<String> = [
        "constructor", "toBinary", "toJSON", "toString", "toLocaleString", "valueOf", "hasOwnProperty",
        "isPrototypeOf", "propertyIsEnumerable", "__proto__", "__defineGetter__", "__defineSetter__",
        "__lookupGetter__", "__lookupSetter__",
    ]

    /// Members every generated client has; an RPC whose method name is one of these gets a `$` suffix.
    static let reservedClientMemberNames: Set<String> = reservedPropertyNames.union(["transport"])

    /// A top-level binding name: `$` appended when `name` is reserved or would shadow a global.
    static func bindingName(_ name: String) -> String {
        reservedWords.contains(name) || shadowedGlobals.contains(name) ? name + "$" : name
    }

    /// The property of a field or oneof: protoc's lowerCamelCase of the proto name (the default JSON name),
    /// with `$` appended when a message already has a member of that name.
    static func propertyName(_ protoName: String) -> String {
        var name = NameRules.jsonName(protoName)
        if let first = name.first, first.isUppercase, protoName.first == "_" {
            name = first.lowercased() + name.dropFirst()
        }
        return reservedPropertyNames.contains(name) ? name + "$" : name
    }

    /// The client method of an RPC: `AuditStream` -> `auditStream`, `HTTPCheck` -> `httpCheck`.
    static func methodName(_ rpcName: String) -> String {
        let name = SwiftNaming.unescaped(SwiftNaming.methodName(rpcName))
        return reservedClientMemberNames.contains(name) ? name + "$" : name
    }

    /// The module written for a .proto file: `healthledger/v1/ledger.proto` -> `healthledger/v1/ledger.js`.
    static func outputPath(for path: String) -> String {
        (path.hasSuffix(".proto") ? String(path.dropLast(".proto".count)) : path) + ".js"
    }

    /// The import specifier that reaches module `target` from module `source` (both output-relative paths):
    /// `./policy.js`, `../../google/protobuf/any.js`.
    static func relativeImport(from source: String, to target: String) -> String {
        var sourceDirectory = source.split(separator: "/").map(String.init)
        sourceDirectory.removeLast()
        let targetParts = target.split(separator: "/").map(String.init)
        var common = 0
        while common < sourceDirectory.count, common < targetParts.count - 1,
            sourceDirectory[common] == targetParts[common]
        {
            common += 1
        }
        let ups = Array(repeating: "..", count: sourceDirectory.count - common)
        let rest = targetParts[common...]
        return (ups.isEmpty ? ["."] : ups).joined(separator: "/") + "/" + rest.joined(separator: "/")
    }

    /// The import specifier of a runtime module (`protobuf.js`, `grpc-web.js`) from the module at `source`:
    /// inside `runtimeDirectory` when one is given, otherwise in the `lib` directory beside the output
    /// directory (`../../../lib/protobuf.js` from `healthledger/v1/ledger.js`).
    static func runtimeImport(_ module: String, from source: String, runtimeDirectory: String?) -> String {
        if let runtimeDirectory {
            return runtimeDirectory.hasSuffix("/") ? runtimeDirectory + module : runtimeDirectory + "/" + module
        }
        let depth = source.split(separator: "/").count - 1
        return Array(repeating: "..", count: depth + 1).joined(separator: "/") + "/lib/" + module
    }

    /// A JavaScript string literal of `text`.
    static func literal(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
