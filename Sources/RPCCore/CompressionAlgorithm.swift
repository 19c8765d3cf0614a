/// A message compression a client may ask a transport to use for its requests (the grpc-encoding values of
/// gRPC's compression.md that this project speaks).
public enum CompressionAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// No compression.
    case identity
    /// gzip (RFC 1952).
    case gzip
    /// zlib's deflate format (RFC 1950).
    case deflate
}
