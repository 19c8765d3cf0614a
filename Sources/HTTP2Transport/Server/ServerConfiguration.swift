import GRPCProtocol

/// Where and how a `GRPCServer` listens.
public struct ServerConfiguration: Sendable {
    /// The address to bind; "127.0.0.1", "0.0.0.0", "::".
    public var host: String = "127.0.0.1"
    /// The port to bind; 0 picks an ephemeral one (returned by `start`).
    public var port: Int = 0
    /// Event loop threads; each runs its own listener (SO_REUSEPORT) and the connections it accepted.
    public var eventLoopCount: Int = EventLoopGroup.activeProcessorCount
    /// Connection and call limits.
    public var limits = ServerLimits()
    /// Where connections that break a limit or the protocol are reported, once per breach per connection.
    public var eventLog = ConnectionEventLog.standardError
    /// TLS settings; nil serves plaintext HTTP/2 (h2c with prior knowledge).
    public var tls: TLSConfiguration? = nil
    /// Whether responses are compressed (gzip) when the client accepts it; a handler can override per call
    /// through `ServerCallResponse.current`.
    public var compressResponses = false
    /// Keepalive pings the server sends and the client ping policy it enforces (gRPC's defaults).
    public var keepalive = ServerKeepalive()
    /// A second, plaintext (h2c) port serving only the health service given to `GRPCServer`, for orchestrators'
    /// probes when the main port requires client certificates; 0 picks an ephemeral one; nil: no such port.
    public var healthPort: Int? = nil
    /// The address the health port binds; nil binds `host`.
    public var healthHost: String? = nil
    /// Origins ("https://host[:port]") whose pages may call this server's gRPC-Web methods cross-origin (CORS);
    /// empty, the default, answers no preflight and sends no CORS headers. Same-origin pages need none.
    public var webAllowedOrigins: [String] = []
    /// Files answered to GET and HEAD requests (a web page served beside the RPCs); nil: such requests get 405
    /// as on any gRPC server.
    public var staticFiles: (any StaticFileSource)? = nil

    /// `origin` as `webAllowedOrigins` compares it ("https://host[:port]", lower-case), or nil when it is no
    /// origin (a path, query, user info or wildcard), for checking configuration before the server starts.
    public static func normalizedWebOrigin(_ origin: String) -> String? { GRPCWebCORS.normalizedOrigin(origin) }

    /// A configuration for `host`:`port` with default limits, plaintext until `tls` is set.
    public init(host: String = "127.0.0.1", port: Int = 0) {
        self.host = host
        self.port = port
    }
}
