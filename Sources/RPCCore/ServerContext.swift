/// What a server handler knows about the call it is serving, besides the messages.
public struct ServerContext: Sendable {
    /// The metadata the client sent with the call.
    public var metadata: Metadata
    /// The method being called.
    public var method: MethodDescriptor
    /// Who is calling, as the transport describes it, e.g. "ipv4:127.0.0.1:51234" or "in-process".
    public var peer: String
    /// When the caller's deadline passes (from its timeout), or nil when it set none. The transport cancels the
    /// handler then; a handler passes what remains on to the calls it makes itself.
    public var deadline: ContinuousClock.Instant?

    /// Creates a context for one call of `method`.
    public init(
        method: MethodDescriptor, metadata: Metadata = [:], peer: String, deadline: ContinuousClock.Instant? = nil
    ) {
        self.method = method
        self.metadata = metadata
        self.peer = peer
        self.deadline = deadline
    }
}
