"""HTTP/2 attacks against a real node: `healthledger serve` (TLS, its development CA) is attacked with Python h2
while a grpcio client keeps calling GetChainHead, so the limits shown by the transport's abuse tests
(Tests/HTTP2TransportTests/AbuseTests.swift, docs/HARDENING.md) are shown to hold in the node's own server
configuration too.

Each test prints one `ABUSE attack=... ratio=...` line: the bystander's p99 before and during the attack, and
the node's VmRSS growth. The ratio is not asserted here: the bystander and the attacker share these two cores with
Python's own overhead, so its latency measures Python as much as the node; the Swift abuse suite holds the 2x
criterion. The bystander calls at about 50/s, below the node's per-address rate limit for public calls. It runs
in a child interpreter, where `grpc` is grpcio: in this one the interop suite's generated modules take that name
(python_protos.py)."""

import json
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import pytest

from test_ledger_interop import RunningNode, start_node

GET_CHAIN_HEAD = "/healthledger.v1.Ledger/GetChainHead"
ENHANCE_YOUR_CALM = 11
RESOURCE_EXHAUSTED = "8"
BYSTANDER_INTERVAL = 0.02


@pytest.fixture(scope="module")
def tls_node(healthledger, tmp_path_factory, request) -> RunningNode:
    """One node with TLS (the default), shared by the attacks; each attack uses a connection of its own."""
    return start_node(healthledger, tmp_path_factory.mktemp("ledger-node-abuse"), tls=True, request=request,
                      chain_id="interop-abuse")


# The bystander's loop, in a child interpreter: GetChainHead every INTERVAL s for SECONDS s (or, with SECONDS < 0,
# until its standard input closes), "ready" once the first call is answered, then the latencies and failures as JSON.
BYSTANDER_SCRIPT = r"""
import json, sys, threading, time
import grpc

target, ca_file, interval, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
credentials = grpc.ssl_channel_credentials(root_certificates=open(ca_file, "rb").read())
channel = grpc.secure_channel(target, credentials, options=[("grpc.ssl_target_name_override", "localhost")])
# Raw bytes: an empty GetChainHeadRequest is zero bytes, and no generated modules are needed.
call = channel.unary_unary("/healthledger.v1.Ledger/GetChainHead", request_serializer=None,
                           response_deserializer=None)
call(b"", timeout=5)
stop = threading.Event()
if seconds < 0:
    print("ready", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
deadline = time.monotonic() + seconds if seconds >= 0 else float("inf")
latencies, failures = [], []
while not stop.is_set() and time.monotonic() < deadline:
    start = time.monotonic()
    try:
        call(b"", timeout=5)
    except grpc.RpcError as error:
        failures.append(f"{error.code()}: {error.details()}")
    latencies.append(time.monotonic() - start)
    stop.wait(interval)
print(json.dumps({"latencies": latencies, "failures": failures}), flush=True)
"""


class Bystander:
    """A grpcio client on a connection of its own (a child interpreter), calling GetChainHead every 20 ms."""

    def __init__(self, node: RunningNode):
        self.command = [sys.executable, "-c", BYSTANDER_SCRIPT, node.target, str(node.ca_file),
                        str(BYSTANDER_INTERVAL)]
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._child: subprocess.Popen | None = None

    def calls_for(self, seconds: float) -> list[float]:
        """Calls for `seconds` before returning; returns the latencies (s)."""
        result = subprocess.run([*self.command, str(seconds)], capture_output=True, text=True, timeout=seconds + 30)
        assert result.returncode == 0, result.stderr
        outcome = json.loads(result.stdout.splitlines()[-1])
        self.failures += outcome["failures"]
        return outcome["latencies"]

    def __enter__(self):
        self._child = subprocess.Popen([*self.command, "-1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        assert self._child.stdout.readline().strip() == "ready", self._child.stderr.read()
        return self

    def __exit__(self, *exc):
        output, errors = self._child.communicate(input="", timeout=30)
        assert self._child.returncode == 0, errors
        outcome = json.loads(output.splitlines()[-1])
        self.latencies += outcome["latencies"]
        self.failures += outcome["failures"]

    def close(self):
        if self._child and self._child.poll() is None:
            self._child.kill()
            self._child.wait()


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * 99 // 100) - 1))] if ordered else 0.0


def node_rss_kib(node: RunningNode) -> int:
    for line in Path(f"/proc/{node.server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def h2_connection(node: RunningNode) -> tuple[ssl.SSLSocket, h2.connection.H2Connection]:
    """A TLS connection (ALPN h2) with h2's state machine, preface and SETTINGS sent."""
    context = ssl.create_default_context(cafile=str(node.ca_file))
    context.set_alpn_protocols(["h2"])
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", node.server.port), timeout=5),
                               server_hostname="localhost")
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    sock.sendall(connection.data_to_send())
    return sock, connection


def request_headers(node: RunningNode) -> list[tuple[str, str]]:
    return [(":method", "POST"), (":scheme", "https"), (":path", GET_CHAIN_HEAD),
            (":authority", f"localhost:{node.server.port}"), ("content-type", "application/grpc"),
            ("te", "trailers")]


def receive(sock: ssl.SSLSocket, connection: h2.connection.H2Connection, seconds: float,
            until=lambda event: False) -> list:
    """Events from what arrives within `seconds`, up to a GOAWAY, the close ("closed") or an event `until`
    accepts; sends what h2 answers itself (SETTINGS and PING ACKs, window updates)."""
    events, deadline = [], time.monotonic() + seconds
    sock.settimeout(0.05)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except OSError:
            break
        if not data:
            events.append("closed")
            break
        try:
            events += connection.receive_data(data)
        except h2.exceptions.ProtocolError:
            break
        pending = connection.data_to_send()
        if pending:
            try:
                sock.sendall(pending)
            except OSError:
                pass
        if any(isinstance(event, h2.events.ConnectionTerminated) or until(event) for event in events):
            break
    return events


def figures(attack: str, answer: str, baseline: list[float], bystander: Bystander, rss_before: int,
            rss_peak: int) -> str:
    ratio = p99(bystander.latencies) / p99(baseline) if baseline else 0.0
    return (f"ABUSE attack={attack} target=node answer={answer} bystander_calls={len(bystander.latencies)} "
            f"bystander_failed={len(bystander.failures)} baseline_calls={len(baseline)} "
            f"baseline_p99_ms={p99(baseline) * 1000:.2f} attack_p99_ms={p99(bystander.latencies) * 1000:.2f} "
            f"ratio={ratio:.2f} rss_growth_mib={(rss_peak - rss_before) / 1024:.2f}")


def test_rapid_reset_against_a_node_gets_goaway_enhance_your_calm(tls_node):
    """Given a node and a grpcio client calling GetChainHead, when another connection opens and resets streams
    over and over (CVE-2023-44487), then the node answers GOAWAY ENHANCE_YOUR_CALM "too many stream resets",
    logs it once, and the grpcio client is served throughout."""
    bystander = Bystander(tls_node)
    try:
        baseline = bystander.calls_for(1.0)
        rss_before = rss_peak = node_rss_kib(tls_node)
        with bystander:
            sock, connection = h2_connection(tls_node)
            terminated, sent = None, 0
            while terminated is None and sent < 2000:
                try:
                    for _ in range(50):
                        stream = connection.get_next_available_stream_id()
                        connection.send_headers(stream, request_headers(tls_node))
                        connection.reset_stream(stream, error_code=h2.errors.ErrorCodes.CANCEL)
                    sock.sendall(connection.data_to_send())
                except (OSError, h2.exceptions.ProtocolError):
                    break
                sent += 50
                for event in receive(sock, connection, 0.01):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        terminated = event
            if terminated is None:
                terminated = next((e for e in receive(sock, connection, 3.0)
                                   if isinstance(e, h2.events.ConnectionTerminated)), None)
            rss_peak = max(rss_peak, node_rss_kib(tls_node))
            sock.close()
            time.sleep(0.5)
        answer = f"GOAWAY:{terminated.error_code.name if terminated else 'none'}"
        print(figures("rapid_reset", answer, baseline, bystander, rss_before, rss_peak))
        assert terminated is not None, f"no GOAWAY after {sent} resets"
        assert terminated.error_code == ENHANCE_YOUR_CALM
        assert terminated.additional_data == b"too many stream resets"
        assert sent >= 200, f"GOAWAY after only {sent} resets (the limit is 200 per 10 s)"
        assert tls_node.server.log_tail(200).count("GOAWAY ENHANCE_YOUR_CALM: too many stream resets") == 1
        assert not bystander.failures, bystander.failures[:3]
        assert len(bystander.latencies) >= 10
    finally:
        bystander.close()
    assert tls_node.server.is_running, tls_node.server.log_tail()


def test_4gib_length_prefix_against_a_node_gets_resource_exhausted(tls_node):
    """Given a node and a grpcio client calling GetChainHead, when a GetChainHead call announces a 4 GiB message,
    then it gets RESOURCE_EXHAUSTED from the length prefix alone, the node's memory does not move, the same
    connection then serves a normal GetChainHead, and the grpcio client is served throughout."""
    bystander = Bystander(tls_node)
    try:
        baseline = bystander.calls_for(1.0)
        rss_before = node_rss_kib(tls_node)
        with bystander:
            sock, connection = h2_connection(tls_node)
            connection.send_headers(1, request_headers(tls_node))
            connection.send_data(1, b"\x00\xff\xff\xff\xff")
            sock.sendall(connection.data_to_send())
            trailers = {}
            for event in receive(sock, connection, 3.0, until=lambda e: isinstance(e, h2.events.StreamEnded)):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    trailers.update(dict(event.headers))
            rss_peak = node_rss_kib(tls_node)
            # The connection is still usable: a normal call (an empty request message) on stream 3.
            connection.send_headers(3, request_headers(tls_node))
            connection.send_data(3, b"\x00\x00\x00\x00\x00", end_stream=True)
            sock.sendall(connection.data_to_send())
            next_status = None
            for event in receive(sock, connection, 3.0,
                                 until=lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == 3):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    next_status = dict(event.headers).get("grpc-status", next_status)
            sock.close()
            time.sleep(0.5)
        print(figures("length_prefix_4gib", f"grpc-status:{trailers.get('grpc-status')}", baseline, bystander,
                      rss_before, rss_peak))
        assert trailers.get("grpc-status") == RESOURCE_EXHAUSTED, trailers
        assert trailers.get("grpc-message") == "received message larger than max (4294967295 vs. 4194304)"
        assert next_status == "0"
        assert rss_peak - rss_before < 16 * 1024, f"VmRSS grew {(rss_peak - rss_before) // 1024} MiB"
        assert not bystander.failures, bystander.failures[:3]
        assert len(bystander.latencies) >= 10
    finally:
        bystander.close()
    assert tls_node.server.is_running, tls_node.server.log_tail()
