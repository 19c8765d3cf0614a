// Builds the syntax tree of one .proto file from its tokens, following the proto3 grammar
// (https://protobuf.dev/reference/protobuf/proto3-spec/) and the statement order protoc's parser uses.
// Parsing stops at the first syntax error: later errors in the same file would mostly be echoes of it.

/// The first syntax error found in a file.
struct SyntaxError: Error {
    var diagnostic: Diagnostic
}

/// Parses one .proto source into a `FileSyntax`.
struct Parser {
    private let tokens: [Token]
    private let path: String
    private var position = 0

    /// Parses `source`, naming `path` in locations.
    static func parse(source: String, path: String) throws(SyntaxError) -> FileSyntax {
        var lexer = Lexer(source: source, file: path)
        var parser = Parser(tokens: lexer.tokenize(), path: path)
        return try parser.parseFile()
    }

    private init(tokens: [Token], path: String) {
        self.tokens = tokens
        self.path = path
    }

    // MARK: - File

    private mutating func parseFile() throws(SyntaxError) -> FileSyntax {
        let syntaxIndex = position
        let (syntax, syntaxEnd) = try parseSyntaxStatement()
        var file = FileSyntax(
            path: path, syntax: syntax,
            syntaxComments: Comments(
                leading: tokens[syntaxIndex].leadingComment, trailing: tokens[syntaxEnd].trailingComment))
        while current.kind != .endOfFile {
            if consume(";") { continue }
            switch keyword {
            case "message": file.messages.append(try parseMessage())
            case "enum": file.enums.append(try parseEnum())
            case "service": file.services.append(try parseService())
            case "extend": try skipExtend()
            case "import": file.imports.append(try parseImport())
            case "package":
                if let existing = file.package {
                    throw error("the package is already declared on line \(existing.location.line)")
                }
                advance()
                file.package = try parseDottedName("a package name")
                try expect(";", "';' after the package name")
            case "option":
                file.options.append(try parseOptionStatement())
            default:
                throw failure(expected: "a top-level declaration (message, enum, service, extend, import, package or option)")
            }
        }
        return file
    }

    /// `syntax = "proto3";` — required, and proto3 only. Returns the value and the index of its `;`.
    private mutating func parseSyntaxStatement() throws(SyntaxError) -> (Located<String>, Int) {
        if keyword == "edition" {
            advance()
            try expect("=", "'=' after 'edition'")
            let edition = try expectString("an edition name such as \"2023\"")
            throw SyntaxError(
                diagnostic: Diagnostic(
                    location: edition.location,
                    message: "only proto3 is supported, but this file declares edition \"\(edition.value)\""))
        }
        guard keyword == "syntax" else {
            if current.kind == .invalid { throw failure(expected: "") }
            throw error("missing 'syntax = \"proto3\";' as the first statement: only proto3 is supported")
        }
        advance()
        try expect("=", "'=' after 'syntax'")
        let syntax = try expectString("a syntax name such as \"proto3\"")
        guard syntax.value == "proto3" else {
            throw SyntaxError(
                diagnostic: Diagnostic(
                    location: syntax.location,
                    message: "only proto3 is supported, but this file declares syntax \"\(syntax.value)\""))
        }
        let end = try expect(";", "';' after the syntax statement")
        return (syntax, end)
    }

    private mutating func parseImport() throws(SyntaxError) -> ImportSyntax {
        advance()
        var kind = ImportSyntax.Kind.normal
        if keyword == "public" {
            kind = .isPublic
            advance()
        } else if keyword == "weak" {
            kind = .weak
            advance()
        }
        let path = try expectString("the imported file name as a string")
        try expect(";", "';' after the import")
        return ImportSyntax(path: path.value, kind: kind, location: path.location)
    }

    // MARK: - Messages

    private mutating func parseMessage() throws(SyntaxError) -> MessageSyntax {
        let start = position
        advance()
        let name = try expectIdentifier("a message name")
        let open = try expect("{", "'{' after the message name")
        var members: [MessageMemberSyntax] = []
        while !consume("}") {
            if current.kind == .endOfFile { throw failure(expected: "'}' to close message '\(name.value)'") }
            if let member = try parseMessageMember() { members.append(member) }
        }
        return MessageSyntax(name: name, members: members, comments: comments(start: start, end: open))
    }

    /// One statement of a message body; nil for statements that leave nothing behind (`;`, `extend`).
    private mutating func parseMessageMember() throws(SyntaxError) -> MessageMemberSyntax? {
        if consume(";") { return nil }
        switch keyword {
        case "message": return .message(try parseMessage())
        case "enum": return .enumeration(try parseEnum())
        case "extensions":
            let location = current.location
            advance()
            _ = try parseRanges(allowingNegative: false)
            if current.isText("[") { _ = try parseFieldOptions() }
            try expect(";", "';' after the extension range")
            return .extensionRange(location)
        case "reserved": return .reserved(try parseReserved(allowingNegative: false))
        case "extend":
            try skipExtend()
            return nil
        case "option": return .option(try parseOptionStatement())
        case "oneof": return .oneof(try parseOneof())
        default: return .field(try parseField())
        }
    }

    /// `[label] type name = number [options];` or `map<K, V> name = number [options];`.
    private mutating func parseField() throws(SyntaxError) -> FieldSyntax {
        let start = position
        var label: Located<FieldLabelSyntax>?
        if current.kind == .identifier, let written = FieldLabelSyntax(rawValue: current.text) {
            label = Located(value: written, location: current.location)
            advance()
        }
        var mapKey: TypeReferenceSyntax?
        let type: TypeReferenceSyntax
        if keyword == "map" && token(after: 1).isText("<") {
            advance()
            advance()
            mapKey = try parseTypeReference("the map key type")
            try expect(",", "',' after the map key type")
            type = try parseTypeReference("the map value type")
            try expect(">", "'>' after the map value type")
        } else if keyword == "group" {
            throw error("groups are not supported in proto3; declare a nested message and a field instead")
        } else {
            type = try parseTypeReference("a field type")
        }
        let name = try expectIdentifier("the field name")
        try expect("=", "'=' after the field name '\(name.value)'")
        let number = try expectInteger("the field number of '\(name.value)'", allowingNegative: false)
        let options = current.isText("[") ? try parseFieldOptions() : []
        let end = try expect(";", "';' after field declaration")
        return FieldSyntax(
            label: label, type: type, mapKey: mapKey, start: tokens[start].location, name: name, number: number,
            options: options, comments: comments(start: start, end: end))
    }

    private mutating func parseOneof() throws(SyntaxError) -> OneofSyntax {
        let start = position
        advance()
        let name = try expectIdentifier("a oneof name")
        let open = try expect("{", "'{' after the oneof name")
        var options: [OptionSyntax] = []
        var fields: [FieldSyntax] = []
        while !consume("}") {
            if current.kind == .endOfFile { throw failure(expected: "'}' to close oneof '\(name.value)'") }
            if consume(";") { continue }
            if keyword == "option" {
                options.append(try parseOptionStatement())
            } else {
                fields.append(try parseField())
            }
        }
        return OneofSyntax(name: name, options: options, fields: fields, comments: comments(start: start, end: open))
    }

    /// `reserved 2, 15, 9 to 11, 40 to max;` or `reserved "foo", "bar";`.
    private mutating func parseReserved(allowingNegative: Bool) throws(SyntaxError) -> ReservedSyntax {
        advance()
        var reserved = ReservedSyntax(ranges: [], names: [])
        if current.kind == .string {
            repeat {
                reserved.names.append(try expectString("a quoted name to reserve"))
            } while consume(",")
        } else if current.kind == .integer || current.isText("-") {
            reserved.ranges = try parseRanges(allowingNegative: allowingNegative)
        } else {
            throw failure(expected: "a number, a range or a quoted name after 'reserved'")
        }
        try expect(";", "';' after the reserved statement")
        return reserved
    }

    private mutating func parseRanges(allowingNegative: Bool) throws(SyntaxError) -> [NumberRangeSyntax] {
        var ranges: [NumberRangeSyntax] = []
        repeat {
            let location = current.location
            let start = try expectInteger("a number", allowingNegative: allowingNegative)
            var end: Int64? = start.value
            if keyword == "to" {
                advance()
                if keyword == "max" {
                    advance()
                    end = nil
                } else {
                    end = try expectInteger("a number or 'max' after 'to'", allowingNegative: allowingNegative).value
                }
            }
            ranges.append(NumberRangeSyntax(start: start.value, end: end, location: location))
        } while consume(",")
        return ranges
    }

    /// `extend Foo { fields }`: parsed for syntax and dropped (we generate no extensions).
    private mutating func skipExtend() throws(SyntaxError) {
        advance()
        _ = try parseTypeReference("the name of the extended message")
        try expect("{", "'{' after the extended message's name")
        while !consume("}") {
            if current.kind == .endOfFile { throw failure(expected: "'}' to close the extend block") }
            if consume(";") { continue }
            _ = try parseField()
        }
    }

    // MARK: - Enums

    private mutating func parseEnum() throws(SyntaxError) -> EnumSyntax {
        let start = position
        advance()
        let name = try expectIdentifier("an enum name")
        let open = try expect("{", "'{' after the enum name")
        var result = EnumSyntax(name: name, values: [], options: [], reserved: [], comments: comments(start: start, end: open))
        while !consume("}") {
            if current.kind == .endOfFile { throw failure(expected: "'}' to close enum '\(name.value)'") }
            if consume(";") { continue }
            switch keyword {
            case "option": result.options.append(try parseOptionStatement())
            case "reserved": result.reserved.append(try parseReserved(allowingNegative: true))
            default: result.values.append(try parseEnumValue())
            }
        }
        return result
    }

    private mutating func parseEnumValue() throws(SyntaxError) -> EnumValueSyntax {
        let start = position
        let name = try expectIdentifier("an enum value name")
        try expect("=", "'=' after the enum value name '\(name.value)'")
        let number = try expectInteger("the number of enum value '\(name.value)'", allowingNegative: true)
        let options = current.isText("[") ? try parseFieldOptions() : []
        let end = try expect(";", "';' after enum value declaration")
        return EnumValueSyntax(name: name, number: number, options: options, comments: comments(start: start, end: end))
    }

    // MARK: - Services

    private mutating func parseService() throws(SyntaxError) -> ServiceSyntax {
        let start = position
        advance()
        let name = try expectIdentifier("a service name")
        let open = try expect("{", "'{' after the service name")
        var result = ServiceSyntax(name: name, methods: [], options: [], comments: comments(start: start, end: open))
        while !consume("}") {
            if current.kind == .endOfFile { throw failure(expected: "'}' to close service '\(name.value)'") }
            if consume(";") { continue }
            switch keyword {
            case "option": result.options.append(try parseOptionStatement())
            case "rpc": result.methods.append(try parseMethod())
            default: throw failure(expected: "'rpc', 'option' or '}' in service '\(name.value)'")
            }
        }
        return result
    }

    private mutating func parseMethod() throws(SyntaxError) -> MethodSyntax {
        let start = position
        advance()
        let name = try expectIdentifier("a method name")
        try expect("(", "'(' after the method name '\(name.value)'")
        let clientStreaming = consumeStreamKeyword()
        let input = try parseTypeReference("the request message type")
        try expect(")", "')' after the request type")
        guard keyword == "returns" else { throw failure(expected: "'returns' after the request type") }
        advance()
        try expect("(", "'(' after 'returns'")
        let serverStreaming = consumeStreamKeyword()
        let output = try parseTypeReference("the response message type")
        try expect(")", "')' after the response type")
        var options: [OptionSyntax] = []
        let end: Int
        if current.isText("{") {
            end = position
            advance()
            while !consume("}") {
                if current.kind == .endOfFile { throw failure(expected: "'}' to close method '\(name.value)'") }
                if consume(";") { continue }
                guard keyword == "option" else { throw failure(expected: "'option' or '}' in method '\(name.value)'") }
                options.append(try parseOptionStatement())
            }
        } else {
            end = try expect(";", "';' or '{' after the method declaration")
        }
        return MethodSyntax(
            name: name, input: input, clientStreaming: clientStreaming, output: output,
            serverStreaming: serverStreaming, options: options, comments: comments(start: start, end: end))
    }

    /// `stream` before a method's type (unless it is itself the type's name, as in `(stream)`).
    private mutating func consumeStreamKeyword() -> Bool {
        guard keyword == "stream", !token(after: 1).isText(")") else { return false }
        advance()
        return true
    }

    // MARK: - Options

    /// `option name = value;`.
    private mutating func parseOptionStatement() throws(SyntaxError) -> OptionSyntax {
        advance()
        let option = try parseOptionAssignment()
        try expect(";", "';' after the option")
        return option
    }

    /// `[name = value, ...]` after a field or enum value.
    private mutating func parseFieldOptions() throws(SyntaxError) -> [OptionSyntax] {
        advance()
        var options: [OptionSyntax] = []
        repeat {
            options.append(try parseOptionAssignment())
        } while consume(",")
        try expect("]", "',' or ']' after the option")
        return options
    }

    private mutating func parseOptionAssignment() throws(SyntaxError) -> OptionSyntax {
        let location = current.location
        var parts: [OptionNamePart] = []
        repeat {
            if consume("(") {
                let leadingDot = consume(".") ? "." : ""
                let name = try parseDottedName("a custom option name")
                try expect(")", "')' after the custom option name")
                parts.append(OptionNamePart(name: leadingDot + name.value, isExtension: true))
            } else {
                parts.append(OptionNamePart(name: try expectIdentifier("an option name").value, isExtension: false))
            }
        } while consume(".")
        try expect("=", "'=' after the option name")
        let valueLocation = current.location
        let (value, text) = try parseOptionValue()
        return OptionSyntax(nameParts: parts, value: value, valueText: text, location: location, valueLocation: valueLocation)
    }

    /// A constant: identifier, signed integer or float (including `inf`/`nan`), string(s), or `{...}`.
    private mutating func parseOptionValue() throws(SyntaxError) -> (OptionValueSyntax, String) {
        if current.isText("{") {
            try skipAggregate()
            return (.aggregate, "")
        }
        var sign = ""
        if current.isText("-") || current.isText("+") {
            sign = current.text
            advance()
        }
        let isNegative = sign == "-"
        switch current.kind {
        case .integer:
            let text = current.text
            guard let magnitude = Parser.integerValue(text) else { throw error("the integer '\(text)' is too large") }
            advance()
            return (.integer(isNegative: isNegative, magnitude: magnitude), isNegative ? "-" + text : text)
        case .float:
            let text = current.text
            let value = Parser.floatValue(text)
            advance()
            return (.float(isNegative ? -value : value), isNegative ? "-" + text : text)
        case .identifier where sign.isEmpty:
            let text = current.text
            advance()
            return (.identifier(text), text)
        case .identifier where current.text == "inf" || current.text == "nan":
            let text = current.text
            advance()
            let value = text == "inf" ? Double.infinity : Double.nan
            return (.float(isNegative ? -value : value), isNegative ? "-" + text : text)
        case .string where sign.isEmpty:
            let string = try expectString("a string")
            return (.string(Array(string.value.utf8)), string.value)
        default:
            throw failure(expected: sign.isEmpty ? "an option value" : "a number after '\(sign)'")
        }
    }

    /// Skips a text-format message value `{ ... }` (nested `{}`/`<>` included); its contents are not used.
    private mutating func skipAggregate() throws(SyntaxError) {
        var depth = 0
        repeat {
            if current.kind == .endOfFile || current.kind == .invalid {
                throw failure(expected: "'}' to close the option value")
            }
            if current.isText("{") || current.isText("<") { depth += 1 }
            if current.isText("}") || current.isText(">") { depth -= 1 }
            advance()
        } while depth > 0
    }

    // MARK: - Names and literals

    /// `.foo.Bar`, `Bar` or `int32`.
    private mutating func parseTypeReference(_ what: String) throws(SyntaxError) -> TypeReferenceSyntax {
        let location = current.location
        let leadingDot = consume(".") ? "." : ""
        let name = try parseDottedName(what)
        return TypeReferenceSyntax(name: leadingDot + name.value, location: location)
    }

    /// `ident { "." ident }`.
    private mutating func parseDottedName(_ what: String) throws(SyntaxError) -> Located<String> {
        var name = try expectIdentifier(what)
        while current.isText(".") {
            advance()
            name.value += "." + (try expectIdentifier("a name after '.'").value)
        }
        return name
    }

    private mutating func expectIdentifier(_ what: String) throws(SyntaxError) -> Located<String> {
        guard current.kind == .identifier else { throw failure(expected: what) }
        defer { advance() }
        return Located(value: current.text, location: current.location)
    }

    /// One string literal or several adjacent ones, concatenated.
    private mutating func expectString(_ what: String) throws(SyntaxError) -> Located<String> {
        guard current.kind == .string else { throw failure(expected: what) }
        let location = current.location
        var bytes: [UInt8] = []
        while current.kind == .string {
            bytes += current.stringValue
            advance()
        }
        return Located(value: String(decoding: bytes, as: UTF8.self), location: location)
    }

    /// An integer literal, optionally preceded by `-` when `allowingNegative`.
    private mutating func expectInteger(_ what: String, allowingNegative: Bool) throws(SyntaxError) -> Located<Int64> {
        let location = current.location
        let isNegative = allowingNegative && consume("-")
        guard current.kind == .integer else { throw failure(expected: what) }
        guard let magnitude = Parser.integerValue(current.text), magnitude <= UInt64(Int64.max) else {
            throw error("the integer '\(current.text)' is too large")
        }
        advance()
        let value = Int64(magnitude)
        return Located(value: isNegative ? -value : value, location: location)
    }

    /// The value of a decimal, `0x` hexadecimal or leading-zero octal literal; nil when it overflows.
    static func integerValue(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        if text.count > 1, text.hasPrefix("0") { return UInt64(text.dropFirst(), radix: 8) }
        return UInt64(text, radix: 10)
    }

    /// The value of a float literal such as `1.5`, `.5`, `5.` or `1e-3`.
    static func floatValue(_ text: String) -> Double {
        // Swift's parser wants digits on both sides of the point; .proto does not.
        var normalized = ""
        var previous: Character = " "
        for character in text {
            if character == "." && !previous.isNumber { normalized += "0" }
            if (character == "e" || character == "E") && previous == "." { normalized += "0" }
            normalized.append(character)
            previous = character
        }
        if previous == "." { normalized += "0" }
        return Double(normalized) ?? 0
    }

    // MARK: - Cursor

    private var current: Token { tokens[position] }

    private func token(after offset: Int) -> Token { tokens[min(position + offset, tokens.count - 1)] }

    /// The current token's text when it is an identifier (keywords are contextual in .proto).
    private var keyword: String? { current.kind == .identifier ? current.text : nil }

    private mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    private mutating func consume(_ symbol: String) -> Bool {
        guard current.isText(symbol) else { return false }
        advance()
        return true
    }

    /// Consumes `symbol` or fails with "expected <what>, found ..."; returns the consumed token's index.
    @discardableResult
    private mutating func expect(_ symbol: String, _ what: String) throws(SyntaxError) -> Int {
        guard current.isText(symbol) else { throw failure(expected: what) }
        defer { advance() }
        return position
    }

    /// Comments of a declaration running from token `start` to the `;` or `{` at token `end`.
    private func comments(start: Int, end: Int) -> Comments {
        Comments(leading: tokens[start].leadingComment, trailing: tokens[end].trailingComment)
    }

    private func failure(expected what: String) -> SyntaxError {
        if current.kind == .invalid { return SyntaxError(diagnostic: Diagnostic(location: current.location, message: current.text)) }
        return error("expected \(what), found \(current.quoted)")
    }

    private func error(_ message: String) -> SyntaxError {
        SyntaxError(diagnostic: Diagnostic(location: current.location, message: message))
    }
}
