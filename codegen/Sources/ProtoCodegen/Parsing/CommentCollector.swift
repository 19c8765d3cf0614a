// Decides which comments become a previous declaration's trailing comment and which the next one's leading
// comment, with the same rules protoc's tokenizer applies when it fills SourceCodeInfo
// (google/protobuf/io/tokenizer.h, "NextWithComments"): a comment on the same line as the previous token,
// or a block of comments after it that ends in a blank line, trails it; the block right above the next
// token leads it; anything separated by blank lines on both sides is detached and dropped.

/// Gathers the comments between two tokens and sorts them into trailing, leading and detached.
struct CommentCollector {
    /// The trailing comment for the token before the gap.
    private(set) var trailing = ""
    private var hasTrailing = false
    private var buffer = ""
    private var hasComment = false
    private var bufferIsLineComments = false
    private var canAttachToPrevious = true
    private var commentCount = 0

    /// The leading comment for the token after the gap: whatever is still buffered at the end.
    var leading: String { hasComment ? CommentCollector.normalized(buffer) : "" }

    /// Starts (or continues) a run of `//` lines; call `appendToBuffer` with the text after the `//`.
    mutating func beginLineComment() {
        // Consecutive line comments form one block; a block comment before them does not join it.
        if hasComment && !bufferIsLineComments { flush() }
        hasComment = true
        bufferIsLineComments = true
    }

    /// Starts a `/* */` comment, which is always a block on its own.
    mutating func beginBlockComment() {
        if hasComment { flush() }
        hasComment = true
        bufferIsLineComments = false
    }

    /// Adds raw comment text to the current block.
    mutating func appendToBuffer(_ text: String) { buffer += text }

    /// Forgets the buffered comment (it sits between two tokens on one line and belongs to neither).
    mutating func clearBuffer() {
        buffer = ""
        hasComment = false
    }

    /// The buffered block is complete and does not belong to the next token.
    mutating func flush() {
        guard hasComment else { return }
        if canAttachToPrevious {
            trailing += CommentCollector.normalized(buffer)
            hasTrailing = true
            canAttachToPrevious = false
        }
        clearBuffer()
        commentCount += 1
    }

    /// Nothing after this point may trail the previous token.
    mutating func detachFromPrevious() { canAttachToPrevious = false }

    /// The next token shares a line with the previous one (or with the end of its trailing comment): a
    /// single comment in between is ambiguous, so it is detached from both.
    mutating func detachIfAmbiguous() {
        let count = commentCount + (hasComment ? 1 : 0)
        guard count == 1 else { return }
        if hasTrailing {
            trailing = ""
        }
        canAttachToPrevious = false
        flush()
    }

    /// Strips comment framing: one space after `//` or at the start of each block line, trailing blanks,
    /// and empty first and last lines (`/*` and `*/` on lines of their own, or a `//` spacer line).
    static func normalized(_ raw: String) -> String {
        // Split on "\n" scalars: a String would treat "\r\n" as one character and never split it.
        var lines = raw.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var text = Substring(String(String.UnicodeScalarView(line)))
            if text.first == " " { text = text.dropFirst() }
            while let last = text.unicodeScalars.last, last == " " || last == "\t" || last == "\r" {
                text = Substring(String(String.UnicodeScalarView(text.unicodeScalars.dropLast())))
            }
            return String(text)
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }
}
