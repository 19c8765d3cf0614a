/// Builds indented Swift source line by line, with one blank line between members.
struct CodeWriter {
    /// Four spaces, as the project's .swift-format says.
    static let indentUnit = "    "
    /// The line length the project formats to.
    static let lineLength = 120

    private var lines: [String] = []
    private var level = 0

    /// The text written so far, ending in a newline.
    var text: String { lines.joined(separator: "\n") + "\n" }

    /// The current indentation as a string.
    var indentation: String { String(repeating: Self.indentUnit, count: level) }

    /// Appends one line at the current indentation (an empty string writes an empty line). A line too long
    /// for the project's line length is split: a `case` label from its statement, then a call ending the line
    /// into `callee(`, its arguments, `)`.
    mutating func line(_ text: String = "") {
        if text.isEmpty {
            lines.append("")
            return
        }
        if !fits(text), let (label, statement) = Self.splitCase(text) {
            lines.append(indentation + label)
            indented { $0.line(statement) }
            return
        }
        if !fits(text) {
            // A call ending the line, possibly followed by a trailing closure's opening brace.
            let trailer = text.hasSuffix(") {") ? " {" : ""
            if let (callee, arguments) = Self.splitTrailingCall(String(text.dropLast(trailer.count))) {
                lines.append(indentation + callee + "(")
                indented { writer in
                    let items = Self.topLevelItems(arguments)
                    if writer.fits(arguments) || items.count == 1 {
                        writer.line(arguments)
                    } else {
                        for (index, item) in items.enumerated() {
                            writer.line(index == items.count - 1 ? item : item + ",")
                        }
                    }
                }
                lines.append(indentation + ")" + trailer)
                return
            }
        }
        lines.append(indentation + text)
    }

    /// `try f(a, b: c)` as ("try f", "a, b: c") when the line ends with the call's closing parenthesis.
    private static func splitTrailingCall(_ text: String) -> (String, String)? {
        guard text.hasSuffix(")") else { return nil }
        var depth = 0
        var index = text.endIndex
        while index > text.startIndex {
            index = text.index(before: index)
            switch text[index] {
            case ")": depth += 1
            case "(":
                depth -= 1
                if depth == 0 {
                    let arguments = text[text.index(after: index)..<text.index(before: text.endIndex)]
                    guard index > text.startIndex, !arguments.isEmpty else { return nil }
                    return (String(text[..<index]), String(arguments))
                }
            default: break
            }
        }
        return nil
    }

    /// Appends one line `depth` levels deeper than the current indentation.
    mutating func line(_ text: String, depth: Int) {
        level += depth
        line(text)
        level -= depth
    }

    /// `case 1: x = y` as ("case 1:", "x = y"); nil when `text` is not a case label followed by a statement.
    private static func splitCase(_ text: String) -> (String, String)? {
        guard text.hasPrefix("case ") || text.hasPrefix("default: ") else { return nil }
        guard let colon = text.firstRange(of: ": ") else { return nil }
        let label = text[..<colon.lowerBound]
        guard !label.contains("\""), !text[colon.upperBound...].isEmpty else { return nil }
        return (label + ":", String(text[colon.upperBound...]))
    }

    /// A declaration or call whose parameter list is wrapped when the whole doesn't fit: `head(parameters)tail`
    /// on one line, else `head(`, the parameters on one line (or one per line), and `)tail` (with a `where`
    /// clause on a line of its own when needed). Opens a block with `body`.
    mutating func declaration(
        _ head: String, _ parameters: String, _ tail: String, body: ((inout CodeWriter) -> Void)? = nil
    ) {
        let single = "\(head)(\(parameters))\(tail)"
        if fits(single) {
            if let body { block(single, body) } else { line(single) }
            return
        }
        line("\(head)(")
        indented { writer in
            if writer.fits(parameters) {
                writer.line(parameters)
            } else {
                let list = Self.topLevelItems(parameters)
                for (index, item) in list.enumerated() {
                    writer.line(index == list.count - 1 ? item : item + ",")
                }
            }
        }
        var closing = ")\(tail)"
        if !fits(closing), let whereRange = closing.range(of: " where ") {
            line(String(closing[..<whereRange.lowerBound]))
            closing = String(closing[closing.index(after: whereRange.lowerBound)...])
        }
        if let body { block(closing, body) } else { line(closing) }
    }

    /// `prefix[a, b]suffix` on one line when it fits, else one element per line.
    mutating func arrayLiteral(_ prefix: String, _ elements: [String], _ suffix: String = "") {
        let single = "\(prefix)[\(elements.joined(separator: ", "))]\(suffix)"
        if fits(single) || elements.isEmpty {
            line(single)
            return
        }
        line("\(prefix)[")
        indented { writer in
            for element in elements { writer.line(element + ",") }
        }
        line("]\(suffix)")
    }

    /// `a: X<Y, Z>, b: [K: V]` split at the commas outside brackets.
    private static func topLevelItems(_ list: String) -> [String] {
        var items: [String] = []
        var current = ""
        var depth = 0
        var previous: Character = " "
        for character in list {
            switch character {
            case "<", "[", "(": depth += 1
            case ">" where previous != "-", "]", ")": depth -= 1
            default: break
            }
            if character == ",", depth == 0 {
                items.append(current.trimmingCharacters())
                current = ""
            } else {
                current.append(character)
            }
            previous = character
        }
        items.append(current.trimmingCharacters())
        return items
    }

    /// Appends several lines at the current indentation.
    mutating func lines(_ texts: [String]) {
        texts.forEach { line($0) }
    }

    /// Starts a new member: a blank line unless this is the first thing inside a block or file.
    mutating func beginMember() {
        guard let last = lines.last, !last.isEmpty, !last.hasSuffix("{") else { return }
        lines.append("")
    }

    /// Writes `opener`, the body one level deeper, and the closing brace.
    mutating func block(_ opener: String, closer: String = "}", _ body: (inout CodeWriter) -> Void) {
        line(opener)
        level += 1
        body(&self)
        level -= 1
        line(closer)
    }

    /// Runs `body` one level deeper without writing braces (for `case` bodies).
    mutating func indented(_ body: (inout CodeWriter) -> Void) {
        level += 1
        body(&self)
        level -= 1
    }

    /// Whether `text` fits on one line at the current indentation.
    func fits(_ text: String) -> Bool {
        indentation.count + text.count <= Self.lineLength
    }

    /// `///` lines for a proto declaration's comments: the leading block, then the trailing one.
    mutating func docComment(_ comments: Comments, extra: [String] = []) {
        var paragraphs = [comments.leading, comments.trailing].map(Self.commentLines).filter { !$0.isEmpty }
        if !extra.isEmpty { paragraphs.append(extra.flatMap { wrapped($0, prefix: "/// ") }) }
        for (index, paragraph) in paragraphs.enumerated() {
            if index > 0 { line("///") }
            for text in paragraph {
                line(text.isEmpty ? "///" : "/// " + text)
            }
        }
    }

    /// Generated prose split at spaces so that each `///` line fits.
    private func wrapped(_ text: String, prefix: String) -> [String] {
        let width = Self.lineLength - indentation.count - prefix.count
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty, current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += current.isEmpty ? String(word) : " " + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// Lines of a comment with the common leading spaces and surrounding blank lines removed.
    private static func commentLines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var line = String(line)
            while line.last?.isWhitespace == true { line.removeLast() }
            return line
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        let indent = lines.filter { !$0.isEmpty }.map { $0.prefix(while: { $0 == " " }).count }.min() ?? 0
        return lines.map { $0.isEmpty ? $0 : String($0.dropFirst(indent)) }
    }
}

extension String {
    /// The string without leading and trailing spaces.
    fileprivate func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
