/// A failed RPC as its caller sees it: a gRPC status code, a one-line message and trailing metadata.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The status code.
    public var code: Code
    /// A one-line, human-readable explanation, e.g. naming the malformed field.
    public var message: String
    /// Metadata sent with the status (trailers).
    public var metadata: Metadata
    /// Set by a client transport that knows the server did not act on the call: its request never left the client
    /// (no connection, the transport closed, the call ended before it started) or the server refused its stream
    /// unprocessed (REFUSED_STREAM, also for streams above a GOAWAY's last stream id). Such a call may be sent again,
    /// elsewhere too, even when it changes data; when false the server may have acted on it. Never sent on the wire.
    public var isUnprocessed = false

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

    /// This error marked as one whose call the server did not act on (see `isUnprocessed`).
    public func markedUnprocessed() -> RPCError {
        var marked = self
        marked.isUnprocessed = true
        return marked
    }

    /// "CODE_NAME: message", or just the code name when there is no message.
    public var description: String {
        message.isEmpty ? code.name : "\(code.name): \(message)"
    }
}
