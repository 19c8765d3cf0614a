// The smallest units of .proto text, as the lexer hands them to the parser.

/// One token of a .proto file, with the comments protoc would attach around it.
struct Token: Sendable {
    /// What sort of token this is (https://protobuf.dev/reference/protobuf/proto3-spec/#lexical_elements).
    enum Kind: Sendable, Equatable {
        case identifier
        case integer
        case float
        case string
        /// A single punctuation character such as `{`, `=` or `;`.
        case symbol
        case endOfFile
        /// Text the lexer could not read; `text` holds the reason and the parser reports it.
        case invalid
    }

    var kind: Kind
    /// The text as written (quotes included for strings); the error message for `.invalid`.
    var text: String
    /// Where the token starts.
    var location: SourceLocation
    /// The decoded bytes of a string literal (escapes applied).
    var stringValue: [UInt8] = []
    /// The comment block protoc attaches in front of this token (only meaningful for the first token of a
    /// declaration), markers stripped.
    var leadingComment: String = ""
    /// The comment protoc attaches after this token (only meaningful for `;`, `{` and `}` that end a
    /// declaration), markers stripped.
    var trailingComment: String = ""

    /// Whether this is the identifier or symbol `text`.
    func isText(_ expected: String) -> Bool {
        (kind == .identifier || kind == .symbol) && text == expected
    }

    /// How error messages name this token: `'int32'`, `string "abc"`, `end of file`.
    var quoted: String {
        switch kind {
        case .endOfFile: "end of file"
        case .string: "string \(text)"
        default: "'\(text)'"
        }
    }
}
