import RPCCore

/// Response header blocks a server sends (PROTOCOL-HTTP2.md, "Responses").
public enum ResponseHeaders {
    /// Response-Headers: :status 200, content-type application/grpc, grpc-encoding (unless identity),
    /// grpc-accept-encoding, then custom metadata.
    public static func initial(encoding: MessageEncoding, metadata: Metadata) -> [HeaderField] {
        var fields = [HeaderField(":status", "200"), HeaderField("content-type", GRPCContentType.value)]
        if encoding != .identity { fields.append(HeaderField("grpc-encoding", encoding.rawValue)) }
        fields.append(HeaderField("grpc-accept-encoding", MessageEncoding.acceptEncodingHeaderValue))
        return fields + MetadataHeaders.headers(for: metadata)
    }

    /// Trailers: grpc-status, grpc-message (percent-encoded, omitted when empty), then custom metadata.
    /// "Status must be sent in Trailers even if the status code is OK."
    public static func trailers(status: RPCError.Code, message: String, metadata: Metadata) -> [HeaderField] {
        var fields = [HeaderField("grpc-status", String(status.rawValue))]
        if !message.isEmpty { fields.append(HeaderField("grpc-message", GRPCStatusMessage.encode(message))) }
        return fields + MetadataHeaders.headers(for: metadata)
    }

    /// Trailers for a failed call.
    public static func trailers(for error: RPCError) -> [HeaderField] {
        trailers(status: error.code, message: error.message, metadata: error.metadata)
    }

    /// Trailers-Only, for a call that ends before any message: :status 200, content-type and
    /// grpc-accept-encoding (compression.md asks for it with UNIMPLEMENTED for an unsupported encoding;
    /// clients ignore it otherwise), then the trailers' fields. Sent as one HEADERS block with END_STREAM.
    public static func trailersOnly(status: RPCError.Code, message: String, metadata: Metadata) -> [HeaderField] {
        [
            HeaderField(":status", "200"), HeaderField("content-type", GRPCContentType.value),
            HeaderField("grpc-accept-encoding", MessageEncoding.acceptEncodingHeaderValue),
        ] + trailers(status: status, message: message, metadata: metadata)
    }

    /// Trailers-Only for a failed call.
    public static func trailersOnly(for error: RPCError) -> [HeaderField] {
        trailersOnly(status: error.code, message: error.message, metadata: error.metadata)
    }

    /// The head of a non-gRPC refusal (405, 415, 400; send with END_STREAM and no body): the HTTP status, and,
    /// as grpc-go does, content-type application/grpc with a grpc-status and grpc-message so a gRPC client
    /// shows the reason rather than a bare HTTP code. The grpc-status is what a client would derive from the
    /// HTTP status anyway (http-grpc-status-mapping.md), INTERNAL for 415 as for a malformed request.
    public static func httpError(status: Int, message: String) -> [HeaderField] {
        let code: RPCError.Code = status == 415 ? .internalError : HTTPStatusMapping.code(forHTTPStatus: status)
        var fields = [
            HeaderField(":status", String(status)), HeaderField("content-type", GRPCContentType.value),
            HeaderField("grpc-status", String(code.rawValue)),
        ]
        if !message.isEmpty { fields.append(HeaderField("grpc-message", GRPCStatusMessage.encode(message))) }
        return fields
    }
}
