/// The four shapes of a gRPC call, by how many messages flow each way.
public enum RPCKind: Hashable, Sendable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// Streams both ways.
    case bidirectionalStreaming
}
