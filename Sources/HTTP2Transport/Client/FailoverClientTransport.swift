import RPCCore
import Synchronization

/// A gRPC client over several endpoints that serve the same API (the nodes of one cluster): calls go to the endpoint
/// in use until it fails, then to the next that answers.
///
/// Each endpoint has its own `HTTP2ClientTransport`, all with the same settings (TLS included). Before a call is
/// handed to an endpoint the transport waits for its connection to be ready, so an endpoint that cannot be reached
/// (connection refused, connect timeout, TLS failure, the connection lost or going away) is marked down and the call
/// goes on to the next endpoint at once, whatever kind of RPC it is: its requests have not left the client. A call
/// that was handed over and then fails with UNAVAILABLE (the connection lost mid-call, or the server's own answer)
/// may have reached the server, so it is not sent again here: the caller sees UNAVAILABLE, the endpoint is marked
/// down, and the next call goes elsewhere (a caller that resends must make that safe, as the ledger's replay guard
/// does for a transaction resent with the same bytes). When no endpoint can be reached the call fails with
/// UNAVAILABLE naming each one tried.
///
/// With a single endpoint, calls go straight to its transport, which behaves exactly as on its own.
public final class FailoverClientTransport: ClientTransport {
    /// The endpoints, in the order they are tried first.
    public let endpoints: [ClientEndpoint]
    private let transports: [HTTP2ClientTransport]
    private let rotation: Mutex<EndpointRotation>
    /// How long a call waits for an endpoint's connection before moving on to the next.
    private let connectTimeout: Duration

    /// A transport over `endpoints` (at least one), each reached with `configuration` but for its host and port
    /// (and :authority, unless `configuration` sets one); an endpoint that failed is passed over for
    /// `endpointDowntime` while others work. Nothing connects until the first call. Throws `TLSError` when the
    /// TLS configuration cannot be loaded.
    public init(
        endpoints: [ClientEndpoint], configuration: ClientConfiguration, endpointDowntime: Duration = .seconds(2)
    ) throws {
        precondition(!endpoints.isEmpty, "a failover transport needs at least one endpoint")
        self.endpoints = endpoints
        self.transports = try endpoints.map { endpoint in
            var endpointConfiguration = configuration
            endpointConfiguration.host = endpoint.host
            endpointConfiguration.port = endpoint.port
            return try HTTP2ClientTransport(configuration: endpointConfiguration)
        }
        self.rotation = Mutex(EndpointRotation(count: endpoints.count, downtime: endpointDowntime))
        self.connectTimeout = configuration.connectTimeout
    }

    /// The endpoint calls go to now (the first until one fails).
    public var currentEndpoint: ClientEndpoint {
        endpoints[rotation.withLock { $0.current }]
    }

    /// Starts a call on the first endpoint that can be reached: see the type's description and
    /// `ClientTransport.call`. The time spent finding it counts against `options.timeout`.
    public func call(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions
    ) async throws -> ResponseStream<[UInt8]> {
        guard transports.count > 1 else {
            return try await transports[0].call(method, requests: requests, options: options)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let order = rotation.withLock { $0.attemptOrder(now: MonotonicTime.now) }
        var failures: [RPCError] = []
        for index in order {
            let remaining = options.timeout.map { $0 - (clock.now - started) }
            if let remaining, remaining <= .zero {
                throw RPCError(
                    .deadlineExceeded,
                    "deadline exceeded after \(options.timeout!) before an endpoint could be reached: "
                        + Self.describe(failures))
            }
            do {
                try await transports[index].waitUntilConnected(within: min(remaining ?? connectTimeout, connectTimeout))
            } catch where error.code == .cancelled {
                throw error
            } catch {
                rotation.withLock { $0.failed(index, now: MonotonicTime.now) }
                failures.append(error)
                continue
            }
            rotation.withLock { $0.reached(index) }
            var callOptions = options
            callOptions.timeout = remaining
            let responses = try await transports[index].call(method, requests: requests, options: callOptions)
            let observed = UnavailabilityObservingMessages(base: responses) { [self] in
                rotation.withLock { $0.failed(index, now: MonotonicTime.now) }
            }
            return ResponseStream(observed, metadata: responses.metadata)
        }
        throw RPCError(
            .unavailable, "none of the \(order.count) endpoints could be reached: " + Self.describe(failures))
    }

    /// The endpoints' errors in the order tried; each names its endpoint.
    private static func describe(_ failures: [RPCError]) -> String {
        failures.isEmpty ? "none was tried" : failures.map(\.message).joined(separator: "; ")
    }

    /// Closes every endpoint's transport: calls still open fail with UNAVAILABLE; later calls fail at once.
    public func close() async {
        for transport in transports { await transport.close() }
    }

    /// The transport of endpoint `index` (for tests).
    func transport(at index: Int) -> HTTP2ClientTransport { transports[index] }
}

/// A call's responses, passed through; when they end with UNAVAILABLE, `onUnavailable` runs first (the endpoint went
/// away or cannot serve, so later calls should go elsewhere).
private struct UnavailabilityObservingMessages: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let base: ResponseStream<[UInt8]>
    let onUnavailable: @Sendable () -> Void

    func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), onUnavailable: onUnavailable)
    }

    struct Iterator: AsyncIteratorProtocol {
        var base: ResponseStream<[UInt8]>.AsyncIterator
        let onUnavailable: @Sendable () -> Void

        mutating func next() async throws -> [UInt8]? {
            do {
                return try await base.next()
            } catch let error as RPCError where error.code == .unavailable {
                onUnavailable()
                throw error
            }
        }
    }
}
