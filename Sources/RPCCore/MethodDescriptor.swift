/// Names one RPC method of one service and says what kind of call it is.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The fully-qualified service name, e.g. "healthledger.v1.Ledger".
    public let service: String
    /// The method name as written in the .proto file, e.g. "Grant".
    public let method: String
    /// How many messages flow each way.
    public let kind: RPCKind

    /// Describes `method` of `service`.
    public init(service: String, method: String, kind: RPCKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// The HTTP/2 `:path` of the call, "/healthledger.v1.Ledger/Grant" (PROTOCOL-HTTP2.md, "Path").
    public var path: String { "/\(service)/\(method)" }

    /// The path.
    public var description: String { path }
}
