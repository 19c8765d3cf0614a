/// The two gRPC-Web wire formats (PROTOCOL-WEB.md): length-prefixed frames as gRPC sends them, or the same
/// bytes base64-encoded for clients that cannot read binary response bodies.
public enum GRPCWebFormat: Hashable, Sendable {
    /// application/grpc-web[+proto]: frames as bytes.
    case binary
    /// application/grpc-web-text[+proto]: frames as padded base64, request and response alike.
    case text

    /// The content-type a response in this format carries (protobuf is the only message format served).
    public var responseContentType: String {
        switch self {
        case .binary: "application/grpc-web+proto"
        case .text: "application/grpc-web-text+proto"
        }
    }
}

/// Recognises gRPC-Web request content-types.
public enum GRPCWebContentType {
    /// The format of `contentType` when it is application/grpc-web, application/grpc-web+proto,
    /// application/grpc-web-text or application/grpc-web-text+proto (parameters after ";" ignored, case-insensitive
    /// as media types are, RFC 9110 §8.3.1); nil for anything else, including message formats other than proto.
    public static func format(of contentType: String) -> GRPCWebFormat? {
        var essence = contentType.lowercasedASCII()
        if let semicolon = essence.firstIndex(of: ";") { essence = String(essence[..<semicolon]) }
        switch essence.trimmingASCIISpaces() {
        case "application/grpc-web", "application/grpc-web+proto": return .binary
        case "application/grpc-web-text", "application/grpc-web-text+proto": return .text
        default: return nil
        }
    }
}
