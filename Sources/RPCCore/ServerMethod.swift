/// A server-side method working on encoded messages; built from typed closures by the helpers below.
public struct ServerMethod: Sendable {
    /// Which method this serves.
    public let descriptor: MethodDescriptor
    /// Serves one call: reads encoded requests, writes encoded responses, returns for OK or throws the status.
    public let handle: @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void

    /// Creates a method from a byte-level handler (for hand-written services such as a reflection proxy).
    public init(
        descriptor: MethodDescriptor,
        handle:
            @escaping @Sendable (RequestStream<[UInt8]>, ResponseWriter<[UInt8]>, ServerContext) async throws -> Void
    ) {
        self.descriptor = descriptor
        self.handle = handle
    }
}
