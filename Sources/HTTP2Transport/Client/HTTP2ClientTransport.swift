import GRPCProtocol
import RPCCore
import Synchronization

/// A gRPC client over HTTP/2 (h2c with prior knowledge): one lazily made connection multiplexes every call;
/// a new one is made when it fails or the server sends GOAWAY. Failed attempts are spaced by
/// `ClientConfiguration.backoff`; calls made while waiting fail at once with UNAVAILABLE.
public final class HTTP2ClientTransport: ClientTransport {
    private struct State {
        var connection: LoopBound<ClientConnection>?
        var isClosed = false
        var nextCallID: Int32 = 0
    }

    private let configuration: ClientConfiguration
    private let loop: EventLoop
    private let registry: LoopBound<ClientCallRegistry>
    private let reconnection: LoopBound<ClientReconnection>
    private let wakeups: StreamWakeups
    private let state = Mutex(State())
    private let authority: String
    private let tlsContext: TLSContext?

    /// A transport for `configuration`; nothing connects until the first call. Throws `TLSError` when the TLS
    /// configuration cannot be loaded.
    public init(configuration: ClientConfiguration) throws {
        self.configuration = configuration
        self.tlsContext = try configuration.tls.map { configuration throws(TLSError) in try TLSContext(client: configuration) }
        // Every connection of this transport lives on one loop, with the registry of its open calls.
        let loop = try ClientLoops.shared().next()
        let registry = LoopBound(ClientCallRegistry(), loop: loop)
        self.loop = loop
        self.registry = registry
        self.reconnection = LoopBound(
            ClientReconnection(backoff: configuration.backoff, keepalive: configuration.keepalive), loop: loop)
        self.wakeups = StreamWakeups(loop: loop) { ids in registry.value.serveWakeups(ids) }
        self.authority = configuration.authority ?? "\(configuration.host):\(configuration.port)"
    }

    /// Starts a call: see `ClientTransport.call`.
    public func call(
        _ method: MethodDescriptor, requests: RequestStream<[UInt8]>, options: CallOptions
    ) async throws -> ResponseStream<[UInt8]> {
        try options.metadata.validate()
        let callID = try state.withLock { state throws(RPCError) -> Int32 in
            guard !state.isClosed else {
                throw RPCError(.unavailable, "the client transport is closed").markedUnprocessed()
            }
            state.nextCallID = state.nextCallID == Int32.max ? 1 : state.nextCallID + 1
            return state.nextCallID
        }
        let (loop, registry, wakeups) = (self.loop, self.registry, self.wakeups)
        let inbound = InboundMessages(lowWater: min(configuration.initialStreamWindowSize, 1 << 20)) {
            wakeups.wake(callID)
        }
        let encoding = Self.messageEncoding(for: options.compression)
        let outbound = OutboundMessages(
            highWater: configuration.outboundBytesPerStream, encoding: encoding, compress: encoding != .identity
        ) { wakeups.wake(callID) }
        let headers = ClientHeaders.request(
            path: method.path, authority: authority, scheme: tlsContext == nil ? "http" : "https", timeout: options.timeout, encoding: encoding,
            metadata: options.metadata, userAgent: configuration.userAgent)
        let cancel: @Sendable (RPCError) -> Void = { status in
            loop.execute {
                guard let stream = registry.value.calls[callID] else { return }
                stream.owner?.cancel(callID: callID, status: status)
            }
        }
        let responseMetadata = ResponseMetadata()
        let stream = ClientStream(
            callID: callID, path: method.path, headers: headers, inbound: inbound, outbound: outbound,
            responseMetadata: responseMetadata)
        let compressesMessage = encoding == .identity ? nil : options.compressesRequestMessage
        // The pump runs on the connection's loop: the request reaches nghttp2 without a thread switch, and a busy
        // cooperative pool cannot hold a call's request back past its deadline.
        stream.requestPump = Task(executorPreference: loop) {
            do {
                var index = 0
                for try await message in requests {
                    // The pump writes one message at a time, so the switch applies to exactly this message.
                    if let compressesMessage { outbound.setCompression(compressesMessage(index)) }
                    index += 1
                    try await outbound.write(message)
                }
                outbound.finish(.finished)
            } catch where Task.isCancelled {
                return
            } catch is RPCError {
                return  // the call ended and closed the writer
            } catch {
                cancel(RPCError(.cancelled, "the request stream failed: \(error)"))
            }
        }
        let boundStream = LoopBound(stream, loop: loop)
        let timeout = options.timeout
        loop.execute { [self] in
            connectionForNewCall().start(boundStream.value, timeout: timeout)
        }
        let lifetime = CallLifetime { cancel(RPCError(.cancelled, "the call was cancelled")) }
        let sequence = InboundMessageSequence(
            messages: inbound,
            mapError: { error in
                guard error is CancellationError else { return error }
                cancel(RPCError(.cancelled, "the call was cancelled"))
                return RPCError(.cancelled, "the call was cancelled")
            },
            lifetime: lifetime)
        return ResponseStream(sequence, metadata: responseMetadata)
    }

    /// The grpc-encoding for a call's `CallOptions.compression`.
    private static func messageEncoding(for compression: CompressionAlgorithm?) -> MessageEncoding {
        switch compression {
        case nil, .identity?: .identity
        case .gzip?: .gzip
        case .deflate?: .deflate
        }
    }

    /// The connection new calls go to, made (on the loop) when there is none or it can take no more calls. While
    /// the backoff after a failed attempt lasts, that failed connection is returned: it fails calls at once.
    private func connectionForNewCall() -> ClientConnection {
        loop.assertInLoop()
        let backingOff = reconnection.value.backoffError() != nil
        return state.withLock { state in
            if let current = state.connection {
                if current.value.isUsable { return current.value }
                if current.value.isClosed && backingOff { return current.value }
            }
            let connection = ClientConnection(
                configuration: configuration, loop: loop, registry: registry.value, reconnection: reconnection.value,
                tlsContext: tlsContext)
            state.connection = LoopBound(connection, loop: loop)
            return connection
        }
    }

    /// Connects when there is no usable connection and waits until the server has answered the connection preface,
    /// so that a call started next goes out at once. Throws UNAVAILABLE with the connect error (or the backoff's,
    /// while it lasts) when connecting fails, or once `timeout` has passed; CANCELLED when the task is cancelled.
    /// A failover transport asks this before it hands a call over: a call whose endpoint cannot be reached then
    /// never touched its requests, so it may go to another endpoint.
    func waitUntilConnected(within timeout: Duration) async throws(RPCError) {
        if state.withLock({ $0.isClosed }) { throw RPCError(.unavailable, "the client transport is closed") }
        let wait = ReadinessWait()
        let loop = self.loop
        let outcome: RPCError? = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<RPCError?, Never>) in
                loop.execute { [self] in
                    guard !wait.isCancelled else {
                        continuation.resume(returning: ReadinessWait.cancelled)
                        return
                    }
                    let connection = connectionForNewCall()
                    let id = connection.whenReady(within: timeout) { continuation.resume(returning: $0) }
                    if let id { wait.waiting(on: LoopBound(connection, loop: loop), id: id) }
                }
            }
        } onCancel: {
            loop.execute {
                wait.cancel()?.abandon()
            }
        }
        if let outcome { throw outcome }
    }

    /// What the transport's connections have done so far, read on the loop (for tests).
    func connectionStatistics() async -> ClientConnectionStatistics {
        await withCheckedContinuation { (continuation: CheckedContinuation<ClientConnectionStatistics, Never>) in
            loop.execute { [self] in
                let connection = state.withLock { $0.connection }
                continuation.resume(
                    returning: ClientConnectionStatistics(
                        connectAttempts: reconnection.value.attempts,
                        keepaliveTime: reconnection.value.keepalive?.time,
                        isConnected: connection.map { !$0.value.isClosed && $0.value.isUsable } ?? false,
                        keepaliveAcks: connection?.value.keepaliveAcks ?? 0,
                        connectionKeepaliveTime: connection?.value.keepaliveTime,
                        recentAttempts: reconnection.value.recentAttempts))
            }
        }
    }

    /// Closes the connection (GOAWAY), failing calls still open with UNAVAILABLE; later calls fail at once.
    public func close() async {
        let connection = state.withLock { state in
            state.isClosed = true
            defer { state.connection = nil }
            return state.connection
        }
        guard let connection else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            connection.loop.execute {
                connection.value.shutdown()
                continuation.resume()
            }
        }
    }
}

/// One `waitUntilConnected` as the loop knows it: the connection and id it waits on, or that its task was cancelled
/// before it started waiting. Touched only on the transport's loop; the lock is there for Sendable.
private final class ReadinessWait: Sendable {
    private struct State {
        var isCancelled = false
        var waiting: (connection: LoopBound<ClientConnection>, id: Int)?
    }
    private let state = Mutex(State())

    static var cancelled: RPCError { RPCError(.cancelled, "cancelled while waiting for the connection") }

    var isCancelled: Bool { state.withLock { $0.isCancelled } }

    func waiting(on connection: LoopBound<ClientConnection>, id: Int) {
        state.withLock { $0.waiting = (connection, id) }
    }

    /// Marks the wait cancelled; returns how to end it when it is waiting already.
    func cancel() -> Abandon? {
        state.withLock { state in
            state.isCancelled = true
            return state.waiting.map { Abandon(connection: $0.connection, id: $0.id) }
        }
    }

    /// Ends a wait its task gave up on.
    struct Abandon {
        let connection: LoopBound<ClientConnection>
        let id: Int
        func abandon() { connection.value.abandonReadinessWait(id, error: ReadinessWait.cancelled) }
    }
}

/// Runs its action when the last reference to a call's response stream goes away.
final class CallLifetime: Sendable {
    private let action: @Sendable () -> Void
    init(_ action: @escaping @Sendable () -> Void) { self.action = action }
    deinit { action() }
}

/// The loops client connections run on, shared by every client transport in the process.
enum ClientLoops {
    private static let group = Mutex<EventLoopGroup?>(nil)

    /// The shared group, started on first use with one loop per processor.
    static func shared() throws(SocketError) -> EventLoopGroup {
        try group.withLock { group throws(SocketError) in
            if let group { return group }
            let created = try EventLoopGroup(count: EventLoopGroup.activeProcessorCount)
            group = created
            return created
        }
    }
}

/// A snapshot of a client transport's connection history, for tests.
struct ClientConnectionStatistics: Sendable {
    /// Connection attempts started.
    var connectAttempts: Int
    /// The keepalive time the next connection will use.
    var keepaliveTime: Duration?
    /// Whether the current connection is open and taking calls.
    var isConnected: Bool
    /// Keepalive PINGs the current connection's server acknowledged.
    var keepaliveAcks: Int
    /// The keepalive time the current connection pings after.
    var connectionKeepaliveTime: Duration?
    /// The latest connection attempts, oldest first.
    var recentAttempts: [ConnectionAttemptRecord]
}
