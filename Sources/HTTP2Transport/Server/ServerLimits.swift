/// Limits a server enforces per connection and per call, with defaults that suit a public endpoint.
public struct ServerLimits: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open at once.
    public var maxConcurrentStreams: Int = 100
    /// SETTINGS_MAX_HEADER_LIST_SIZE, also the bound on a request's header block across CONTINUATIONs.
    public var maxHeaderListSize: Int = 16 * 1024
    /// Largest request message accepted (after decompression); larger -> RESOURCE_EXHAUSTED.
    public var maxReceiveMessageSize: Int = 4 * 1024 * 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE: bytes a client may send on a stream before the handler reads.
    public var initialStreamWindowSize: Int = 1024 * 1024
    /// Whole request messages queued per stream for a handler that has not read them yet; past this the
    /// server stops returning flow-control window, so the client waits (memory per stream stays near this plus
    /// the stream window plus one message being reassembled).
    public var inboundBytesPerStream: Int = 256 * 1024
    /// The connection-level receive window.
    public var connectionWindowSize: Int = 8 * 1024 * 1024
    /// Response bytes queued per stream before the handler's write waits.
    public var outboundBytesPerStream: Int = 256 * 1024
    /// Bytes buffered for the socket per connection before the server stops serializing frames.
    public var outboundBytesPerConnection: Int = 1024 * 1024
    /// Connections open at once across the server; more are closed on accept.
    public var maxConnections: Int = 10_000
    /// How long a new connection has to send the HTTP/2 preface (and TLS handshake).
    public var prefaceTimeout: Duration = .seconds(10)
    /// How long a request's header block (HEADERS and its CONTINUATIONs) may take to arrive once begun; a block
    /// still incomplete then gets GOAWAY ENHANCE_YOUR_CALM and the connection closes (slowloris).
    public var requestHeadersTimeout: Duration = .seconds(10)
    /// How long a connection without open streams stays open.
    public var idleTimeout: Duration = .seconds(300)
    /// RST_STREAM frames a client may send per `floodWindow` before GOAWAY ENHANCE_YOUR_CALM (rapid reset).
    public var maxResetsPerWindow: Int = 200
    /// SETTINGS, PING and empty DATA frames a client may send per `floodWindow` before GOAWAY ENHANCE_YOUR_CALM.
    public var maxControlFramesPerWindow: Int = 1000
    /// The window over which the flood counters run.
    public var floodWindow: Duration = .seconds(10)

    /// The defaults.
    public init() {}
}
