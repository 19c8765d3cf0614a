/// grpc-encoding values this implementation speaks (PROTOCOL-HTTP2.md "Content-Coding"; compression.md).
public enum MessageEncoding: String, Sendable, CaseIterable {
    /// No compression.
    case identity
    /// RFC 1952 gzip.
    case gzip
    /// RFC 1950 zlib format, as HTTP's "deflate" content coding means it (RFC 9110 §8.4.1.2).
    case deflate

    /// The grpc-accept-encoding value we send: every encoding we can decompress.
    public static let acceptEncodingHeaderValue = "identity,deflate,gzip"

    /// The encoding a grpc-encoding header value names, or nil when we do not speak it; codings are
    /// case-insensitive (RFC 9110 §8.4.1).
    public init?(headerValue: String) {
        let trimmed = headerValue.trimmingASCIISpaces()
        self.init(rawValue: trimmed.lowercasedASCII())
    }

    /// The known encodings a grpc-accept-encoding value lists, in its order; unknown names are skipped.
    public static func parseAcceptEncoding(_ value: String) -> [MessageEncoding] {
        var encodings: [MessageEncoding] = []
        for part in value.split(separator: ",") {
            if let encoding = MessageEncoding(headerValue: String(part)), !encodings.contains(encoding) {
                encodings.append(encoding)
            }
        }
        return encodings
    }
}

extension String {
    /// The string with A-Z lowered and every other character left alone.
    func lowercasedASCII() -> String {
        guard utf8.contains(where: { (0x41...0x5A).contains($0) }) else { return self }
        return String(decoding: utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// The string without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110 §5.6.3).
    func trimmingASCIISpaces() -> String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        if start == 0 && end == bytes.count { return self }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
