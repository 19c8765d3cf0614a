/// One etcd member's client address.
public struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The member's host name or address (IPv6 without brackets).
    public var host: String
    /// The member's client port (etcd's default is 2379).
    public var port: Int

    /// The member at `host`:`port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses an endpoint as etcd's tools write them: "host:port", "[v6]:port", or a client URL
    /// "http://host:port" / "https://host:port" (a trailing "/" allowed). Whether TLS is used is the client's
    /// `tls` setting, not the URL's scheme, so one list can be used with either.
    public init(parsing text: String) throws(EtcdError) {
        var rest = Substring(text)
        for scheme in ["http://", "https://"] where rest.hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), let colon = rest.lastIndex(of: ":") else {
            throw .invalidEndpoint(text)
        }
        var host = rest[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            throw .invalidEndpoint(text)  // an IPv6 address needs its brackets
        }
        guard !host.isEmpty, let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            throw .invalidEndpoint(text)
        }
        self.init(host: String(host), port: port)
    }

    /// "host:port", with brackets around an IPv6 address.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
