/// The gRPC content-type and how to recognise one (PROTOCOL-HTTP2.md, "Content-Type").
public enum GRPCContentType {
    /// The content-type we send.
    public static let value = "application/grpc"

    /// Whether `contentType` is "application/grpc", "application/grpc+<subtype>" or "application/grpc;<params>".
    /// Media types are case-insensitive (RFC 9110 §8.3.1). "application/grpc-web" is not gRPC over HTTP/2.
    public static func isGRPC(_ contentType: String) -> Bool {
        let lowered = contentType.lowercasedASCII()
        guard lowered.hasPrefix(value) else { return false }
        let rest = lowered.utf8.dropFirst(value.utf8.count)
        guard let next = rest.first else { return true }
        return next == UInt8(ascii: "+") || next == UInt8(ascii: ";")
    }
}
