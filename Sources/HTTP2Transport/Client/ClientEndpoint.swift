/// Where a server listens: one node of a cluster, say, each serving the same API on its own address.
public struct ClientEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The port.
    public var port: Int

    /// The endpoint `host`:`port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// "host:port", an IPv6 address in brackets ("[::1]:7443"), as errors name the endpoint.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
