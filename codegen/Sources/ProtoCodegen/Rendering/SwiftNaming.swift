/// Turns proto names into Swift names: case conventions, type prefixes and keyword escaping.
///
/// The rules follow swift-protobuf's generated code where the contract names them, so the Swift an engineer
/// already knows from that project is the Swift they get here.
enum SwiftNaming {
    /// Words Swift reserves in declarations; as identifiers they need backticks.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
        "inout", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public",
        "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
        "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
        "throw", "switch", "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self",
        "super", "throws", "true", "try", "Type", "Protocol",
    ]

    /// `name` wrapped in backticks when it is a Swift keyword.
    static func escaped(_ name: String) -> String {
        keywords.contains(name) ? "`\(name)`" : name
    }

    /// `name` without the backticks `escaped` may have added.
    static func unescaped(_ name: String) -> String {
        name.hasPrefix("`") ? String(name.dropFirst().dropLast()) : name
    }

    /// Names a member can have as a declaration but not after a dot (`.self`, `.init`, `.Type`, `.Protocol`
    /// mean something else there), so cases never take them.
    static let dotReservedNames: Set<String> = ["self", "init", "Type", "Protocol"]

    /// A member reference after a dot: `.default` needs no backticks there.
    static func dotted(_ name: String) -> String {
        "." + unescaped(name)
    }

    /// lowerCamelCase of a snake_case (or UPPER_SNAKE) proto name: `valid_until` -> `validUntil`,
    /// `NOT_SERVING` -> `notServing`. An all-capitals word is lowercased first, mixed case is kept.
    static func lowerCamelCase(_ name: String) -> String {
        let words = name.split(separator: "_").map { word -> String in
            word.contains(where: \.isLowercase) ? String(word) : word.lowercased()
        }
        var result = ""
        for (index, word) in words.enumerated() {
            result += index == 0 ? lowercasingFirst(word) : uppercasingFirst(word)
        }
        if result.isEmpty { return "_" }
        if let first = result.first, first.isNumber { return "_" + result }
        return result
    }

    /// UpperCamelCase of a proto name, keeping the case of all but each word's first letter:
    /// `source_kind` -> `SourceKind`, `v1alpha` -> `V1alpha`.
    static func upperCamelCase(_ name: String, separators: Set<Character> = ["_"]) -> String {
        name.split(whereSeparator: { separators.contains($0) }).map { uppercasingFirst(String($0)) }.joined()
    }

    /// The Swift name of an RPC method: `AuditStream` -> `auditStream`, `HTTPCheck` -> `httpCheck`.
    static func methodName(_ name: String) -> String {
        let characters = Array(name)
        var leadingCapitals = 0
        while leadingCapitals < characters.count, characters[leadingCapitals].isUppercase { leadingCapitals += 1 }
        // Keep the last capital of an acronym when it starts the next word ("HTTPCheck" -> "httpCheck").
        let lowered = leadingCapitals > 1 && leadingCapitals < characters.count ? leadingCapitals - 1 : leadingCapitals
        let head = String(characters[..<lowered]).lowercased()
        return escaped(lowerCamelCase(head + String(characters[lowered...])))
    }

    /// UPPER_SNAKE_CASE of an UpperCamel enum name: `ServingStatus` -> `SERVING_STATUS`, `HTTPMode` -> `HTTP_MODE`.
    static func upperSnakeCase(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            if index > 0, character.isUppercase {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) {
                    result += "_"
                }
            }
            result += character.uppercased()
        }
        return result
    }

    /// The type-name prefix of a file: its `swift_prefix` option, or the package's components upper-camel-cased
    /// and joined by "_" plus a trailing "_" (`healthledger.v1` -> `Healthledger_V1_`), as swift-protobuf does.
    static func typePrefix(for file: ProtoFile) -> String {
        if let prefix = file.option("swift_prefix") { return prefix.value }
        if file.package.isEmpty { return "" }
        return file.package.split(separator: ".").map { upperCamelCase(String($0)) }.joined(separator: "_") + "_"
    }

    /// The namespace enum holding a file's descriptor: `healthledger/v1/ledger.proto` ->
    /// `HealthledgerV1LedgerProtoFile`.
    static func fileNamespace(for path: String) -> String {
        let stem = path.hasSuffix(".proto") ? String(path.dropLast(".proto".count)) : path
        return upperCamelCase(stem, separators: ["/", "_", ".", "-"]) + "ProtoFile"
    }

    /// The generated file's name: the .proto path with "/" turned into "_" and ".proto" into ".pb.swift"
    /// (`healthledger/v1/ledger.proto` -> `healthledger_v1_ledger.pb.swift`). Output is flat because SwiftPM
    /// cannot compile two files with the same name in one target (grpc/reflection/v1/reflection.proto and
    /// grpc/reflection/v1alpha/reflection.proto both live in GRPCProtos); swift-protobuf's
    /// `FileNaming=PathToUnderscores` solves it the same way.
    static func outputPath(for path: String) -> String {
        let stem = path.hasSuffix(".proto") ? String(path.dropLast(".proto".count)) : path
        return stem.split(separator: "/").joined(separator: "_") + ".pb.swift"
    }

    private static func lowercasingFirst(_ word: String) -> String {
        guard let first = word.first else { return word }
        return first.lowercased() + word.dropFirst()
    }

    private static func uppercasingFirst(_ word: String) -> String {
        guard let first = word.first else { return word }
        return first.uppercased() + word.dropFirst()
    }
}
