import RPCCore

/// A parsed, validated request head (server side).
public struct RequestHead: Hashable, Sendable {
    /// The :path, "/package.Service/Method" for a well-formed call (case-sensitive).
    public var path: String
    /// The :authority, or the host field when an HTTP/1-style client sent that instead.
    public var authority: String?
    /// The grpc-timeout; nil means no deadline ("a server should assume an infinite timeout").
    public var timeout: Duration?
    /// The grpc-encoding of the client's compressed messages (identity when absent).
    public var encoding: MessageEncoding
    /// The encodings the client can decompress, in its order: its grpc-accept-encoding minus names we do not
    /// know, or [identity] when it sent none.
    public var acceptEncodings: [MessageEncoding]
    /// The custom metadata (includes user-agent, as grpc-go exposes it).
    public var metadata: Metadata
    /// The user-agent, if sent.
    public var userAgent: String?
    /// The gRPC-Web format when the content-type is gRPC-Web (PROTOCOL-WEB.md); nil for gRPC over HTTP/2.
    public var webFormat: GRPCWebFormat?

    /// Creates a head from its parts.
    public init(
        path: String, authority: String? = nil, timeout: Duration? = nil, encoding: MessageEncoding = .identity,
        acceptEncodings: [MessageEncoding] = [.identity], metadata: Metadata = [:], userAgent: String? = nil,
        webFormat: GRPCWebFormat? = nil
    ) {
        self.path = path
        self.authority = authority
        self.timeout = timeout
        self.encoding = encoding
        self.acceptEncodings = acceptEncodings
        self.metadata = metadata
        self.userAgent = userAgent
        self.webFormat = webFormat
    }

    /// Validates :method POST, :scheme, :path, content-type application/grpc[+proto][;params] or a gRPC-Web one
    /// (`GRPCWebContentType`; else .unsupportedMediaType -> HTTP 415), grpc-encoding known (else grpc status UNIMPLEMENTED with
    /// grpc-accept-encoding listing ours), grpc-timeout syntax (malformed -> INTERNAL, as grpc-core and grpc-go
    /// do), te.
    ///
    /// Checks run in this order, so a browser's GET gets 405 rather than 415: :method (405), :path and
    /// :scheme (400), content-type (415), te (400), grpc-encoding (UNIMPLEMENTED), grpc-timeout (INTERNAL).
    /// A missing te is accepted, as grpc-go does (grpc-core refuses it); a te other than "trailers" is
    /// malformed HTTP/2 (RFC 9113 §8.2.2). Duplicate pseudo-headers are nghttp2's to refuse.
    public static func parse(_ headers: [HeaderField]) -> Result<RequestHead, RequestRejection> {
        var method: String?
        var scheme: String?
        var path: String?
        var authority: String?
        var host: String?
        var contentType: String?
        var te: String?
        var encodingValue: String?
        var acceptEncodingValues: [String] = []
        var timeoutValue: String?
        var userAgent: String?
        for field in headers {
            switch field.name {
            case ":method": method = field.value
            case ":scheme": scheme = field.value
            case ":path": path = field.value
            case ":authority": authority = field.value
            case "host": host = field.value
            case "content-type": contentType = field.value
            case "te": te = field.value
            case "grpc-encoding": encodingValue = field.value
            case "grpc-accept-encoding": acceptEncodingValues.append(field.value)
            case "grpc-timeout": timeoutValue = field.value
            case "user-agent": userAgent = field.value
            default: break
            }
        }

        guard let method else { return .failure(.httpStatus(400, "missing :method")) }
        guard method == "POST" else {
            return .failure(.httpStatus(405, "method \(method) is not allowed: gRPC requests use POST"))
        }
        guard let path, !path.isEmpty else { return .failure(.httpStatus(400, "missing :path")) }
        guard let scheme, !scheme.isEmpty else { return .failure(.httpStatus(400, "missing :scheme")) }
        guard let contentType else {
            return .failure(.httpStatus(415, "missing content-type: gRPC requests use application/grpc"))
        }
        // gRPC-Web is recognised only once the content-type is not gRPC, so gRPC calls pay nothing for it.
        var webFormat: GRPCWebFormat?
        if !GRPCContentType.isGRPC(contentType) {
            guard let format = GRPCWebContentType.format(of: contentType) else {
                return .failure(
                    .httpStatus(
                        415,
                        "content-type '\(contentType)' is not gRPC: expected application/grpc[+proto] or application/grpc-web[-text][+proto]"
                    ))
            }
            webFormat = format
        }
        if let te, te.trimmingASCIISpaces().lowercasedASCII() != "trailers" {
            return .failure(.httpStatus(400, "te '\(te)' is not allowed: HTTP/2 permits only \"trailers\""))
        }

        var encoding = MessageEncoding.identity
        if let encodingValue {
            guard let known = MessageEncoding(headerValue: encodingValue) else {
                // compression.md: an unsupported algorithm "WILL result in an UNIMPLEMENTED error status".
                return .failure(
                    .grpcStatus(
                        RPCError(
                            .unimplemented,
                            "grpc-encoding '\(encodingValue)' is not supported (supported: \(MessageEncoding.acceptEncodingHeaderValue))"
                        )))
            }
            encoding = known
        }

        var timeout: Duration?
        if let timeoutValue {
            guard let parsed = GRPCTimeout.parse(timeoutValue) else {
                // grpc-core fails the stream with INTERNAL "Error parsing 'grpc-timeout' metadata"; grpc-go with
                // codes.Internal "malformed grpc-timeout".
                return .failure(.grpcStatus(RPCError(.internalError, "malformed grpc-timeout '\(timeoutValue)'")))
            }
            timeout = parsed
        }

        let acceptEncodings =
            acceptEncodingValues.isEmpty
            ? [.identity] : MessageEncoding.parseAcceptEncoding(acceptEncodingValues.joined(separator: ","))

        return .success(
            RequestHead(
                path: path, authority: authority ?? host, timeout: timeout, encoding: encoding,
                acceptEncodings: acceptEncodings, metadata: MetadataHeaders.metadata(from: headers),
                userAgent: userAgent, webFormat: webFormat))
    }
}
