#!/usr/bin/env python3
"""Writes seed inputs for fuzz-server-connection: the bytes real clients send on one connection.

grpcio (the C-core client) makes one call per connection to a recording HTTP/2 server (python h2) that answers
every call with UNIMPLEMENTED; what the client sent is one seed. A few seeds the h2 library writes as a client
cover what grpcio never sends: gRPC-Web, a GET, a call split into many DATA frames.

Run from the repository root: .venv/bin/python Fuzz/capture-server-seeds.py
"""

import os
import socket
import threading

import grpc
import h2.config
import h2.connection
import h2.events

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus", "fuzz-server-connection")


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def grpc_frame(message, compressed=False):
    return bytes([1 if compressed else 0]) + len(message).to_bytes(4, "big") + message


class RecordingServer:
    """Accepts connections, answers each call trailers-only UNIMPLEMENTED and keeps every byte received."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.received = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            connection, _ = self.listener.accept()
            record = bytearray()
            self.received.append(record)
            threading.Thread(target=self.answer, args=(connection, record), daemon=True).start()

    @staticmethod
    def answer(connection, record):
        session = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        session.initiate_connection()
        connection.sendall(session.data_to_send())
        while True:
            data = connection.recv(65536)
            if not data:
                return
            record.extend(data)
            for event in session.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    session.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if isinstance(event, h2.events.StreamEnded):
                    session.send_headers(
                        event.stream_id,
                        [(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "12")],
                        end_stream=True,
                    )
            connection.sendall(session.data_to_send())


def grpcio_call(server, name, method, request, kind="unary", compression=None, metadata=None):
    before = len(server.received)
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        try:
            if kind == "unary":
                channel.unary_unary(method)(request, timeout=2, compression=compression, metadata=metadata)
            elif kind == "server-stream":
                list(channel.unary_stream(method)(request, timeout=2, compression=compression, metadata=metadata))
            elif kind == "client-stream":
                channel.stream_unary(method)(iter(request), timeout=2, compression=compression, metadata=metadata)
            else:
                list(channel.stream_stream(method)(iter(request), timeout=2, metadata=metadata))
        except grpc.RpcError:
            pass
    for _ in range(100):
        if len(server.received) > before:
            break
        threading.Event().wait(0.01)
    threading.Event().wait(0.1)
    write(name, bytes(server.received[before]))


def h2_client_bytes(requests):
    """The bytes an h2 client sends for `requests`: (headers, body chunks, end) each on its own stream."""
    session = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    session.initiate_connection()
    for headers, chunks in requests:
        stream = session.get_next_available_stream_id()
        session.send_headers(stream, headers, end_stream=not chunks)
        for index, chunk in enumerate(chunks):
            session.send_data(stream, chunk, end_stream=index == len(chunks) - 1)
    return session.data_to_send()


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as file:
        file.write(data)


def grpc_headers(method, content_type="application/grpc"):
    return [
        (":method", "POST"), (":scheme", "http"), (":path", method), (":authority", "localhost"),
        ("content-type", content_type), ("te", "trailers"),
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    server = RecordingServer()
    ledger = "/healthledger.v1.Ledger/"
    grpcio_call(server, "grpcio-get-chain-head", ledger + "GetChainHead", b"")
    grpcio_call(server, "grpcio-get-checkpoint", ledger + "GetCheckpoint", b"")
    grpcio_call(server, "grpcio-get-inclusion-proof", ledger + "GetInclusionProof", field_varint(1, 0))
    grpcio_call(server, "grpcio-get-consistency-proof", ledger + "GetConsistencyProof",
                field_varint(1, 1) + field_varint(2, 1))
    grpcio_call(server, "grpcio-get-blocks", ledger + "GetBlocks", field_varint(1, 0) + field_varint(2, 1),
                kind="server-stream")
    grpcio_call(server, "grpcio-create-session-challenge", ledger + "CreateSessionChallenge",
                field_bytes(1, b"hl1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"))
    grpcio_call(server, "grpcio-query-with-session", ledger + "Query",
                field_bytes(1, b"hl1patient") + field_varint(2, 1), kind="server-stream",
                metadata=[("authorization", "Bearer c2Vzc2lvbi10b2tlbg")])
    grpcio_call(server, "grpcio-grant-gzip", ledger + "Grant", field_bytes(1, b"\x0a\x02hl" * 8),
                compression=grpc.Compression.Gzip)
    grpcio_call(server, "grpcio-write-stream", ledger + "Write", [field_bytes(1, b"\x0a\x00"), field_bytes(2, b"x" * 40)],
                kind="client-stream")
    grpcio_call(server, "grpcio-get-principal", ledger + "GetPrincipal", field_bytes(1, b"hl1x"))
    grpcio_call(server, "grpcio-health-check", "/grpc.health.v1.Health/Check",
                field_bytes(1, b"healthledger.v1.Ledger"))
    grpcio_call(server, "grpcio-reflection-list", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                [field_bytes(7, b"*")], kind="bidi")
    grpcio_call(server, "grpcio-reflection-file", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                [field_bytes(4, b"healthledger.v1.Ledger")], kind="bidi")

    write("h2-grpc-web-get-chain-head", h2_client_bytes(
        [(grpc_headers(ledger + "GetChainHead", "application/grpc-web+proto"), [grpc_frame(b"")])]))
    write("h2-get-root", h2_client_bytes(
        [([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost")], [])]))
    write("h2-options-preflight", h2_client_bytes(
        [([(":method", "OPTIONS"), (":scheme", "http"), (":path", ledger + "GetChainHead"),
           (":authority", "localhost"), ("origin", "https://example.org"),
           ("access-control-request-method", "POST")], [])]))
    message = grpc_frame(field_varint(1, 0) + field_varint(2, 3))
    write("h2-split-data-frames", h2_client_bytes(
        [(grpc_headers(ledger + "GetBlocks"), [message[i:i + 3] for i in range(0, len(message), 3)])]))
    write("h2-three-calls", h2_client_bytes(
        [(grpc_headers(ledger + "GetChainHead"), [grpc_frame(b"")]),
         (grpc_headers("/grpc.health.v1.Health/Check"), [grpc_frame(b"")]),
         (grpc_headers(ledger + "Unknown"), [grpc_frame(b"")])]))
    write("h2-timeout-header", h2_client_bytes(
        [(grpc_headers(ledger + "GetCheckpoint") + [("grpc-timeout", "1m"), ("grpc-accept-encoding", "gzip")],
          [grpc_frame(b"")])]))


if __name__ == "__main__":
    main()
