import RPCCore

/// Client side: request head fields, and parsing the response head and trailers into a status (using
/// http-grpc-status-mapping.md when grpc-status is missing: 400 INTERNAL, 401 UNAUTHENTICATED,
/// 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, other UNKNOWN).
public enum ClientHeaders {
    /// This implementation's version, as it appears in the user-agent.
    public static let version = "0.1.0"

    /// The user-agent we send, in the structure PROTOCOL-HTTP2.md recommends ("grpc-java/1.2.3").
    public static let defaultUserAgent = "healthledger-swift/\(version)"

    /// Request-Headers in the spec's order: pseudo-headers, then grpc-timeout "immediately after the reserved
    /// headers", the rest of the Call-Definition, and custom metadata last. grpc-encoding is sent only when
    /// not identity; grpc-accept-encoding always lists everything we can decompress.
    public static func request(
        path: String, authority: String, scheme: String, timeout: Duration?, encoding: MessageEncoding,
        metadata: Metadata, userAgent: String
    ) -> [HeaderField] {
        var fields = [
            HeaderField(":method", "POST"), HeaderField(":scheme", scheme), HeaderField(":path", path),
            HeaderField(":authority", authority),
        ]
        if let timeout { fields.append(HeaderField("grpc-timeout", GRPCTimeout.format(timeout))) }
        fields.append(HeaderField("content-type", GRPCContentType.value))
        // te: trailers "is used to detect incompatible proxies"; grpc-core servers refuse requests without it.
        fields.append(HeaderField("te", "trailers"))
        if encoding != .identity { fields.append(HeaderField("grpc-encoding", encoding.rawValue)) }
        fields.append(HeaderField("grpc-accept-encoding", MessageEncoding.acceptEncodingHeaderValue))
        fields.append(HeaderField("user-agent", userAgent))
        return fields + MetadataHeaders.headers(for: metadata)
    }

    /// Whether a response's first header block is Trailers-Only (it carries grpc-status): the call is over.
    public static func isTrailersOnly(_ head: [HeaderField]) -> Bool {
        head.contains { $0.name == "grpc-status" }
    }

    /// Validates a response head that messages will follow (check `isTrailersOnly` first): :status 200,
    /// a gRPC content-type and a grpc-encoding we can decompress. A failure is the call's final status.
    public static func parseResponseHead(_ head: [HeaderField]) -> Result<ClientResponseHead, RPCError> {
        let httpStatus = head.firstValue(named: ":status").flatMap { Int($0) }
        guard httpStatus == 200 else {
            let shown = head.firstValue(named: ":status") ?? "(none)"
            return .failure(
                RPCError(
                    HTTPStatusMapping.code(forHTTPStatus: httpStatus ?? 0),
                    "unexpected HTTP status \(shown) from server", metadata: MetadataHeaders.metadata(from: head)))
        }
        let contentType = head.firstValue(named: "content-type")
        guard let contentType, GRPCContentType.isGRPC(contentType) else {
            return .failure(RPCError(.unknown, "unexpected content-type '\(contentType ?? "(none)")' from server"))
        }
        var encoding = MessageEncoding.identity
        if let value = head.firstValue(named: "grpc-encoding") {
            // compression.md: data compressed with an algorithm the client does not support is INTERNAL.
            guard let known = MessageEncoding(headerValue: value) else {
                return .failure(
                    RPCError(
                        .internalError,
                        "grpc-encoding '\(value)' from server is not supported (supported: \(MessageEncoding.acceptEncodingHeaderValue))"
                    ))
            }
            encoding = known
        }
        return .success(ClientResponseHead(encoding: encoding, metadata: MetadataHeaders.metadata(from: head)))
    }

    /// The call's status from its trailers, or from the response head for Trailers-Only (pass that block as
    /// `fromTrailers`, or as `responseHead` with empty trailers); nil when grpc-status is 0 (OK).
    public static func status(fromTrailers trailers: [HeaderField], responseHead: [HeaderField]?) -> RPCError? {
        let outcome = finalStatus(fromTrailers: trailers, responseHead: responseHead)
        return outcome.code == .ok ? nil : outcome
    }

    /// Like `status`, but always returns the outcome, code OK included, so trailing metadata of a successful
    /// call is not lost.
    ///
    /// grpc-status is read from the trailers, else from the response head (Trailers-Only); a value that is not
    /// 0-16 becomes UNKNOWN. Without any grpc-status the code comes from the HTTP :status by
    /// http-grpc-status-mapping.md (200 -> UNKNOWN). The metadata is the custom metadata of the block that
    /// carried the status (the trailers, or the Trailers-Only head).
    public static func finalStatus(fromTrailers trailers: [HeaderField], responseHead: [HeaderField]?) -> RPCError {
        let statusBlock: [HeaderField]?
        if trailers.contains(where: { $0.name == "grpc-status" }) {
            statusBlock = trailers
        } else if let responseHead, responseHead.contains(where: { $0.name == "grpc-status" }) {
            statusBlock = responseHead
        } else {
            statusBlock = nil
        }
        guard let statusBlock, let statusValue = statusBlock.firstValue(named: "grpc-status") else {
            let shown = trailers.firstValue(named: ":status") ?? responseHead?.firstValue(named: ":status")
            let httpStatus = shown.flatMap { Int($0) } ?? 200
            let message =
                httpStatus == 200
                ? "server closed the stream without grpc-status"
                : "server sent HTTP status \(httpStatus) without grpc-status"
            return RPCError(
                HTTPStatusMapping.code(forHTTPStatus: httpStatus), message,
                metadata: MetadataHeaders.metadata(from: trailers))
        }
        let message = statusBlock.firstValue(named: "grpc-message").map(GRPCStatusMessage.decode) ?? ""
        let metadata = MetadataHeaders.metadata(from: statusBlock)
        // Status -> "grpc-status" 1*DIGIT, "without any leading zeros"; anything else is not a code we know.
        guard let number = Int(statusValue), statusValue.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let code = RPCError.Code(rawValue: number)
        else {
            return RPCError(
                .unknown, message.isEmpty ? "server sent invalid grpc-status '\(statusValue)'" : message,
                metadata: metadata)
        }
        return RPCError(code, message, metadata: metadata)
    }
}

/// A validated response head that messages follow (client side).
public struct ClientResponseHead: Hashable, Sendable {
    /// The grpc-encoding of the server's compressed messages.
    public var encoding: MessageEncoding
    /// The server's initial metadata.
    public var metadata: Metadata

    /// Creates a head from its parts.
    public init(encoding: MessageEncoding, metadata: Metadata) {
        self.encoding = encoding
        self.metadata = metadata
    }
}
