// What the loader reports when .proto files cannot be turned into a model.

/// One problem in a .proto file; `description` is "file:line:column: message".
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    /// Where the offending token starts (line 0 when the problem is a whole file, such as a missing one).
    public var location: SourceLocation
    /// What is wrong, in plain words.
    public var message: String

    /// Creates a diagnostic.
    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    /// `file:line:column: message`, or `file: message` when no position applies.
    public var description: String {
        location.line > 0 ? "\(location): \(message)" : "\(location.file): \(message)"
    }
}

/// Loading failed; every diagnostic found (at least one), in file order.
public struct ProtoLoadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The problems, ordered by file and then by position.
    public var diagnostics: [Diagnostic]

    /// Creates an error from its diagnostics.
    public init(diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }

    /// One diagnostic per line.
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
