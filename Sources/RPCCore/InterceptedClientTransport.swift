/// A client transport that passes every call through a chain of `ClientInterceptor`s, the first outermost,
/// before `base` carries it, so generated clients get interceptors unchanged:
/// `LedgerClient(transport: InterceptedClientTransport(wrapping: http2, interceptors: [auth, logging]))`.
public struct InterceptedClientTransport<Base: ClientTransport>: ClientTransport {
    /// The transport that carries the calls once the interceptors have run.
    public let base: Base
    /// The interceptors, in the order they see a call start.
    public let interceptors: [any ClientInterceptor]

    /// Starts a call: the first interceptor, or the transport when there are none.
    private typealias Start =
        @Sendable (MethodDescriptor, RequestStream<[UInt8]>, CallOptions) async throws -> ResponseStream<[UInt8]>

    private let start: Start

    /// Wraps `base` so that each call runs through `interceptors` first.
    public init(wrapping base: Base, interceptors: [any ClientInterceptor]) {
        self.base = base
        self.interceptors = interceptors
        // Composed once here, innermost (the transport) first, so a call allocates no chain.
        var start: Start = { method, requests, options in
            try await base.call(method, requests: requests, options: options)
        }
        for interceptor in interceptors.reversed() {
            let next = start
            start = { method, requests, options in
                try await interceptor.intercept(method, requests: requests, options: options) { requests, options in
                    try await next(method, requests, options)
                }
            }
        }
        self.start = start
    }

    /// Starts a call through the interceptors: see `ClientTransport.call`.
    public func call(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions
    ) async throws -> ResponseStream<[UInt8]> {
        try await start(method, requests, options)
    }
}
