"""gRPC-Web and the dashboard's static files against a real node over TLS, from peers that share no code with
it: Python `h2` speaks HTTP/2 over `ssl` (ALPN h2, the node's development CA), Python protobuf builds and reads
the Ledger messages, and the gRPC-Web framing and trailer frames are taken apart here, per
https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md, as a browser client would.

(`sonora`'s protocol helpers were the other candidate; sonora 0.2.3 pins urllib3 below 2, which the browser
tests' Selenium cannot share a venv with, so the few lines of parsing live here.)"""

import base64
import hashlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest

from test_ledger_interop import start_node

CHAIN_ID = "interop-grpc-web"
LEDGER = "/healthledger.v1.Ledger"
TIMEOUT = 15.0
UNAUTHENTICATED = 16
UNIMPLEMENTED = 12


@pytest.fixture(scope="module")
def node(healthledger, tmp_path_factory, request):
    """`healthledger serve` over TLS with its development CA and the embedded dashboard (the default)."""
    running = start_node(healthledger, tmp_path_factory.mktemp("grpc-web-node"), tls=True, request=request,
                         chain_id=CHAIN_ID)
    return running.server, running.ca_file


@dataclass
class Response:
    """One HTTP/2 response as h2 delivered it."""

    headers: dict = field(default_factory=dict)
    body: bytes = b""
    trailers: dict = field(default_factory=dict)
    ended: bool = False
    reset: bool = False

    @property
    def status(self) -> int:
        return int(self.headers[":status"])


class H2Client:
    """A TLS HTTP/2 connection to the node, driven by h2 (bytes in, events out)."""

    def __init__(self, port: int, ca_file: Path):
        context = ssl.create_default_context(cafile=str(ca_file))
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.socket = context.wrap_socket(raw, server_hostname="localhost")
        assert self.socket.selected_alpn_protocol() == "h2"
        self.connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.connection.initiate_connection()
        self.responses: dict[int, Response] = {}
        self._flush()

    def _flush(self):
        data = self.connection.data_to_send()
        if data:
            self.socket.sendall(data)

    def start(self, method: str, path: str, headers=(), body: bytes = b"") -> int:
        """Sends a request (the body in one go, END_STREAM after it); returns its stream id."""
        stream_id = self.connection.get_next_available_stream_id()
        fields = [(":method", method), (":scheme", "https"), (":authority", "localhost"), (":path", path),
                  *headers]
        self.connection.send_headers(stream_id, fields, end_stream=not body)
        if body:
            self.connection.send_data(stream_id, body, end_stream=True)
        self.responses[stream_id] = Response()
        self._flush()
        return stream_id

    def read_until(self, stream_id: int, done) -> Response:
        """Processes frames until `done(response)` holds for the stream; fails after TIMEOUT seconds."""
        response = self.responses[stream_id]
        deadline = time.monotonic() + TIMEOUT
        while not done(response):
            assert time.monotonic() < deadline, f"stream {stream_id} got no further than {response}"
            data = self.socket.recv(65536)
            assert data, "the node closed the connection"
            for event in self.connection.receive_data(data):
                target = self.responses.get(getattr(event, "stream_id", None))
                if isinstance(event, h2.events.ResponseReceived):
                    target.headers.update(dict(event.headers))
                elif isinstance(event, h2.events.DataReceived):
                    target.body += event.data
                    self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    target.trailers.update(dict(event.headers))
                elif isinstance(event, h2.events.StreamEnded):
                    target.ended = True
                elif isinstance(event, h2.events.StreamReset):
                    target.reset = True
            self._flush()
        return response

    def exchange(self, method: str, path: str, headers=(), body: bytes = b"") -> Response:
        stream_id = self.start(method, path, headers, body)
        return self.read_until(stream_id, lambda response: response.ended or response.reset)

    def cancel(self, stream_id: int):
        self.connection.reset_stream(stream_id)
        self._flush()

    def close(self):
        self.connection.close_connection()
        self._flush()
        self.socket.close()


@pytest.fixture
def client(node):
    server, ca_file = node
    connection = H2Client(server.port, ca_file)
    yield connection
    connection.close()


def grpc_web_request(message, text: bool = False) -> tuple[list, bytes]:
    """Headers and body of a gRPC-Web call carrying `message`, as a browser's fetch sends them (no te)."""
    payload = message.SerializeToString()
    body = b"\x00" + len(payload).to_bytes(4, "big") + payload
    content_type = "application/grpc-web-text" if text else "application/grpc-web+proto"
    headers = [("content-type", content_type), ("x-grpc-web", "1"), ("accept", content_type)]
    return headers, base64.b64encode(body) if text else body


def parse_grpc_web(body: bytes, text: bool = False) -> tuple[list[bytes], dict]:
    """Messages and trailers of a gRPC-Web body. The text form may be several padded base64 chunks back to
    back, so it is decoded a 4-character quantum at a time."""
    if text:
        assert len(body) % 4 == 0, f"text body of {len(body)} characters is not whole base64 quanta"
        body = b"".join(base64.b64decode(body[i:i + 4], validate=True) for i in range(0, len(body), 4))
    messages, trailers, offset = [], None, 0
    while offset < len(body):
        assert trailers is None, "a frame followed the trailer frame"
        assert len(body) - offset >= 5, "a frame header is cut short"
        flag, length = body[offset], int.from_bytes(body[offset + 1:offset + 5], "big")
        payload = body[offset + 5:offset + 5 + length]
        assert len(payload) == length, "a frame is cut short"
        if flag & 0x80:
            trailers = {}
            for line in payload.decode().split("\r\n"):
                if line:
                    name, _, value = line.partition(":")
                    assert name == name.lower(), f"trailer name {name!r} is not lower-case"
                    trailers[name] = value.strip()
        else:
            assert flag == 0, "compressed message without a negotiated encoding"
            messages.append(payload)
        offset += 5 + length
    return messages, trailers


def test_get_chain_head_over_grpc_web_binary(client, protos):
    """A public unary call as a browser makes it: 200, the gRPC-Web content type, the message, and the status
    in a trailer frame in the body, with no HTTP/2 trailers."""
    request = protos.message_classes["healthledger.v1.GetChainHeadRequest"]()
    headers, body = grpc_web_request(request)
    response = client.exchange("POST", f"{LEDGER}/GetChainHead", headers, body)
    assert response.status == 200
    assert response.headers["content-type"] == "application/grpc-web+proto"
    assert not response.trailers, "gRPC-Web responses end with a trailer frame, not HTTP/2 trailers"
    messages, trailers = parse_grpc_web(response.body)
    assert trailers["grpc-status"] == "0", trailers
    head = protos.message_classes["healthledger.v1.GetChainHeadResponse"].FromString(messages[0])
    assert head.chain_id == CHAIN_ID
    assert len(messages) == 1


def test_get_chain_head_over_grpc_web_text(client, protos):
    """The text format: a base64 request, a base64 response that decodes to the same framing."""
    request = protos.message_classes["healthledger.v1.GetChainHeadRequest"]()
    headers, body = grpc_web_request(request, text=True)
    response = client.exchange("POST", f"{LEDGER}/GetChainHead", headers, body)
    assert response.status == 200
    assert response.headers["content-type"] == "application/grpc-web-text+proto"
    messages, trailers = parse_grpc_web(response.body, text=True)
    assert trailers["grpc-status"] == "0"
    assert protos.message_classes["healthledger.v1.GetChainHeadResponse"].FromString(messages[0]).chain_id == CHAIN_ID


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
def test_audit_stream_without_a_session_is_denied_in_a_trailer_frame(client, protos, text):
    """AuditStream needs a session: without one the browser reads UNAUTHENTICATED and its message from the
    trailer frame (headers then body, not Trailers-Only)."""
    request = protos.message_classes["healthledger.v1.AuditStreamRequest"](
        patient="hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8", start_sequence=1, follow=True)
    headers, body = grpc_web_request(request, text=text)
    response = client.exchange("POST", f"{LEDGER}/AuditStream", headers, body)
    assert response.status == 200
    assert "grpc-status" not in response.headers
    messages, trailers = parse_grpc_web(response.body, text=text)
    assert messages == []
    assert trailers["grpc-status"] == str(UNAUTHENTICATED), trailers
    assert trailers.get("grpc-message"), "a denial says why"


def test_unknown_method_is_unimplemented(client, protos):
    headers, body = grpc_web_request(protos.message_classes["healthledger.v1.GetChainHeadRequest"]())
    response = client.exchange("POST", f"{LEDGER}/NoSuchMethod", headers, body)
    _, trailers = parse_grpc_web(response.body)
    assert trailers["grpc-status"] == str(UNIMPLEMENTED)


def test_a_following_stream_delivers_messages_while_it_is_open(client, protos):
    """GetBlocks with follow never ends by itself: the genesis block arriving proves frames are flushed as
    written (what keeps the dashboard's live audit view live), then the client cancels."""
    request = protos.message_classes["healthledger.v1.GetBlocksRequest"](start_height=1, follow=True)
    headers, body = grpc_web_request(request)
    stream_id = client.start("POST", f"{LEDGER}/GetBlocks", headers, body)

    def has_a_message(response):
        return len(response.body) >= 5 and len(response.body) >= 5 + int.from_bytes(response.body[1:5], "big")

    response = client.read_until(stream_id, has_a_message)
    assert not response.ended, "the follow stream ended instead of staying open"
    length = int.from_bytes(response.body[1:5], "big")
    assert response.body[0] == 0
    block = protos.message_classes["healthledger.v1.GetBlocksResponse"].FromString(response.body[5:5 + length])
    assert block.HasField("block")
    client.cancel(stream_id)


def test_dashboard_is_served_with_its_headers(client):
    """GET / is the embedded index.html with a strong SHA-256 ETag, a strict CSP and no sniffing; the same ETag
    in If-None-Match is 304; HEAD has the head alone; an unknown path is 404."""
    page = client.exchange("GET", "/")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.body.lstrip().lower().startswith(b"<!doctype html")
    assert page.headers["etag"] == '"' + hashlib.sha256(page.body).hexdigest() + '"'
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert client.exchange("GET", "/", [("if-none-match", page.headers["etag"])]).status == 304
    head = client.exchange("HEAD", "/index.html")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(page.body))
    missing = client.exchange("GET", "/no-such-file.js")
    assert missing.status == 404
    assert client.exchange("DELETE", "/").status == 405


def test_dashboard_files_gzip_when_accepted(client):
    page = client.exchange("GET", "/", [("accept-encoding", "gzip, deflate, br")])
    if page.headers.get("content-encoding") == "gzip":
        import gzip
        plain = client.exchange("GET", "/")
        assert gzip.decompress(page.body) == plain.body
        assert page.headers["etag"] != plain.headers["etag"]
    else:
        assert len(page.body) <= 256, "a page worth compressing was not compressed"
