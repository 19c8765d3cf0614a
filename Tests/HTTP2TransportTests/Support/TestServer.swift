import GRPCProtos
import HTTP2Transport
import RPCCore

/// A real server on an ephemeral loopback port serving the interop TestService, for one test.
struct TestServer {
    let server: GRPCServer
    let port: Int
    let events: CallEvents

    /// Starts a server with `configure` applied to a default configuration.
    static func start(
        loops: Int = 2, _ configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws -> TestServer {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = loops
        configure(&configuration)
        let events = CallEvents()
        let server = GRPCServer(
            configuration: configuration, services: [InteropTestService(events: events).serviceDefinition])
        let port = try server.start()
        return TestServer(server: server, port: port, events: events)
    }

    /// Stops the server.
    func stop(grace: Duration = .seconds(1)) async {
        await server.shutdown(gracePeriod: grace)
    }
}
