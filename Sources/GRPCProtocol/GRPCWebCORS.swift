/// Which other origins may call the server's gRPC-Web methods from a browser (CORS, fetch standard §3.2), and
/// the headers that say so. Empty, the default, allows none: a page served by the node itself is same-origin
/// and needs no CORS at all.
public struct GRPCWebCORS: Hashable, Sendable {
    /// Allowed origins, normalised ("https://host[:port]", lower-case, no trailing slash).
    public let allowedOrigins: Set<String>

    /// Headers a page may read from a response besides the CORS-safelisted ones: the status (trailers-only
    /// responses carry it in headers), compression, and rich error details.
    public static let exposedHeaders = [
        "grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding",
    ]

    /// Request headers a preflight always allows: what a gRPC-Web client sends, and the bearer token.
    public static let allowedRequestHeaders = [
        "authorization", "content-type", "grpc-timeout", "grpc-accept-encoding", "x-grpc-web", "x-user-agent",
    ]

    /// How long a browser may cache a preflight answer, in seconds.
    public static let preflightMaxAge = 600

    /// A policy allowing `origins` (each normalised with `normalizedOrigin`; ones that are no origin are dropped,
    /// so check them with `normalizedOrigin` first to report them).
    public init(allowedOrigins origins: [String]) {
        allowedOrigins = Set(origins.compactMap(Self.normalizedOrigin))
    }

    /// Whether any origin is allowed.
    public var isEnabled: Bool { !allowedOrigins.isEmpty }

    /// "scheme://host[:port]" lower-cased without a trailing "/", or nil when `origin` is not of that form
    /// (a path, query, user info or wildcard is not an origin).
    public static func normalizedOrigin(_ origin: String) -> String? {
        var text = origin.trimmingASCIISpaces().lowercasedASCII()
        if text.hasSuffix("/") { text.removeLast() }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon]
        let rest = text[text.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        let authority = rest.dropFirst(2)
        guard scheme == "https" || scheme == "http", !authority.isEmpty else { return nil }
        let forbidden: Set<Character> = ["/", "?", "#", "@", "*", " "]
        guard !authority.contains(where: { forbidden.contains($0) }) else { return nil }
        return text
    }

    /// Whether a request from `origin` (its Origin header) may read responses.
    public func allows(origin: String) -> Bool {
        guard isEnabled, let normalized = Self.normalizedOrigin(origin) else { return false }
        return allowedOrigins.contains(normalized)
    }

    /// What to answer an OPTIONS request.
    public enum PreflightAnswer: Hashable, Sendable {
        /// 204 with these headers.
        case allowed([HeaderField])
        /// 403: the origin is not allowed or the request is no CORS preflight; the reason, for the body.
        case refused(String)
    }

    /// The answer to an OPTIONS request with these Origin, Access-Control-Request-Method and
    /// Access-Control-Request-Headers values. Only POST (gRPC-Web's method) is allowed; requested header names
    /// are allowed when they are valid field names, since the origin is trusted and custom metadata names are
    /// the application's.
    public func preflight(origin: String?, requestMethod: String?, requestHeaders: String?) -> PreflightAnswer {
        guard let origin, let requestMethod else {
            return .refused("not a CORS preflight: Origin and Access-Control-Request-Method are required")
        }
        guard allows(origin: origin) else { return .refused("origin \(origin) is not allowed") }
        guard requestMethod == "POST" else {
            return .refused("method \(requestMethod) is not allowed: gRPC-Web uses POST")
        }
        var names = Self.allowedRequestHeaders
        for requested in (requestHeaders ?? "").split(separator: ",") {
            let name = String(requested).trimmingASCIISpaces().lowercasedASCII()
            guard !name.isEmpty else { continue }
            guard name.utf8.allSatisfy(Self.isTokenByte) else {
                return .refused("requested header '\(name)' is not a valid field name")
            }
            if !names.contains(name) { names.append(name) }
        }
        return .allowed([
            HeaderField("access-control-allow-origin", origin),
            HeaderField("access-control-allow-methods", "POST"),
            HeaderField("access-control-allow-headers", names.joined(separator: ", ")),
            HeaderField("access-control-max-age", String(Self.preflightMaxAge)),
            HeaderField("vary", "origin"),
        ])
    }

    /// The CORS headers of a gRPC-Web response to a request from `origin`: none unless the origin is allowed;
    /// `metadataNames` (the response's custom header names) are exposed beside `exposedHeaders`.
    public func responseHeaders(origin: String?, metadataNames: [String] = []) -> [HeaderField] {
        guard let origin, allows(origin: origin) else { return [] }
        var exposed = Self.exposedHeaders
        for name in metadataNames where !exposed.contains(name) { exposed.append(name) }
        return [
            HeaderField("access-control-allow-origin", origin),
            HeaderField("access-control-expose-headers", exposed.joined(separator: ", ")),
            HeaderField("vary", "origin"),
        ]
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "#"),
            UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: "^"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
