import GRPCProtocol

/// The response heads most calls send, built once: Response-Headers without custom metadata (one per
/// response encoding) and OK trailers without metadata. Calls with metadata build theirs per call.
enum PrebuiltResponseHeaders {
    private static let identity = StaticHeaderBlock(ResponseHeaders.initial(encoding: .identity, metadata: [:]))
    private static let gzip = StaticHeaderBlock(ResponseHeaders.initial(encoding: .gzip, metadata: [:]))
    private static let deflate = StaticHeaderBlock(ResponseHeaders.initial(encoding: .deflate, metadata: [:]))

    /// ":status 200", content-type, grpc-encoding (unless identity), grpc-accept-encoding.
    static func initial(encoding: MessageEncoding) -> StaticHeaderBlock {
        switch encoding {
        case .identity: identity
        case .gzip: gzip
        case .deflate: deflate
        }
    }

    /// "grpc-status: 0" alone.
    static let okTrailers = StaticHeaderBlock(ResponseHeaders.trailers(status: .ok, message: "", metadata: [:]))
}
