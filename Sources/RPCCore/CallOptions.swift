/// Per-call settings a client passes with a call.
public struct CallOptions: Sendable {
    /// Metadata sent with the request headers.
    public var metadata: Metadata
    /// How long the call may take from when it starts; past that it fails with DEADLINE_EXCEEDED. Nil: no limit.
    public var timeout: Duration?

    /// Creates options; by default no metadata and no timeout.
    public init(metadata: Metadata = [:], timeout: Duration? = nil) {
        self.metadata = metadata
        self.timeout = timeout
    }
}
