// Turns .proto text into tokens (https://protobuf.dev/reference/protobuf/proto3-spec/#lexical_elements),
// attaching comments the way protoc's tokenizer does. Lexing stops at the first unreadable text, which
// becomes an `.invalid` token the parser reports.

/// Splits one .proto source into tokens.
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private let file: String
    private var index = 0
    private var line = 1
    private var column = 1

    /// Prepares to lex `source`, naming `file` in every location.
    init(source: String, file: String) {
        var scalars = Array(source.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }  // a UTF-8 byte order mark is not content
        self.scalars = scalars
        self.file = file
    }

    /// Every token up to and including `.endOfFile` (or the first `.invalid` one).
    mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        var previousLine: Int?
        while true {
            let (trailing, token, leading) = nextTokenWithComments(previousLine: previousLine)
            if !trailing.isEmpty, !tokens.isEmpty { tokens[tokens.count - 1].trailingComment = trailing }
            var attached = token
            attached.leadingComment = leading
            tokens.append(attached)
            if token.kind == .endOfFile || token.kind == .invalid { return tokens }
            previousLine = line
        }
    }

    // MARK: - Comments between tokens

    private enum CommentStart { case line, block, none }

    /// Reads the gap after the previous token and the token after it, sorting the comments in the gap as
    /// protoc's `Tokenizer::NextWithComments` does.
    private mutating func nextTokenWithComments(previousLine: Int?) -> (String, Token, String) {
        var collector = CommentCollector()
        var trailingCommentEndLine = -1

        if let previousLine {
            // A comment on the same line as the previous token belongs to it.
            skipSpacesOnLine()
            switch consumeCommentStart() {
            case .line:
                trailingCommentEndLine = line
                collector.beginLineComment()
                collector.appendToBuffer(consumeLineComment())
                collector.flush()
            case .block:
                collector.beginBlockComment()
                guard let text = consumeBlockComment() else { return ("", blockCommentError(), "") }
                collector.appendToBuffer(text)
                trailingCommentEndLine = line
                skipSpacesOnLine()
                if !consume("\n") {
                    // The next token follows on the same line: the comment belongs to neither.
                    collector.clearBuffer()
                    return (collector.trailing, nextToken(), "")
                }
                collector.flush()
            case .none:
                if !consume("\n") { return ("", nextToken(), "") }
            }
            return finishGap(collector, previousLine: previousLine, trailingCommentEndLine: trailingCommentEndLine)
        }
        collector.detachFromPrevious()
        return finishGap(collector, previousLine: nil, trailingCommentEndLine: trailingCommentEndLine)
    }

    /// Continues a gap from the start of a line: comment blocks, blank lines, then the next token.
    private mutating func finishGap(
        _ start: CommentCollector, previousLine: Int?, trailingCommentEndLine: Int
    ) -> (String, Token, String) {
        var collector = start
        while true {
            skipSpacesOnLine()
            switch consumeCommentStart() {
            case .line:
                collector.beginLineComment()
                collector.appendToBuffer(consumeLineComment())
            case .block:
                collector.beginBlockComment()
                guard let text = consumeBlockComment() else { return ("", blockCommentError(), "") }
                collector.appendToBuffer(text)
                skipSpacesOnLine()
                _ = consume("\n")
            case .none:
                if consume("\n") {
                    // A blank line ends whatever block came before it.
                    collector.flush()
                    collector.detachFromPrevious()
                    continue
                }
                let token = nextToken()
                if token.kind == .endOfFile || token.kind == .invalid || ["}", "]", ")"].contains(token.text) {
                    // The end of a scope: a comment here cannot lead anything.
                    collector.flush()
                }
                if token.kind != .endOfFile,
                    token.location.line == previousLine || token.location.line == trailingCommentEndLine
                {
                    collector.detachIfAmbiguous()
                }
                return (collector.trailing, token, collector.leading)
            }
        }
    }

    private var blockCommentStart = SourceLocation(file: "", line: 0, column: 0)
    /// Why the last block comment could not be read, and where.
    private var blockCommentFailure = Token(kind: .invalid, text: "", location: SourceLocation(file: "", line: 0, column: 0))

    private func blockCommentError() -> Token { blockCommentFailure }

    private mutating func consumeCommentStart() -> CommentStart {
        guard current == "/" else { return .none }
        if peek(1) == "/" {
            advance()
            advance()
            return .line
        }
        if peek(1) == "*" {
            blockCommentStart = here
            advance()
            advance()
            return .block
        }
        return .none
    }

    /// The text after `//`, newline included when there is one.
    private mutating func consumeLineComment() -> String {
        var text = String.UnicodeScalarView()
        while let scalar = current {
            advance()
            text.append(scalar)
            if scalar == "\n" { break }
        }
        return String(text)
    }

    /// The text inside `/* */` with each continuation line's indentation and leading `*` removed, as protoc
    /// records it; nil when the file ends first or a nested `/*` makes it ambiguous.
    private mutating func consumeBlockComment() -> String? {
        var text = String.UnicodeScalarView()
        while let scalar = current {
            if scalar == "\n" {
                advance()
                text.append("\n")
                skipSpacesOnLine()
                if current == "*" {
                    advance()
                    if current == "/" {
                        advance()
                        return String(text)
                    }
                }
            } else if scalar == "*" && peek(1) == "/" {
                advance()
                advance()
                return String(text)
            } else if scalar == "/" && peek(1) == "*" {
                blockCommentFailure = Token(
                    kind: .invalid, text: "'/*' inside a block comment; block comments cannot be nested", location: here)
                return nil
            } else {
                advance()
                text.append(scalar)
            }
        }
        blockCommentFailure = Token(
            kind: .invalid, text: "the block comment starting here is not closed with '*/'", location: blockCommentStart)
        return nil
    }

    private mutating func skipSpacesOnLine() {
        while let scalar = current, scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\u{0B}"
            || scalar == "\u{0C}"
        {
            advance()
        }
    }

    // MARK: - Tokens

    /// The next token, skipping whitespace and comments (which are dropped here).
    private mutating func nextToken() -> Token {
        while true {
            while let scalar = current, scalar.isSpace { advance() }
            switch consumeCommentStart() {
            case .line:
                _ = consumeLineComment()
                continue
            case .block:
                if consumeBlockComment() == nil { return blockCommentError() }
                continue
            case .none:
                break
            }
            break
        }
        let start = here
        guard let scalar = current else { return Token(kind: .endOfFile, text: "", location: start) }
        if scalar.isLetterOrUnderscore {
            return Token(kind: .identifier, text: consumeWhile { $0.isLetterOrUnderscore || $0.isDigit }, location: start)
        }
        if scalar.isDigit || (scalar == "." && peek(1)?.isDigit == true) {
            return number(at: start)
        }
        if scalar == "\"" || scalar == "'" {
            return string(at: start)
        }
        advance()
        if scalar.value < 0x20 || scalar.value == 0x7F {
            return invalid("invalid control character U+\(String(scalar.value, radix: 16, uppercase: true))", at: start)
        }
        return Token(kind: .symbol, text: String(scalar), location: start)
    }

    private func invalid(_ message: String, at location: SourceLocation) -> Token {
        Token(kind: .invalid, text: message, location: location)
    }

    /// Integer (decimal, `0x` hex, leading-zero octal) or float literal.
    private mutating func number(at start: SourceLocation) -> Token {
        var text = ""
        var isFloat = false
        if current == "0", peek(1) == "x" || peek(1) == "X" {
            text = consumeCount(2)
            let digits = consumeWhile { $0.isHexDigit }
            if digits.isEmpty { return invalid("'\(text)' must be followed by hex digits", at: start) }
            text += digits
        } else {
            text = consumeWhile { $0.isDigit }
            if current == "." {
                isFloat = true
                text += consumeCount(1) + consumeWhile { $0.isDigit }
            }
            if current == "e" || current == "E" {
                isFloat = true
                text += consumeCount(1)
                if current == "+" || current == "-" { text += consumeCount(1) }
                let exponent = consumeWhile { $0.isDigit }
                if exponent.isEmpty { return invalid("'e' must be followed by an exponent", at: start) }
                text += exponent
            }
            if !isFloat, text.count > 1, text.hasPrefix("0"), text.contains(where: { $0 == "8" || $0 == "9" }) {
                return invalid("numbers starting with a leading zero must be in octal, found '\(text)'", at: start)
            }
        }
        if current == "." {
            return invalid("unexpected '.' after the number '\(text)'", at: here)
        }
        if let next = current, next.isLetterOrUnderscore {
            return invalid("need a space between the number '\(text)' and the identifier after it", at: here)
        }
        return Token(kind: isFloat ? .float : .integer, text: text, location: start)
    }

    /// A quoted string literal with its escapes decoded to bytes.
    private mutating func string(at start: SourceLocation) -> Token {
        guard let quote = current else { return invalid("expected a string", at: start) }
        advance()
        var raw = String.UnicodeScalarView([quote])
        var bytes: [UInt8] = []
        while true {
            guard let scalar = current else {
                return invalid("unexpected end of file in string literal", at: start)
            }
            if scalar == "\n" {
                return invalid("string literals cannot span lines", at: here)
            }
            advance()
            raw.append(scalar)
            if scalar == quote { break }
            if scalar != "\\" {
                bytes.append(contentsOf: Array(String(scalar).utf8))
                continue
            }
            let escapeStart = SourceLocation(file: file, line: line, column: column - 1)
            switch escape(into: &bytes, raw: &raw) {
            case .success: continue
            case .failure(let failure): return invalid(failure.message, at: escapeStart)
            }
        }
        return Token(kind: .string, text: String(raw), location: start, stringValue: bytes)
    }

    private struct EscapeError: Error { var message: String }

    /// Decodes one escape after a backslash: `\n`-style, octal `\123`, `\xAB`, `\uABCD`, `\U0010FFFF`.
    private mutating func escape(into bytes: inout [UInt8], raw: inout String.UnicodeScalarView) -> Result<
        Void, EscapeError
    > {
        guard let scalar = current else { return .failure(EscapeError(message: "unexpected end of file in string literal")) }
        let simple: [Unicode.Scalar: UInt8] = [
            "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, "\"": 34, "?": 63,
        ]
        if let byte = simple[scalar] {
            advance()
            raw.append(scalar)
            bytes.append(byte)
            return .success(())
        }
        if scalar.isOctalDigit {
            let digits = consumeWhile(limit: 3) { $0.isOctalDigit }
            raw.append(contentsOf: digits.unicodeScalars)
            let value = Int(digits, radix: 8) ?? 0
            guard value <= 0xFF else {
                return .failure(EscapeError(message: "octal escape '\\\(digits)' is larger than one byte"))
            }
            bytes.append(UInt8(value))
            return .success(())
        }
        if scalar == "x" || scalar == "X" {
            advance()
            raw.append(scalar)
            let digits = consumeWhile(limit: 2) { $0.isHexDigit }
            guard !digits.isEmpty else {
                return .failure(EscapeError(message: "'\\\(scalar)' must be followed by one or two hex digits"))
            }
            raw.append(contentsOf: digits.unicodeScalars)
            bytes.append(UInt8(digits, radix: 16) ?? 0)
            return .success(())
        }
        if scalar == "u" || scalar == "U" {
            advance()
            raw.append(scalar)
            let width = scalar == "u" ? 4 : 8
            let digits = consumeWhile(limit: width) { $0.isHexDigit }
            raw.append(contentsOf: digits.unicodeScalars)
            guard digits.count == width, var codePoint = UInt32(digits, radix: 16) else {
                return .failure(EscapeError(message: "'\\\(scalar)' must be followed by \(width) hex digits"))
            }
            // A UTF-16 surrogate pair written as two \u escapes stands for one code point.
            if (0xD800...0xDBFF).contains(codePoint), current == "\\", peek(1) == "u" {
                let save = (index, line, column)
                advance()
                advance()
                let low = consumeWhile(limit: 4) { $0.isHexDigit }
                if low.count == 4, let lowValue = UInt32(low, radix: 16), (0xDC00...0xDFFF).contains(lowValue) {
                    raw.append(contentsOf: "\\u\(low)".unicodeScalars)
                    codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (lowValue - 0xDC00)
                } else {
                    (index, line, column) = save
                }
            }
            guard let decoded = Unicode.Scalar(codePoint) else {
                return .failure(EscapeError(message: "'\\\(scalar)\(digits)' is not a valid Unicode code point"))
            }
            bytes.append(contentsOf: Array(String(decoded).utf8))
            return .success(())
        }
        return .failure(EscapeError(message: "invalid escape sequence '\\\(scalar)' in string literal"))
    }

    // MARK: - Cursor

    private var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private func peek(_ offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private var here: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    private mutating func advance() {
        guard index < scalars.count else { return }
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private mutating func consume(_ scalar: Unicode.Scalar) -> Bool {
        guard current == scalar else { return false }
        advance()
        return true
    }

    private mutating func consumeCount(_ count: Int) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<count {
            guard let scalar = current else { break }
            text.append(scalar)
            advance()
        }
        return String(text)
    }

    private mutating func consumeWhile(limit: Int = .max, _ accept: (Unicode.Scalar) -> Bool) -> String {
        var text = String.UnicodeScalarView()
        while text.count < limit, let scalar = current, accept(scalar) {
            text.append(scalar)
            advance()
        }
        return String(text)
    }
}

extension Unicode.Scalar {
    fileprivate var isDigit: Bool { ("0"..."9").contains(self) }
    fileprivate var isOctalDigit: Bool { ("0"..."7").contains(self) }
    fileprivate var isHexDigit: Bool { isDigit || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
    fileprivate var isLetterOrUnderscore: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" }
}

extension Unicode.Scalar {
    /// The whitespace protoc accepts between tokens.
    fileprivate var isSpace: Bool {
        self == " " || self == "\n" || self == "\t" || self == "\r" || self == "\u{0B}" || self == "\u{0C}"
    }
}
