/// A failed RPC as its caller sees it: a gRPC status code, a one-line message and trailing metadata.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The status code.
    public var code: Code
    /// A one-line, human-readable explanation, e.g. naming the malformed field.
    public var message: String
    /// Metadata sent with the status (trailers).
    public var metadata: Metadata

    /// Creates an error with a code, a message and optional trailing metadata.
    public init(_ code: Code, _ message: String, metadata: Metadata = [:]) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    /// Creates an error with a code, a message and optional trailing metadata (labelled form).
    public init(code: Code, message: String, metadata: Metadata = [:]) {
        self.init(code, message, metadata: metadata)
    }

    /// "CODE_NAME: message", or just the code name when there is no message.
    public var description: String {
        message.isEmpty ? code.name : "\(code.name): \(message)"
    }
}
