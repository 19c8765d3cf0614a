"""gRPC cross-language interop (grpc doc/interop-test-descriptions.md), both ways, over h2c and TLS:

- our interop-server (Swift, HTTP2Transport) driven by grpcio through python_interop_client.py, every
  client case plus grpc.health.v1 and server reflection;
- our interop-client (Swift, HTTP2ClientTransport) run against python_interop_server.py (grpcio).

Every client run is a process of its own with per-call deadlines, and every server is stopped with SIGTERM
(SIGKILL after a grace period) in its fixture's finalizer, so nothing here can hang the suite."""

import functools
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import h2.config
import h2.connection
import pytest

import grpc_wire_probe
from interop_processes import ClientWorker, ServerProcess, make_tls_material, python_command, run_client
from swift_tools import SwiftBuildError, build_product
from wire_bytes import length_delimited, tag, varint

INTEROP_CASES = (
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
    "timeout_on_sleeping_server", "cancel_after_begin", "cancel_after_first_response", "status_code_and_message",
    "special_status_message", "custom_metadata", "unimplemented_method", "unimplemented_service",
    "client_compressed_unary", "server_compressed_unary", "client_compressed_streaming",
    "server_compressed_streaming",
)
STANDARD_SERVICE_CASES = ("health", "reflection")
# Not from the descriptions: 3 MB each way, more than the transport writes in one pass.
EXTRA_CASES = ("very_large_unary",)
MODES = ("h2c", "tls")



@functools.cache
def _build(product: str) -> Path:
    try:
        return build_product(product)
    except SwiftBuildError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed; TLS runs need it to make certificates")
    return make_tls_material(tmp_path_factory.mktemp("interop-tls"))


@pytest.fixture(scope="session")
def interop_protos_dir(tmp_path_factory) -> Path:
    """Generated once and shared by every client and server process (see interop_test_protos.py)."""
    from interop_test_protos import generate
    directory = tmp_path_factory.mktemp("interop-protos")
    generate(directory)
    return directory


def _require_running(server: ServerProcess) -> None:
    """Fails at once when an earlier case took the module's server down, instead of timing out per case."""
    if not server.is_running:
        pytest.fail(f"the server is gone ({server.death()}); log:\n{server.log_tail()}", pytrace=False)


def _serve(request, command: list[str], log_dir: Path) -> ServerProcess:
    """Starts `command` for the fixture's mode (request.param) and stops it when the fixture ends."""
    mode = request.param
    tls = request.getfixturevalue("tls_material") if mode == "tls" else None
    server = ServerProcess(command, log_dir / f"server-{mode}.log", tls)

    def stop():
        # A crash during the run would otherwise only show as unrelated client failures.
        was_running = server.is_running
        death = server.death()
        exit_code = server.stop()
        assert was_running, f"the server died during the run ({death}); log:\n{server.log_tail()}"
        assert exit_code == 0, f"the server exited with {exit_code} on SIGTERM; log:\n{server.log_tail()}"

    request.addfinalizer(stop)
    return server


@pytest.fixture(scope="module", params=MODES)
def swift_server(request, tmp_path_factory):
    """Our interop-server on an ephemeral port, once over h2c and once over TLS."""
    executable = _build("interop-server")
    return _serve(request, [str(executable)], tmp_path_factory.mktemp("swift-server"))


@pytest.fixture(scope="module", params=MODES)
def python_server(request, tmp_path_factory, interop_protos_dir):
    """python_interop_server.py (grpcio) on an ephemeral port, once over h2c and once over TLS."""
    command = python_command("python_interop_server.py", "--protos_dir", str(interop_protos_dir))
    return _serve(request, command, tmp_path_factory.mktemp("python-server"))


@pytest.fixture(scope="module")
def grpcio_client(swift_server, interop_protos_dir):
    """One python_interop_client.py worker per server mode."""
    worker = ClientWorker(python_command("python_interop_client.py", "--protos_dir", str(interop_protos_dir)),
                          swift_server)
    yield worker
    worker.close()


@pytest.fixture(scope="session")
def swift_client() -> Path:
    return _build("interop-client")


@pytest.mark.parametrize("test_case", INTEROP_CASES + STANDARD_SERVICE_CASES)
def test_grpcio_client_against_swift_server(swift_server, grpcio_client, test_case):
    """Given our server, when grpcio runs the case, then every assertion of its description holds."""
    _require_running(swift_server)
    outcome = grpcio_client.run(test_case)
    assert swift_server.is_running, f"the server died during {test_case} ({swift_server.death()})"
    assert outcome.passed, outcome.reason


@pytest.mark.parametrize("test_case", INTEROP_CASES + EXTRA_CASES)
def test_swift_client_against_grpcio_server(python_server, swift_client, test_case):
    """Given grpcio's server, when our client runs the case, then every assertion it can make holds."""
    _require_running(python_server)
    outcome = run_client([str(swift_client)], python_server, test_case)
    assert python_server.is_running, f"the server died during {test_case} ({python_server.death()})"
    assert outcome.passed, outcome.reason


# Transport behaviour the interop cases lean on but do not pin down: grpcio enforces timeout_on_sleeping_server's
# 1 ms deadline itself before the server's timer can fire, and no case stops the server mid-call. The deadline
# test uses grpc_wire_probe (h2 only, so no grpcio in this process) with a hand-encoded request.

def _streaming_output_request(count: int, size: int, interval_us: int) -> bytes:
    """StreamingOutputCallRequest{response_parameters: count x {size, interval_us}} (fields 2; 1 and 2)."""
    parameters = tag(1, 0) + varint(size) + tag(2, 0) + varint(interval_us)
    return b"".join(length_delimited(2, parameters) for _ in range(count))


@pytest.fixture
def lone_swift_server(tmp_path):
    """An h2c interop-server of the test's own, for tests that stop it."""
    server = ServerProcess([str(_build("interop-server"))], tmp_path / "server.log", None)
    yield server
    server.stop()


def test_swift_server_ends_a_call_at_its_grpc_timeout(lone_swift_server):
    """Given a call with grpc-timeout 100m whose responses come every 300 ms, the server ends it with
    DEADLINE_EXCEEDED at about 100 ms, before any response."""
    started = time.monotonic()
    result = grpc_wire_probe.call("127.0.0.1", lone_swift_server.port, "/grpc.testing.TestService/StreamingOutputCall",
                                  [(_streaming_output_request(3, 10, 300_000), False)],
                                  metadata=(("grpc-timeout", "100m"),))
    elapsed = time.monotonic() - started
    assert result.status == 4, f"status {result.status}, headers {result.headers}, trailers {result.trailers}"
    assert result.messages == []
    assert 0.09 <= elapsed < 0.3, f"the call ended after {elapsed:.3f} s"


def test_swift_server_sends_a_response_larger_than_its_write_buffer_to_a_quiet_client(lone_swift_server):
    """Given a client that opened 1 GiB windows and then sends nothing, when it asks UnaryCall for a 3 MB
    payload, then the whole response and the OK status arrive."""
    request = tag(2, 0) + varint(3_000_000)  # SimpleRequest{response_size: 3000000}
    result = grpc_wire_probe.call("127.0.0.1", lone_swift_server.port, "/grpc.testing.TestService/UnaryCall",
                                  [(request, False)], timeout=3, silent_receive_window=2**30)
    assert result.status == 0
    assert [len(message) for _, message in result.messages] == [3_000_000 + 10]


def test_swift_server_rejects_an_uncompressed_message_that_expects_compression_in_a_gzip_call(lone_swift_server):
    """Given a call with grpc-encoding gzip whose one message is sent with the flag clear, when that message
    says expect_compressed=true, then the server fails the call with INVALID_ARGUMENT (CompressedRequest)."""
    request = length_delimited(8, tag(1, 0) + varint(1))  # SimpleRequest{expect_compressed: {value: true}}
    result = grpc_wire_probe.call("127.0.0.1", lone_swift_server.port, "/grpc.testing.TestService/UnaryCall",
                                  [(request, False)], metadata=(("grpc-encoding", "gzip"),), timeout=5)
    assert result.status == 3, f"status {result.status}: {result.trailers or result.headers}"


@pytest.fixture
def lone_swift_tls_server(tmp_path, tls_material):
    """A TLS interop-server of the test's own, for tests that may bring it down."""
    server = ServerProcess([str(_build("interop-server"))], tmp_path / "server.log", tls_material)
    yield server
    server.stop()


def test_swift_tls_server_survives_a_client_that_resets_its_connection(lone_swift_tls_server):
    """Given a TLS client that asks for a 2 MB response and then resets the TCP connection (SO_LINGER 0), the
    server keeps running and serves the next client."""
    tls = lone_swift_tls_server.tls
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    context.set_alpn_protocols(["h2"])
    request = tag(2, 0) + varint(2_000_000)  # SimpleRequest{response_size: 2000000}
    for _ in range(3):
        raw = socket.create_connection(("127.0.0.1", lone_swift_tls_server.port), timeout=5)
        with context.wrap_socket(raw, server_hostname=tls.server_name) as sock:
            connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            connection.initiate_connection()
            connection.send_headers(1, [(":method", "POST"), (":scheme", "https"),
                                        (":path", "/grpc.testing.TestService/UnaryCall"), (":authority", "localhost"),
                                        ("content-type", "application/grpc"), ("te", "trailers")])
            connection.send_data(1, grpc_wire_probe.frame_message(request, False), end_stream=True)
            sock.sendall(connection.data_to_send())
            time.sleep(0.005)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        time.sleep(0.1)
        assert lone_swift_tls_server.is_running, f"the server died ({lone_swift_tls_server.death()})"
    result = grpc_wire_probe.call("127.0.0.1", lone_swift_tls_server.port, "/grpc.testing.TestService/EmptyCall",
                                  [(b"", False)], tls=grpc_wire_probe.TLSOptions(str(tls.ca_file), tls.server_name),
                                  timeout=5)
    assert result.status == 0


def test_swift_server_finishes_calls_in_flight_on_sigterm(lone_swift_server, interop_protos_dir):
    """Given a grpcio streaming call in flight, when the server gets SIGTERM, then the call still completes
    with OK and all its responses, and the server exits 0."""
    command = python_command("python_interop_client.py", "--protos_dir", str(interop_protos_dir),
                             "--server_port", str(lone_swift_server.port), "--test_case", "drain_on_shutdown")
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = _read_line(client.stdout, timeout=10)
        assert first_line == "first response", f"client said {first_line!r}; stderr: {client.stderr.read()}"
        lone_swift_server.process.send_signal(signal.SIGTERM)
        _, stderr = client.communicate(timeout=10)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 0, stderr.strip().splitlines()[-1:]
    assert lone_swift_server.stop() == 0, lone_swift_server.log_tail()


def _read_line(stream, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout=timeout):
            return f"<nothing within {timeout} s>"
    return stream.readline().strip()


def test_swift_tls_server_sends_its_goaway_encrypted(lone_swift_tls_server):
    """Given a TLS client whose first bytes are not the HTTP/2 connection preface, the server's GOAWAY
    PROTOCOL_ERROR arrives as TLS records the client can decrypt, not as plaintext on the socket."""
    tls = lone_swift_tls_server.tls
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", lone_swift_tls_server.port), timeout=5)
    with context.wrap_socket(raw, server_hostname=tls.server_name) as sock:
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        connection.data_to_send()  # h2 needs its own preface sent to read frames; the server gets another
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + bytes(24))
        received = b""
        goaway = None
        deadline = time.monotonic() + 5
        while goaway is None and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)  # an SSLError here would mean the bytes were not TLS records
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
            for event in connection.receive_data(chunk):
                if type(event).__name__ == "ConnectionTerminated":
                    goaway = event
    assert goaway is not None, f"no GOAWAY decrypted from {len(received)} bytes"
    assert goaway.error_code == 1, f"GOAWAY error code {goaway.error_code}"  # PROTOCOL_ERROR
    assert lone_swift_tls_server.is_running, f"the server died ({lone_swift_tls_server.death()})"
