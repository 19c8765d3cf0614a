/// Keepalive pings the client sends, after gRPC's doc/keepalive.md (the client half of `ServerKeepalive`).
public struct ClientKeepalive: Sendable, Hashable {
    /// How long the connection may go without receiving a frame before the client pings (GRPC_ARG_KEEPALIVE_TIME_MS).
    /// Doubled for later connections each time the server answers GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
    public var time: Duration
    /// How long the client waits for the ping's ACK before closing the connection, failing its calls with
    /// UNAVAILABLE (GRPC_ARG_KEEPALIVE_TIMEOUT_MS).
    public var timeout: Duration
    /// Whether to ping a connection with no calls open too (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS).
    public var permitWithoutCalls: Bool

    /// Pings after `time` of silence, giving up `timeout` later; gRPC's default timeout is 20 s.
    public init(time: Duration, timeout: Duration = .seconds(20), permitWithoutCalls: Bool = false) {
        self.time = time
        self.timeout = timeout
        self.permitWithoutCalls = permitWithoutCalls
    }
}
