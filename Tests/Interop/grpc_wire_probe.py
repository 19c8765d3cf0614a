"""One gRPC call made frame by frame with the pure-Python h2 library, for what grpcio cannot do: read the
Compressed-Flag of each response message, and choose it per request message (PROTOCOL-HTTP2.md,
Length-Prefixed-Message). grpcio decompresses before handing messages over and compresses a whole call or
nothing, so the interop assertions about the flag need this."""

import gzip
import socket
import ssl
import struct
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.settings


@dataclass
class TLSOptions:
    """How the probe connects over TLS: the CA to trust and the name to verify (and send as SNI)."""

    ca_file: str
    server_name: str


@dataclass
class ProbeResult:
    """What came back: headers, each message as (compressed flag, decompressed bytes), status and trailers."""

    headers: dict[str, str] = field(default_factory=dict)
    messages: list[tuple[bool, bytes]] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    reset_code: int | None = None

    @property
    def status(self) -> int | None:
        """grpc-status from the trailers, or from the headers of a Trailers-Only response."""
        value = self.trailers.get("grpc-status", self.headers.get("grpc-status"))
        return int(value) if value is not None else None

    @property
    def flags(self) -> list[bool]:
        return [compressed for compressed, _ in self.messages]


class ProbeError(Exception):
    """The call could not be completed at the HTTP/2 level (connection refused, reset, timeout)."""


def frame_message(message: bytes, compress: bool) -> bytes:
    """A Length-Prefixed-Message: flag byte, 4-byte big-endian length, the (gzip-compressed) message."""
    payload = gzip.compress(message) if compress else message
    return struct.pack(">BI", 1 if compress else 0, len(payload)) + payload


def parse_messages(body: bytes, encoding: str) -> list[tuple[bool, bytes]]:
    """Splits a response body into messages, decompressing those with the flag set."""
    messages = []
    position = 0
    while position < len(body):
        if len(body) - position < 5:
            raise ProbeError(f"response body ends inside a message prefix at byte {position}")
        flag, length = struct.unpack_from(">BI", body, position)
        position += 5
        payload = body[position:position + length]
        if len(payload) != length:
            raise ProbeError(f"response body ends inside a {length}-byte message")
        position += length
        if flag:
            if encoding != "gzip":
                raise ProbeError(f"compressed flag set with grpc-encoding {encoding!r}")
            payload = gzip.decompress(payload)
        messages.append((bool(flag), payload))
    return messages


def call(host: str, port: int, path: str, requests: list[tuple[bytes, bool]], *, tls: TLSOptions | None = None,
         metadata: tuple[tuple[str, str], ...] = (), timeout: float = 10.0,
         silent_receive_window: int | None = None) -> ProbeResult:
    """Makes one call of `path` sending `requests` as (serialized message, compress?) and half-closing.

    With `silent_receive_window`, the stream and connection receive windows are opened that wide up front
    and received DATA is never acknowledged: once the request is sent the probe sends nothing at all, as a
    client with large windows may, so the server gets no inbound bytes to wake it while it answers."""
    deadline = time.monotonic() + timeout
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        authority = f"{host}:{port}"
        if tls is not None:
            context = ssl.create_default_context(cafile=tls.ca_file)
            context.set_alpn_protocols(["h2"])
            sock = context.wrap_socket(sock, server_hostname=tls.server_name)
            if sock.selected_alpn_protocol() != "h2":
                raise ProbeError(f"ALPN selected {sock.selected_alpn_protocol()!r}, not h2")
            authority = f"{tls.server_name}:{port}"
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        connection.initiate_connection()
        if silent_receive_window is not None:
            connection.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: silent_receive_window})
            connection.increment_flow_control_window(silent_receive_window)
        stream_id = connection.get_next_available_stream_id()
        headers = [(":method", "POST"), (":scheme", "https" if tls else "http"), (":path", path),
                   (":authority", authority), ("content-type", "application/grpc"), ("te", "trailers"),
                   ("grpc-accept-encoding", "gzip")]
        if any(compress for _, compress in requests):
            headers.append(("grpc-encoding", "gzip"))
        headers += list(metadata)
        connection.send_headers(stream_id, headers)
        sock.sendall(connection.data_to_send())
        pending = b"".join(frame_message(message, compress) for message, compress in requests)
        result = ProbeResult()
        body = bytearray()
        ended = False

        def pump_events() -> None:
            nonlocal ended
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except socket.timeout as error:
                raise ProbeError(f"no answer within {timeout} s") from error
            if not data:
                raise ProbeError("the server closed the connection")
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    result.headers = dict(event.headers)
                    if event.stream_ended:
                        ended = True
                elif isinstance(event, h2.events.DataReceived):
                    body.extend(event.data)
                    if silent_receive_window is None:
                        connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    result.trailers = dict(event.headers)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream_id:
                    ended = True
                elif isinstance(event, h2.events.StreamReset) and event.stream_id == stream_id:
                    result.reset_code = event.error_code
                    ended = True
                elif isinstance(event, h2.events.ConnectionTerminated):
                    # h2 closes its state machine on any GOAWAY, even a graceful one that lets our stream finish
                    # (RFC 9113 §6.8), so the probe cannot follow a call across a server shutdown.
                    raise ProbeError(f"GOAWAY {event.error_code} (last stream {event.last_stream_id})")
            if silent_receive_window is None or pending:
                sock.sendall(connection.data_to_send())

        # Send the body as flow control allows, reading window updates (and early answers) meanwhile.
        while pending and not ended:
            window = min(connection.local_flow_control_window(stream_id), connection.max_outbound_frame_size)
            if window <= 0:
                pump_events()
                continue
            chunk, pending = pending[:window], pending[window:]
            connection.send_data(stream_id, chunk)
            sock.sendall(connection.data_to_send())
        if not ended:
            connection.end_stream(stream_id)
            sock.sendall(connection.data_to_send())
        while not ended:
            pump_events()
        result.messages = parse_messages(bytes(body), result.headers.get("grpc-encoding", "identity"))
        return result
    finally:
        sock.close()
