import CLinuxEvents
import CNGHTTP2
import Glibc
import RPCCore

/// The connections one loop serves and its listening socket; touched only on that loop.
final class LoopConnections {
    var listener: ServerListener?
    var connections: [ObjectIdentifier: ServerConnection] = [:]
    var isShuttingDown = false
}

/// A listening socket on one loop: accepts connections and serves them on the same loop.
///
/// Each loop has its own listener bound to the same port with SO_REUSEPORT, so the kernel spreads new
/// connections over the loops and an accept never crosses threads (one acceptor handing sockets to other
/// loops would add a hop per connection and make one thread the bottleneck under connection storms).
final class ServerListener: FileDescriptorHandler {
    let fd: Int32
    private let loop: EventLoop
    private let shared: ServerShared
    private let registry: LoopConnections

    init(fd: Int32, loop: EventLoop, shared: ServerShared, registry: LoopConnections) {
        self.fd = fd
        self.loop = loop
        self.shared = shared
        self.registry = registry
    }

    /// Starts accepting; on the loop thread.
    func start() {
        loop.register(fd, events: EPOLLIN.rawValue, handler: self)
    }

    /// Stops accepting and closes the socket; on the loop thread.
    func stop() {
        loop.unregister(fd)
        close(fd)
    }

    func handleEvents(_ events: UInt32) {
        for _ in 0..<64 {
            let accepted: Int32?
            do {
                accepted = try SocketCalls.accept(from: fd)
            } catch {
                // EMFILE and friends: drop this round; the listener stays readable and is retried.
                return
            }
            guard let client = accepted else { return }
            ServerListener.serve(client: client, loop: loop, shared: shared, registry: registry)
        }
    }

    /// Serves `client`, a connected non-blocking socket, on `loop` (its thread) as one of `registry`'s
    /// connections, unless the connection limit is reached or its TLS session cannot be made.
    static func serve(client: Int32, loop: EventLoop, shared: ServerShared, registry: LoopConnections) {
        let limits = shared.configuration.limits
        if shared.openConnections.wrappingAdd(1, ordering: .relaxed).newValue > limits.maxConnections {
            shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
            shared.configuration.eventLog.record(
                peer: SocketAddress.of(client, peer: true).peerDescription,
                "closed on accept: \(limits.maxConnections) connections already open")
            close(client)
            return
        }
        SocketCalls.setNoDelay(client)
        var pipe: (any BytePipe)?
        if let context = shared.tlsContext {
            do {
                pipe = TLSBytePipe(session: try TLSSession(context: context, serverName: nil))
            } catch {
                shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
                close(client)
                return
            }
        }
        let socket = SocketConnection(fd: client, loop: loop, pipe: pipe, outboundLimit: limits.outboundBytesPerConnection)
        let connection = ServerConnection(
            socket: socket, shared: shared, peer: SocketAddress.of(client, peer: true).peerDescription)
        let key = ObjectIdentifier(connection)
        registry.connections[key] = connection
        socket.onClose = { [registry, shared] in
            registry.connections[key] = nil
            shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
        }
        socket.start(engine: connection)
    }
}
