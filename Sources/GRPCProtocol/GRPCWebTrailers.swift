import RPCCore

/// gRPC-Web's trailers, which travel in the body (PROTOCOL-WEB.md): the last frame, flag byte 0x80, a 4-byte
/// big-endian length, then the fields as HTTP/1 header lines ("grpc-status:0\r\n"), names lower-case.
public enum GRPCWebTrailers {
    /// The flag byte that marks a trailer frame (its most significant bit).
    public static let frameFlag: UInt8 = 0x80

    /// The trailer frame for a call ending with `status`, `message` (percent-encoded, left out when empty) and
    /// `metadata` ("-bin" values base64), the same fields gRPC sends as HTTP/2 trailers.
    public static func frame(status: RPCError.Code, message: String, metadata: Metadata) -> [UInt8] {
        frame(fields: ResponseHeaders.trailers(status: status, message: message, metadata: metadata))
    }

    /// The trailer frame holding `fields`.
    public static func frame(fields: [HeaderField]) -> [UInt8] {
        var block: [UInt8] = []
        for field in fields {
            block.append(contentsOf: field.name.lowercasedASCII().utf8)
            block.append(UInt8(ascii: ":"))
            block.append(contentsOf: field.value.utf8)
            block.append(contentsOf: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
        }
        var frame: [UInt8] = [frameFlag]
        frame.reserveCapacity(5 + block.count)
        let length = UInt32(block.count)
        frame.append(contentsOf: [
            UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
        ])
        frame.append(contentsOf: block)
        return frame
    }

    /// The fields of a trailer frame's payload (after the 5-byte prefix): one "name:value" per CRLF-ended line,
    /// names lower-cased, spaces around the value trimmed; nil when a line has no ":".
    public static func parse(_ payload: [UInt8]) -> [HeaderField]? {
        var fields: [HeaderField] = []
        let text = String(decoding: payload, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = String(line[..<colon]).trimmingASCIISpaces().lowercasedASCII()
            let value = String(line[line.index(after: colon)...]).trimmingASCIISpaces()
            fields.append(HeaderField(name, value))
        }
        return fields
    }
}

/// The response head of a gRPC-Web call: as gRPC's, with the gRPC-Web content-type of the request's format.
public enum GRPCWebResponseHeaders {
    /// :status 200, content-type application/grpc-web[-text]+proto, grpc-encoding (unless identity),
    /// grpc-accept-encoding, then custom metadata. The status itself travels in the body's trailer frame.
    public static func initial(format: GRPCWebFormat, encoding: MessageEncoding, metadata: Metadata) -> [HeaderField] {
        var fields = [HeaderField(":status", "200"), HeaderField("content-type", format.responseContentType)]
        if encoding != .identity { fields.append(HeaderField("grpc-encoding", encoding.rawValue)) }
        fields.append(HeaderField("grpc-accept-encoding", MessageEncoding.acceptEncodingHeaderValue))
        return fields + MetadataHeaders.headers(for: metadata)
    }
}
