import Glibc
import RPCCore
import Synchronization

/// A gRPC server over HTTP/2 (h2c with prior knowledge) serving `ServiceDefinition`s on epoll event loops.
public final class GRPCServer: Sendable {
    private enum Phase {
        case idle
        case starting
        case running(group: EventLoopGroup, registries: [LoopBound<LoopConnections>], port: Int)
        case stopping
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let configuration: ServerConfiguration
    private let router: ServiceRouter
    private let state = Mutex(State())
    private let sharedState = Mutex<ServerShared?>(nil)

    /// A server for `services`, each call passing through `interceptors` (first outermost; see
    /// `ServerInterceptor`); `start` binds and serves.
    public init(
        configuration: ServerConfiguration, services: [ServiceDefinition], interceptors: [any ServerInterceptor] = []
    ) {
        self.configuration = configuration
        self.router = ServiceRouter(services: services, interceptors: interceptors)
    }

    /// Binds the port, starts the event loops and returns the bound port. Throws `SocketError` when the port
    /// cannot be bound and `TLSError` when the TLS configuration cannot be loaded.
    @discardableResult
    public func start() throws -> Int {
        try state.withLock { state throws in
            guard case .idle = state.phase else { throw RPCError(.failedPrecondition, "the server was already started") }
            state.phase = .starting
        }
        do {
            return try bindAndServe()
        } catch {
            state.withLock { $0.phase = .idle }
            throw error
        }
    }

    private func bindAndServe() throws -> Int {
        let tlsContext = try configuration.tls.map { configuration throws(TLSError) in try TLSContext(server: configuration) }
        let shared = ServerShared(router: router, configuration: configuration, tlsContext: tlsContext)
        sharedState.withLock { $0 = shared }
        let group = try EventLoopGroup(count: configuration.eventLoopCount)
        var fds: [Int32] = []
        do {
            var address = try SocketAddress.resolve(host: configuration.host, port: configuration.port)
            let first = try SocketCalls.listen(on: address, reusePort: true)
            fds.append(first)
            let port = SocketAddress.of(first, peer: false).port
            address = try SocketAddress.resolve(host: configuration.host, port: port)
            for _ in 1..<group.loops.count { fds.append(try SocketCalls.listen(on: address, reusePort: true)) }
        } catch {
            for fd in fds { close(fd) }
            Task { await group.shutdown() }
            throw error
        }
        let port = SocketAddress.of(fds[0], peer: false).port
        var registries: [LoopBound<LoopConnections>] = []
        for (loop, fd) in zip(group.loops, fds) {
            let registry = LoopConnections()
            let bound = LoopBound(registry, loop: loop)
            registries.append(bound)
            loop.execute {
                let registry = bound.value
                let listener = ServerListener(fd: fd, loop: loop, shared: shared, registry: registry)
                registry.listener = listener
                listener.start()
            }
        }
        state.withLock { $0.phase = .running(group: group, registries: registries, port: port) }
        return port
    }

    /// The bound port, once started.
    public var port: Int? {
        state.withLock { state in
            if case .running(_, _, let port) = state.phase { return port }
            return nil
        }
    }

    /// Stops accepting, sends GOAWAY on every connection, lets calls in flight finish for up to `gracePeriod`,
    /// then cancels what is left, closes the sockets and stops the loops.
    public func shutdown(gracePeriod: Duration) async {
        let running = state.withLock { state -> (EventLoopGroup, [LoopBound<LoopConnections>])? in
            guard case .running(let group, let registries, _) = state.phase else { return nil }
            state.phase = .stopping
            return (group, registries)
        }
        guard let (group, registries) = running else {
            await waitUntilShutdown()
            return
        }
        for registry in registries {
            registry.loop.execute {
                let connections = registry.value
                connections.isShuttingDown = true
                connections.listener?.stop()
                connections.listener = nil
                for connection in connections.connections.values { connection.beginDraining() }
            }
        }
        let deadline = ContinuousClock.now.advanced(by: gracePeriod)
        guard let shared = sharedState.withLock({ $0 }) else { return }
        while shared.openConnections.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        for registry in registries {
            registry.loop.execute {
                for connection in registry.value.connections.values {
                    connection.closeNow(reason: "the server is shutting down")
                }
            }
        }
        await group.shutdown()
        let waiters = state.withLock { state in
            state.phase = .stopped
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `shutdown` has completed.
    public func waitUntilShutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if case .stopped = state.phase { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
