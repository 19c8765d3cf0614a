/// Per-call settings a client passes with a call.
public struct CallOptions: Sendable {
    /// Metadata sent with the request headers.
    public var metadata: Metadata
    /// How long the call may take from when it starts; past that it fails with DEADLINE_EXCEEDED. Nil: no limit.
    public var timeout: Duration?
    /// How request messages are compressed (sent as grpc-encoding); nil or `.identity`: not at all.
    /// Transports without message framing (in-process) ignore it.
    public var compression: CompressionAlgorithm?
    /// Which request messages, by position from 0, are compressed when `compression` is set; nil: every one.
    /// gRPC allows a call to leave single messages uncompressed (the interop case client_compressed_streaming
    /// sends its first message compressed and its second not).
    public var compressesRequestMessage: (@Sendable (_ index: Int) -> Bool)?

    /// Creates options; by default no metadata, no timeout and no compression.
    public init(
        metadata: Metadata = [:], timeout: Duration? = nil, compression: CompressionAlgorithm? = nil,
        compressesRequestMessage: (@Sendable (_ index: Int) -> Bool)? = nil
    ) {
        self.metadata = metadata
        self.timeout = timeout
        self.compression = compression
        self.compressesRequestMessage = compressesRequestMessage
    }
}
