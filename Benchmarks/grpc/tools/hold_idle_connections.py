"""Opens N plain-TCP HTTP/2 (h2c) connections to a server and holds them idle.

Each connection sends the client preface and an empty SETTINGS frame (RFC 9113 §3.4), reads the
server's SETTINGS and ACKs it (§6.5.3), then sends nothing more: no streams, no PINGs. The
connections are served by one selectors (epoll) loop, which also answers any PING the server sends
(§6.7) so a server's keepalive cannot mistake the client for a dead peer, and notes any GOAWAY or
close. At most --in-flight handshakes run at once, so the server's accept backlog never overflows.

Once every connection has finished its handshake it prints "ready opened=N elapsed_s=T". On
SIGUSR1 it checks that every connection is still open from the server's side: it sends one PING on
each and waits (up to --check-timeout) for its ACK, then prints

    final opened=N open=X closed_by_server=C goaway=G ping_acked=A

closes everything and exits (0 when every connection was still open and ACKed the PING, 1 otherwise).
A connection counts as open when the server neither closed it nor sent GOAWAY.

Usage: hold_idle_connections.py --target 127.0.0.1:PORT --count N
       [--in-flight 256] [--connect-timeout 120] [--check-timeout 15]
"""

import argparse
import errno
import os
import selectors
import signal
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_SETTINGS, FRAME_PING, FRAME_GOAWAY = 0x4, 0x6, 0x7
FLAG_ACK = 0x1
CHECK_PAYLOAD = b"idlechk!"  # any 8 bytes (§6.7)


def frame(kind: int, flags: int, payload: bytes = b"", stream: int = 0) -> bytes:
    """An HTTP/2 frame: 24-bit length, type, flags, 31-bit stream id (§4.1), then the payload."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


class Connection:
    """One held connection and what the server has said on it so far."""

    __slots__ = ("sock", "buffer", "connected", "got_settings", "got_settings_ack",
                 "closed", "goaway", "ping_acked")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""
        self.connected = False
        self.got_settings = False
        self.got_settings_ack = False
        self.closed = False
        self.goaway = False
        self.ping_acked = False

    @property
    def handshaken(self) -> bool:
        return self.got_settings and self.got_settings_ack

    def send(self, data: bytes) -> None:
        # A few dozen bytes into an empty socket buffer: never partial on loopback.
        self.sock.send(data)

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.buffer += data
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[0:3], "big")
            if len(self.buffer) < 9 + length:
                break
            kind, flags = self.buffer[3], self.buffer[4]
            payload = self.buffer[9:9 + length]
            self.buffer = self.buffer[9 + length:]
            if kind == FRAME_SETTINGS:
                if flags & FLAG_ACK:
                    self.got_settings_ack = True
                else:
                    self.got_settings = True
                    self.send(frame(FRAME_SETTINGS, FLAG_ACK))
            elif kind == FRAME_PING:
                if flags & FLAG_ACK:
                    if payload == CHECK_PAYLOAD:
                        self.ping_acked = True
                else:
                    self.send(frame(FRAME_PING, FLAG_ACK, payload))
            elif kind == FRAME_GOAWAY:
                self.goaway = True
            # WINDOW_UPDATE and anything else: nothing to answer.


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--connect-timeout", type=float, default=120)
    parser.add_argument("--check-timeout", type=float, default=15)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    address = (host, int(port))

    check_requested = False

    def request_check(_signum, _frame):
        nonlocal check_requested
        check_requested = True

    signal.signal(signal.SIGUSR1, request_check)

    selector = selectors.DefaultSelector()
    connections: list[Connection] = []
    started = time.monotonic()
    pending = 0  # connections started but not yet handshaken

    def say(line: str) -> None:
        print(line, flush=True)

    def fail(message: str) -> int:
        say(f"error {message}")
        return 1

    # Phase 1: open and handshake every connection, --in-flight at a time.
    while True:
        while len(connections) < args.count and pending < args.in_flight:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(address)
            if code not in (0, errno.EINPROGRESS):
                return fail(f"connect #{len(connections) + 1}: {os.strerror(code)}")
            connection = Connection(sock)
            connections.append(connection)
            selector.register(sock, selectors.EVENT_WRITE, connection)
            pending += 1
        if pending == 0 and len(connections) == args.count:
            break
        if time.monotonic() - started > args.connect_timeout:
            done = sum(c.handshaken for c in connections)
            return fail(f"timeout after {args.connect_timeout:.0f} s: {done} of {args.count} handshaken")
        for key, _events in selector.select(timeout=1.0):
            connection = key.data
            was_done = connection.handshaken or connection.closed or connection.goaway
            if not connection.connected:
                code = connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code != 0:
                    return fail(f"connect: {os.strerror(code)}")
                connection.connected = True
                connection.send(PREFACE + frame(FRAME_SETTINGS, 0))
                selector.modify(connection.sock, selectors.EVENT_READ, connection)
                continue
            connection.on_readable()
            if connection.closed or connection.goaway:
                selector.unregister(connection.sock)
                if not was_done:
                    pending -= 1
                return fail(f"connection #{connections.index(connection) + 1} closed by the server "
                            f"during its handshake (goaway={connection.goaway})")
            if connection.handshaken and not was_done:
                pending -= 1
    say(f"ready opened={len(connections)} elapsed_s={time.monotonic() - started:.1f}")

    # Phase 2: hold them, answering the server's PINGs and noting closes, until SIGUSR1.
    while not check_requested:
        for key, _events in selector.select(timeout=0.5):
            connection = key.data
            connection.on_readable()
            if connection.closed:
                selector.unregister(connection.sock)

    # Phase 3: one PING per connection still open; count the ACKs.
    for connection in connections:
        if not connection.closed and not connection.goaway:
            try:
                connection.send(frame(FRAME_PING, 0, CHECK_PAYLOAD))
            except OSError:
                connection.closed = True
                selector.unregister(connection.sock)
    deadline = time.monotonic() + args.check_timeout
    def waiting() -> int:
        return sum(1 for c in connections if not (c.closed or c.goaway or c.ping_acked))
    while waiting() and time.monotonic() < deadline:
        for key, _events in selector.select(timeout=0.5):
            connection = key.data
            connection.on_readable()
            if connection.closed:
                selector.unregister(connection.sock)

    closed = sum(c.closed for c in connections)
    goaway = sum(c.goaway for c in connections)
    still_open = sum(1 for c in connections if not (c.closed or c.goaway))
    acked = sum(c.ping_acked for c in connections)
    say(f"final opened={len(connections)} open={still_open} closed_by_server={closed} "
        f"goaway={goaway} ping_acked={acked}")
    for connection in connections:
        connection.sock.close()
    return 0 if still_open == acked == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
