import CNGHTTP2

/// Keepalive pings the server sends and the client ping policy it enforces, after gRPC's (doc/keepalive.md in
/// grpc/grpc; grpc-go's `keepalive.ServerParameters` and `EnforcementPolicy`).
public struct ServerKeepalive: Sendable {
    /// How long a connection may go without receiving anything before the server pings it (GRPC_ARG_KEEPALIVE_TIME_MS).
    public var time: Duration = .seconds(2 * 60 * 60)
    /// How long the server waits for the ack of its ping; then it sends GOAWAY and closes the connection
    /// (GRPC_ARG_KEEPALIVE_TIMEOUT_MS).
    public var timeout: Duration = .seconds(20)
    /// Whether the server pings connections with no calls open too (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS);
    /// without it, `ServerLimits.idleTimeout` is what ends those.
    public var permitWithoutCalls = false
    /// The shortest interval between client PINGs the server accepts while it sends no data or headers
    /// (GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS).
    public var minimumClientPingInterval: Duration = .seconds(5 * 60)
    /// Whether clients may ping while they have no calls open; if not, such pings must be two hours apart.
    public var permitClientPingsWithoutCalls = false
    /// Pings too soon that are forgiven; the next one gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings"
    /// (GRPC_ARG_HTTP2_MAX_PING_STRIKES).
    public var maxPingStrikes = 2

    /// gRPC's defaults.
    public init() {}
}

/// The server's judgement of the client's PINGs (gRPC's ping abuse policy): a PING sooner than allowed after the
/// previous one is a strike, and one strike more than `maxPingStrikes` ends the connection. Sending DATA or
/// HEADERS forgives the strikes, as the client may be pinging to measure a busy connection.
struct ClientPingPolicy {
    private let policy: ServerKeepalive
    private var strikes = 0
    private var lastPingAt: UInt64?
    private var dataSentSincePing = false

    /// A policy enforcing `policy`.
    init(_ policy: ServerKeepalive) {
        self.policy = policy
    }

    /// The server sent DATA or HEADERS: strikes are cleared at the next PING.
    mutating func noteDataSent() {
        dataSentSincePing = true
    }

    /// Judges a PING (not an ACK) received at `now` (monotonic ns) on a connection with `callsOpen` calls; true
    /// when it is one too many and the connection must get GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
    mutating func pingReceived(at now: UInt64, callsOpen: Bool) -> Bool {
        if dataSentSincePing {
            dataSentSincePing = false
            strikes = 0
        }
        defer { lastPingAt = now }
        guard let last = lastPingAt else { return false }
        let minimum =
            callsOpen || policy.permitClientPingsWithoutCalls
            ? policy.minimumClientPingInterval : .seconds(2 * 60 * 60)
        if now &- last < minimum.nanoseconds { strikes += 1 }
        return strikes > policy.maxPingStrikes
    }
}

extension NGHTTP2Session {
    /// The opaque data of the server's keepalive PINGs, so their ACKs are told apart from stray ones.
    static let keepalivePingData: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0x68, 0x6c, 0x2d, 0x6b, 0x61, 0x6c, 0x76, 0x65)  // "hl-kalve"

    /// Queues a keepalive PING (RFC 9113 §6.7); the peer must echo its data in a PING with the ACK flag.
    func submitKeepalivePing() {
        var data = NGHTTP2Session.keepalivePingData
        withUnsafeBytes(of: &data) { bytes in
            _ = nghttp2_submit_ping(
                handle, UInt8(NGHTTP2_FLAG_NONE.rawValue), bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Whether a received PING `frame` is the ACK of a keepalive PING from `submitKeepalivePing`.
    static func isKeepaliveAck(_ frame: UnsafePointer<nghttp2_frame>) -> Bool {
        guard UInt32(frame.pointee.hd.flags) & NGHTTP2_FLAG_ACK.rawValue != 0 else { return false }
        var received = frame.pointee.ping.opaque_data
        var expected = keepalivePingData
        return withUnsafeBytes(of: &received) { left in withUnsafeBytes(of: &expected) { right in left.elementsEqual(right) } }
    }
}
