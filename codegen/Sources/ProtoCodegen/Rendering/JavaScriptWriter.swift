/// Builds indented JavaScript line by line (two spaces per level), with JSDoc comments from proto comments.
struct JavaScriptWriter {
    /// Two spaces, the indentation of the project's hand-written JavaScript.
    static let indentUnit = "  "
    /// The width generated prose is wrapped to.
    static let lineLength = 120

    private var lines: [String] = []
    private var level = 0

    /// The text written so far, ending in a newline.
    var text: String { lines.joined(separator: "\n") + "\n" }

    /// Appends one line at the current indentation (an empty string writes an empty line).
    mutating func line(_ text: String = "") {
        lines.append(text.isEmpty ? "" : String(repeating: Self.indentUnit, count: level) + text)
    }

    /// Appends several lines at the current indentation.
    mutating func lines(_ texts: [String]) {
        texts.forEach { line($0) }
    }

    /// `head(a, b)tail` on one line when it fits, otherwise `head(`, one argument per line, `)tail`.
    mutating func call(_ head: String, _ arguments: [String], _ tail: String = ";") {
        let single = "\(head)(\(arguments.joined(separator: ", ")))\(tail)"
        if level * Self.indentUnit.count + single.count <= Self.lineLength {
            line(single)
            return
        }
        line("\(head)(")
        indented { writer in
            for argument in arguments { writer.line(argument + ",") }
        }
        line(")\(tail)")
    }

    /// `if (condition) statement` on one line when it fits, otherwise as a block.
    mutating func compactIf(_ condition: String, _ statement: String) {
        let single = "if (\(condition)) \(statement)"
        if level * Self.indentUnit.count + single.count <= Self.lineLength {
            line(single)
        } else {
            block("if (\(condition)) {") { $0.line(statement) }
        }
    }

    /// Starts a new member: a blank line unless this is the first thing inside a block or the file.
    mutating func beginMember() {
        guard let last = lines.last, !last.isEmpty, !last.hasSuffix("{") else { return }
        lines.append("")
    }

    /// Writes `opener`, the body one level deeper, and `closer`.
    mutating func block(_ opener: String, closer: String = "}", _ body: (inout JavaScriptWriter) -> Void) {
        line(opener)
        indented(body)
        line(closer)
    }

    /// Runs `body` one level deeper without writing braces (for `case` bodies).
    mutating func indented(_ body: (inout JavaScriptWriter) -> Void) {
        level += 1
        body(&self)
        level -= 1
    }

    /// A JSDoc block: the proto comments (leading, then trailing), then `extra` paragraphs, then `tags`
    /// (`@type {string}`); one line `/** text */` when everything fits on one line.
    mutating func jsDoc(_ comments: Comments = .none, extra: [String] = [], tags: [String] = []) {
        var paragraphs = [comments.leading, comments.trailing].map(Self.commentLines).filter { !$0.isEmpty }
        paragraphs += extra.map { wrapped($0, width: Self.lineLength - level * Self.indentUnit.count - 3) }
        var body: [String] = []
        for (index, paragraph) in paragraphs.enumerated() {
            if index > 0 { body.append("") }
            body += paragraph.map(Self.escapedCommentText)
        }
        body += tags
        guard !body.isEmpty else { return }
        if body.count == 1, level * Self.indentUnit.count + body[0].count + 7 <= Self.lineLength {
            line("/** \(body[0]) */")
            return
        }
        line("/**")
        for text in body { line(text.isEmpty ? " *" : " * " + text) }
        line(" */")
    }

    /// Generated prose split at spaces into lines of at most `width` characters.
    private func wrapped(_ text: String, width: Int) -> [String] {
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

    /// Comment text that cannot end the JSDoc block early.
    private static func escapedCommentText(_ text: String) -> String {
        text.replacing("*/", with: "*\\/")
    }

    /// Lines of a comment with the common leading spaces and surrounding blank lines removed.
    static func commentLines(_ text: String) -> [String] {
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
