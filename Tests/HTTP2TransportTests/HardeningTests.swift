import HTTP2Transport
import Testing

/// Limits against misbehaving peers, driven by a raw HTTP/2 client (Python h2) that can do what real clients
/// never do: floods, resets, oversized headers, silence.
@Suite("Hardening")
struct HardeningTests {
    /// One misbehaviour: the script case to run and the server limits it runs against.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let configure: @Sendable (inout ServerLimits) -> Void
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "content_type") { _ in },
        Case(name: "rapid_reset") { _ in },
        Case(name: "ping_flood") { _ in },
        Case(name: "big_headers") { _ in },
        Case(name: "preface_timeout") { $0.prefaceTimeout = .milliseconds(300) },
        Case(name: "idle_timeout") { $0.idleTimeout = .milliseconds(300) },
        Case(name: "max_connections") { $0.maxConnections = 2 },
    ]

    @Test("the server refuses or closes a misbehaving peer", .enabled(if: PythonRunner.isAvailable), arguments: cases)
    func misbehavingPeer(_ misbehaviour: Case) async throws {
        let server = try TestServer.start(loops: 1) { misbehaviour.configure(&$0.limits) }
        let (status, output) = try await PythonRunner.run(Self.script, arguments: [String(server.port), misbehaviour.name])
        await server.stop(grace: .milliseconds(100))
        #expect(status == 0, "\(output)")
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

def pump(s, c, until, seconds=15):
    """Reads events until `until(events_so_far)` or the peer closes; returns (events, closed)."""
    events, deadline = [], time.time() + seconds
    s.settimeout(0.2)
    while time.time() < deadline:
        try:
            data = s.recv(65536)
        except socket.timeout:
            if until(events): return events, False
            continue
        except ConnectionResetError:
            return events, True
        if not data: return events, True
        try:
            events += c.receive_data(data)
        except Exception as e:
            events.append(e)
        out = c.data_to_send()
        if out:
            try: s.sendall(out)
            except OSError: return events, True
        if until(events): return events, False
    return events, False

def request_headers(path="/grpc.testing.TestService/EmptyCall", content_type="application/grpc", extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", content_type), ("te", "trailers")] + list(extra)

def goaway(events):
    return next((e for e in events if isinstance(e, h2.events.ConnectionTerminated)), None)

which = sys.argv[2]

if which == "content_type":
    s, c = connect()
    c.send_headers(1, request_headers(content_type="text/plain"), end_stream=True)
    s.sendall(c.data_to_send())
    events, _ = pump(s, c, lambda ev: any(isinstance(e, h2.events.ResponseReceived) for e in ev))
    status = next((dict(e.headers).get(":status") for e in events if isinstance(e, h2.events.ResponseReceived)), None)
    check("bad content-type gets HTTP 415", status == "415", events)

elif which == "rapid_reset":
    s, c = connect()
    pump(s, c, lambda ev: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in ev), 1)
    closed = False
    for i in range(600):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, request_headers(path="/grpc.testing.TestService/FullDuplexCall"))
        c.reset_stream(sid, error_code=h2.errors.ErrorCodes.CANCEL)
        try:
            s.sendall(c.data_to_send())
        except OSError:
            closed = True
            break
    events, closed2 = pump(s, c, lambda ev: goaway(ev) is not None)
    g = goaway(events)
    check("rapid reset gets GOAWAY ENHANCE_YOUR_CALM", g is not None and g.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, (g, closed, closed2))

elif which == "ping_flood":
    s, c = connect()
    closed = False
    for i in range(3000):
        c.ping(i.to_bytes(8, "big"))
        try:
            s.sendall(c.data_to_send())
        except OSError:
            closed = True
            break
    events, closed2 = pump(s, c, lambda ev: goaway(ev) is not None)
    g = goaway(events)
    check("ping flood gets GOAWAY ENHANCE_YOUR_CALM", g is not None and g.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, (g, closed, closed2))

elif which == "big_headers":
    s, c = connect()
    c.send_headers(1, request_headers(extra=[("x-big", "a" * 20000)]), end_stream=True)
    s.sendall(c.data_to_send())
    events, closed = pump(s, c, lambda ev: any(isinstance(e, (h2.events.StreamReset, h2.events.ResponseReceived, h2.events.ConnectionTerminated)) for e in ev))
    refused = any(isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated)) for e in events) or closed
    check("a header list over 16 KiB is refused", refused, events)
    # A normal request afterwards on a new connection still works.
    s, c = connect()
    c.send_headers(1, request_headers(), end_stream=False)
    c.send_data(1, b"\0\0\0\0\0", end_stream=True)
    s.sendall(c.data_to_send())
    events, _ = pump(s, c, lambda ev: any(isinstance(e, h2.events.StreamEnded) for e in ev))
    trailers = [dict(e.headers) for e in events if isinstance(e, h2.events.TrailersReceived)]
    check("a normal request still works", trailers and trailers[0].get("grpc-status") == "0", events)

elif which == "preface_timeout":
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    start = time.time()
    s.settimeout(5)
    closed = False
    try:
        while s.recv(100):  # the server's own SETTINGS come first
            pass
        closed = True
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    elapsed = time.time() - start
    check("a silent connection is closed after the preface timeout", closed and 0.2 < elapsed < 3, (closed, elapsed))

elif which == "idle_timeout":
    s, c = connect()
    events, closed = pump(s, c, lambda ev: goaway(ev) is not None, 5)
    check("an idle connection gets GOAWAY", goaway(events) is not None, events)

elif which == "max_connections":
    socks = [connect() for _ in range(2)]
    time.sleep(0.2)
    s, c = connect()
    events, closed = pump(s, c, lambda ev: False, 1)
    check("a connection over the limit is closed", closed, events)
    for (x, y) in socks:
        events, closed = pump(x, y, lambda ev: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in ev), 1)
        check("connections within the limit stay open", not closed, events)

print("FAILURES:", len(failures))
sys.exit(1 if failures else 0)
"""#
}
