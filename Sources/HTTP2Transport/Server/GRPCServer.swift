import Glibc
import RPCCore
import Synchronization

/// A gRPC server over HTTP/2 (h2c with prior knowledge) serving `ServiceDefinition`s on epoll event loops.
///
/// Each call's handler (and its interceptors) runs as a task preferring the event loop that accepted the call, so
/// a request is answered on the thread that read it. Handlers must therefore not block that thread: a wait for
/// the disk or a lock held long belongs on another thread (a `Task` with another executor preference, or
/// Dispatch), awaited from the handler; `await` on other tasks, actors and continuations is fine.
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
        var healthPort: Int?
    }

    private let configuration: ServerConfiguration
    private let router: ServiceRouter
    /// What the plaintext health port serves (only the health service, no interceptors), when configured.
    private let healthRouter: ServiceRouter?
    private let state = Mutex(State())
    /// The main port's shared state, then the health port's.
    private let sharedState = Mutex<[ServerShared]>([])

    /// A server for `services`, each call passing through `interceptors` (first outermost; see
    /// `ServerInterceptor`); `start` binds and serves. With `configuration.healthPort` set, `healthService` (the
    /// grpc.health.v1.Health definition) is also served alone, without interceptors, on that plaintext port.
    public init(
        configuration: ServerConfiguration, services: [ServiceDefinition], interceptors: [any ServerInterceptor] = [],
        healthService: ServiceDefinition? = nil
    ) {
        self.configuration = configuration
        self.router = ServiceRouter(services: services, interceptors: interceptors)
        // Probes carry no credentials, so interceptors that authenticate callers must not see them.
        self.healthRouter = healthService.map { ServiceRouter(services: [$0], interceptors: []) }
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
        if configuration.healthPort != nil && healthRouter == nil {
            throw RPCError(.failedPrecondition, "healthPort is set but no health service was given")
        }
        let tlsContext = try configuration.tls.map { configuration throws(TLSError) in try TLSContext(server: configuration) }
        let shared = ServerShared(router: router, configuration: configuration, tlsContext: tlsContext)
        sharedState.withLock { $0 = [shared] }
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
        var healthPort: Int?
        if let healthRouter, let requested = configuration.healthPort {
            do {
                let health = try serveHealth(router: healthRouter, port: requested, on: group.loops[0])
                registries.append(health.registry)
                healthPort = health.port
            } catch {
                for registry in registries { registry.loop.execute { registry.value.listener?.stop() } }
                Task { await group.shutdown() }
                throw error
            }
        }
        state.withLock { state in
            state.phase = .running(group: group, registries: registries, port: port)
            state.healthPort = healthPort
        }
        return port
    }

    /// Binds the plaintext health port and serves `router` on it from `loop` (probes are few; one loop does).
    private func serveHealth(
        router: ServiceRouter, port: Int, on loop: EventLoop
    ) throws -> (registry: LoopBound<LoopConnections>, port: Int) {
        var healthConfiguration = configuration
        healthConfiguration.tls = nil
        healthConfiguration.host = configuration.healthHost ?? configuration.host
        healthConfiguration.port = port
        // Probes only: no web page or cross-origin calls on the health port.
        healthConfiguration.staticFiles = nil
        healthConfiguration.webAllowedOrigins = []
        let shared = ServerShared(router: router, configuration: healthConfiguration, tlsContext: nil)
        let address = try SocketAddress.resolve(host: healthConfiguration.host, port: port)
        let fd = try SocketCalls.listen(on: address, reusePort: false)
        sharedState.withLock { $0.append(shared) }
        let bound = LoopBound(LoopConnections(), loop: loop)
        loop.execute {
            let registry = bound.value
            let listener = ServerListener(fd: fd, loop: loop, shared: shared, registry: registry)
            registry.listener = listener
            listener.start()
        }
        return (bound, SocketAddress.of(fd, peer: false).port)
    }

    /// Serves `fd`, a connected non-blocking stream socket (such as one end of a socketpair), on the first loop as
    /// if the main listener had accepted it; the server owns and closes it. For in-process drivers such as the
    /// connection fuzzer, which feed one connection bytes without a TCP handshake per input.
    @_spi(Testing) public func serveConnectedSocket(_ fd: Int32) throws(RPCError) {
        let running = state.withLock { state -> LoopBound<LoopConnections>? in
            if case .running(_, let registries, _) = state.phase { return registries.first }
            return nil
        }
        guard let registry = running, let shared = sharedState.withLock({ $0.first }) else {
            throw RPCError(.failedPrecondition, "the server is not running")
        }
        registry.loop.execute {
            ServerListener.serve(client: fd, loop: registry.loop, shared: shared, registry: registry.value)
        }
    }

    /// The bound health port, once started with `ServerConfiguration.healthPort` set.
    public var healthPort: Int? {
        state.withLock { state in
            if case .running = state.phase { return state.healthPort }
            return nil
        }
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
        let shareds = sharedState.withLock { $0 }
        while shareds.contains(where: { $0.openConnections.load(ordering: .relaxed) > 0 }) && ContinuousClock.now < deadline {
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
