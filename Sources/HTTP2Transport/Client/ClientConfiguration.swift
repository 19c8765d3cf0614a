/// Where an `HTTP2ClientTransport` connects and how.
public struct ClientConfiguration: Sendable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The :authority sent with each call; defaults to "host:port".
    public var authority: String?
    /// The user-agent sent with each call.
    public var userAgent: String = "healthledger-swift/0.1.0"
    /// Largest response message accepted (after decompression); larger -> RESOURCE_EXHAUSTED.
    public var maxReceiveMessageSize: Int = 4 * 1024 * 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE: bytes the server may send on a call before the caller reads.
    public var initialStreamWindowSize: Int = 1024 * 1024
    /// The connection-level receive window.
    public var connectionWindowSize: Int = 8 * 1024 * 1024
    /// Request bytes queued per call before the request writer waits.
    public var outboundBytesPerStream: Int = 256 * 1024
    /// TLS settings; nil speaks plaintext HTTP/2 (h2c with prior knowledge).
    public var tls: TLSClientConfiguration? = nil
    /// How long connecting may take before calls fail with UNAVAILABLE (at least; a longer backoff wait
    /// lengthens it): the backoff's `minimumConnectTimeout`.
    public var connectTimeout: Duration {
        get { backoff.minimumConnectTimeout }
        set { backoff.minimumConnectTimeout = newValue }
    }
    /// The waits between connection attempts after failures; while waiting, new calls fail with UNAVAILABLE.
    public var backoff = ConnectionBackoff()
    /// Keepalive pings to the server; nil (the default) sends none.
    public var keepalive: ClientKeepalive? = nil

    /// A configuration for `host`:`port`, plaintext until `tls` is set.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
