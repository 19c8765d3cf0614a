import Foundation
import GRPCProtos
import GRPCStandardServices
import HTTP2Transport
import RPCCore
import Testing

/// Keepalive (gRPC doc/keepalive.md) against a raw HTTP/2 peer (Python h2, which acks PINGs whenever it reads),
/// and the plaintext health port beside a mutual-TLS main port.
@Suite("Keepalive and health port")
struct KeepaliveTests {
    /// Runs script case `name` against a one-loop server whose keepalive `configure` sets; returns the script's
    /// exit status and output, and the server's event log lines.
    private func run(
        _ name: String, _ configure: @escaping (inout ServerKeepalive) -> Void
    ) async throws -> (status: Int32, output: String, log: [String]) {
        let log = EventLogLines()
        let server = try TestServer.start(loops: 1) { configuration in
            configuration.eventLog = ConnectionEventLog { line in log.append(line) }
            configure(&configuration.keepalive)
        }
        let (status, output) = try await PythonRunner.run(Self.script, arguments: [String(server.port), name])
        await server.stop(grace: .milliseconds(100))
        return (status, output, log.lines)
    }

    @Test("given an idle client that acks, the server pings it every 200 ms and keeps the connection", .enabled(if: PythonRunner.isAvailable))
    func idleConnectionPingedAndKept() async throws {
        let result = try await run("acks_pings") { keepalive in
            keepalive.time = .milliseconds(200)
            keepalive.timeout = .milliseconds(200)
            keepalive.permitWithoutCalls = true
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.log.isEmpty, "\(result.log)")
    }

    @Test("given a peer that stops reading, its unacknowledged ping gets GOAWAY and the connection closes", .enabled(if: PythonRunner.isAvailable))
    func unacknowledgedPingClosesConnection() async throws {
        let result = try await run("never_acks") { keepalive in
            keepalive.time = .milliseconds(200)
            keepalive.timeout = .milliseconds(200)
            keepalive.permitWithoutCalls = true
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.log.count == 1, "\(result.log)")
        #expect(result.log.first?.contains("keepalive ping not acknowledged within 0.2 seconds") == true, "\(result.log)")
    }

    @Test("without calls and without permitWithoutCalls the server does not ping", .enabled(if: PythonRunner.isAvailable))
    func noPingsWithoutCalls() async throws {
        let result = try await run("not_pinged") { keepalive in
            keepalive.time = .milliseconds(200)
            keepalive.timeout = .milliseconds(200)
        }
        #expect(result.status == 0, "\(result.output)")
    }

    @Test("given a client pinging every 50 ms, it gets GOAWAY ENHANCE_YOUR_CALM too_many_pings", .enabled(if: PythonRunner.isAvailable))
    func pingingTooOften() async throws {
        let result = try await run("pings_too_often") { keepalive in
            keepalive.minimumClientPingInterval = .seconds(1)
            keepalive.permitClientPingsWithoutCalls = true
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.log.count == 1, "\(result.log)")
        #expect(result.log.first?.contains("GOAWAY ENHANCE_YOUR_CALM: too_many_pings") == true, "\(result.log)")
    }

    @Test("given a client without calls pinging every 200 ms, it is too often unless pings without calls are permitted", .enabled(if: PythonRunner.isAvailable))
    func pingingWithoutCalls() async throws {
        let result = try await run("pings_without_calls") { keepalive in
            keepalive.minimumClientPingInterval = .milliseconds(100)
        }
        #expect(result.status == 0, "\(result.output)")
    }

    @Test("given a client pinging every 50 ms whose calls get responses in between, it is left alone (responses forgive strikes)", .enabled(if: PythonRunner.isAvailable))
    func pingingBetweenResponses() async throws {
        let result = try await run("pings_between_calls") { keepalive in
            keepalive.minimumClientPingInterval = .seconds(1)
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.log.isEmpty, "\(result.log)")
    }

    @Test("given a client pinging every 1.1 s against a 1 s minimum, it is left alone", .enabled(if: PythonRunner.isAvailable))
    func pingingWithinPolicy() async throws {
        let result = try await run("pings_within_policy") { keepalive in
            keepalive.minimumClientPingInterval = .seconds(1)
            keepalive.permitClientPingsWithoutCalls = true
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.log.isEmpty, "\(result.log)")
    }

    @Test("given a mutual-TLS main port, a client without a certificate gets SERVING from the plaintext health port and UNIMPLEMENTED for other services there")
    func healthPortBesideMutualTLS() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hl-transport-health-\(UUID().uuidString)").path
        let certificates = try DevelopmentCertificate.generate(directory: directory)
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.tls = certificates.serverConfiguration(clientCertificateVerification: .required)
        configuration.healthPort = 0
        let health = HealthService(registry: HealthStatusRegistry(serverStatus: .serving))
        let server = GRPCServer(
            configuration: configuration, services: [InteropTestService(events: CallEvents()).serviceDefinition],
            healthService: health.serviceDefinition)
        let mainPort = try server.start()
        let healthPort = try #require(server.healthPort)
        #expect(healthPort != mainPort)

        let transport = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: healthPort))
        let options = CallOptions(timeout: .seconds(5))
        let response = try await Grpc_Health_V1_HealthClient(transport: transport)
            .check(Grpc_Health_V1_HealthCheckRequest(), options: options)
        #expect(response.status == .serving)
        let error = await #expect(throws: RPCError.self) {
            try await Grpc_Testing_TestServiceClient(transport: transport).emptyCall(Grpc_Testing_Empty(), options: options)
        }
        #expect(error?.code == .unimplemented, "\(String(describing: error))")
        await transport.close()

        // The main port still wants a client certificate.
        var mainConfiguration = ClientConfiguration(host: "localhost", port: mainPort)
        mainConfiguration.tls = TLSClientConfiguration(trustRootsPEMPath: certificates.certificateAuthorityPath)
        let unauthenticated = try HTTP2ClientTransport(configuration: mainConfiguration)
        await #expect(throws: RPCError.self) {
            try await Grpc_Testing_TestServiceClient(transport: unauthenticated).emptyCall(Grpc_Testing_Empty(), options: options)
        }
        await unauthenticated.close()

        await server.shutdown(gracePeriod: .seconds(1))
        #expect(server.healthPort == nil)
        let afterShutdown = try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: healthPort))
        await #expect(throws: RPCError.self) {
            try await Grpc_Health_V1_HealthClient(transport: afterShutdown)
                .check(Grpc_Health_V1_HealthCheckRequest(), options: CallOptions(timeout: .seconds(2)))
        }
        await afterShutdown.close()
    }

    @Test("a health port without a health service is refused at start")
    func healthPortNeedsHealthService() throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.healthPort = 0
        let server = GRPCServer(configuration: configuration, services: [])
        #expect(throws: RPCError.self) { try server.start() }
    }

    static let script = #"""
import socket, sys, time
import h2.connection, h2.config, h2.events, h2.errors

port = int(sys.argv[1])
failures = []

def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else ": " + str(detail)), flush=True)
    if not condition: failures.append(name)

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    return s, c

def pump(s, c, until, seconds):
    """Reads (and so acks PINGs) until `until(events)`, `seconds` pass or the peer closes; returns (events, closed)."""
    events, deadline = [], time.time() + seconds
    s.settimeout(0.02)
    while time.time() < deadline:
        try:
            data = s.recv(65536)
        except socket.timeout:
            if until(events): return events, False
            continue
        except ConnectionResetError:
            return events, True
        if not data: return events, True
        events += c.receive_data(data)
        out = c.data_to_send()
        if out:
            try: s.sendall(out)
            except OSError: return events, True
        if until(events): return events, False
    return events, False

def count(events, kind):
    return sum(1 for e in events if isinstance(e, kind))

def goaway(events):
    return next((e for e in events if isinstance(e, h2.events.ConnectionTerminated)), None)

def settled(ev):
    return any(isinstance(e, h2.events.RemoteSettingsChanged) for e in ev)

def ping_every(s, c, interval, pings):
    """Sends `pings` PINGs `interval` apart, reading in between; returns (events, closed)."""
    events = []
    for i in range(pings):
        c.ping(i.to_bytes(8, "big"))
        try: s.sendall(c.data_to_send())
        except OSError: return events, True
        more, closed = pump(s, c, lambda ev: goaway(ev) is not None, interval)
        events += more
        if closed or goaway(events): return events, closed
    more, closed = pump(s, c, lambda ev: goaway(ev) is not None, 0.3)
    return events + more, closed

which = sys.argv[2]

if which == "acks_pings":
    s, c = connect()
    events, closed = pump(s, c, lambda ev: False, 1.5)
    pings = count(events, h2.events.PingReceived)
    check("the server pinged the idle connection several times", pings >= 3, (pings, events))
    check("the connection stayed open", not closed and goaway(events) is None, events)

elif which == "not_pinged":
    s, c = connect()
    events, closed = pump(s, c, lambda ev: False, 1.0)
    check("no ping without calls", count(events, h2.events.PingReceived) == 0, events)
    check("the connection stayed open", not closed and goaway(events) is None, events)

elif which == "never_acks":
    s, c = connect()
    pump(s, c, settled, 0.1)
    start = time.time()
    time.sleep(1.5)  # reads nothing, so acks nothing
    events, closed = pump(s, c, lambda ev: False, 2)
    g = goaway(events)
    check("the server pinged", count(events, h2.events.PingReceived) >= 1, events)
    check("then sent GOAWAY NO_ERROR naming keepalive", g is not None and g.error_code == h2.errors.ErrorCodes.NO_ERROR
          and b"keepalive" in (g.additional_data or b""), g)
    check("and closed the connection", closed, events)

elif which == "pings_too_often":
    s, c = connect()
    pump(s, c, settled, 0.2)
    events, closed = ping_every(s, c, 0.05, 20)
    g = goaway(events)
    check("GOAWAY ENHANCE_YOUR_CALM too_many_pings", g is not None and g.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
          and g.additional_data == b"too_many_pings", (g, closed))
    acks = count(events, h2.events.PingAckReceived)
    check("after the strikes allowed (2), on the 4th ping", acks <= 4, (acks, events))

elif which == "pings_without_calls":
    s, c = connect()
    pump(s, c, settled, 0.2)
    events, closed = ping_every(s, c, 0.2, 8)
    g = goaway(events)
    check("GOAWAY too_many_pings without calls", g is not None and g.additional_data == b"too_many_pings", (g, closed))

elif which == "pings_within_policy":
    s, c = connect()
    pump(s, c, settled, 0.2)
    events, closed = ping_every(s, c, 1.1, 4)
    check("every ping acked", count(events, h2.events.PingAckReceived) == 4, events)
    check("no GOAWAY", goaway(events) is None and not closed, events)

elif which == "pings_between_calls":
    s, c = connect()
    pump(s, c, settled, 0.2)
    events, closed = [], False
    for i in range(10):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/grpc.testing.TestService/EmptyCall"),
                             (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")])
        c.send_data(sid, b"\0\0\0\0\0", end_stream=True)
        s.sendall(c.data_to_send())
        more, closed = pump(s, c, lambda ev: goaway(ev) is not None or any(isinstance(e, h2.events.StreamEnded) and e.stream_id == sid for e in ev), 2)
        events += more
        more, closed = ping_every(s, c, 0.05, 1)
        events += more
        if closed or goaway(events): break
    check("ten calls answered", count(events, h2.events.StreamEnded) == 10, events)
    check("no GOAWAY", goaway(events) is None and not closed, events)

print("FAILURES:", len(failures))
sys.exit(1 if failures else 0)
"""#
}
