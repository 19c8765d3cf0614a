/// Connects generated clients to service implementations in one process, through the same encoded bytes.
///
/// Every call is routed by path through a `ServiceRouter`, its messages are encoded and decoded exactly as
/// over the network, request metadata is validated as a network transport would, and `CallOptions.timeout`
/// is enforced. So a test written against this transport means the same against the HTTP/2 one.
public struct InProcessTransport: ClientTransport {
    /// How many encoded messages may wait in each direction before the writer is made to wait.
    static let messagesInFlight = 16

    private let router: ServiceRouter

    /// Serves `services`, each call passing through `interceptors` (see `ServerInterceptor`), to the clients
    /// using this transport.
    public init(services: [ServiceDefinition], interceptors: [any ServerInterceptor] = []) {
        self.router = ServiceRouter(services: services, interceptors: interceptors)
    }

    /// Starts the handler for `method` in its own task and returns its responses as they are written.
    public func call(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions
    ) async throws -> ResponseStream<[UInt8]> {
        try options.metadata.validate()
        let serverMethod: ServerMethod
        do {
            serverMethod = try router.method(forPath: method.path)
        } catch {
            return ResponseStream(failing: error)
        }
        let call = InProcessCall(
            method: serverMethod,
            context: ServerContext(
                method: serverMethod.descriptor, metadata: options.metadata, peer: "in-process",
                deadline: options.timeout.map { ContinuousClock.now.advanced(by: $0) }),
            timeout: options.timeout,
            capacity: Self.messagesInFlight)
        let responses = ResponseStream<[UInt8]>(receiving: call.responses, metadata: call.responseMetadata)
        let task = Task { await call.run(sending: requests) }
        call.responses.setOnTermination { task.cancel() }
        return responses
    }
}
