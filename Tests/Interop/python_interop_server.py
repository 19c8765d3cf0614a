"""A grpcio grpc.testing.TestService server following the "Server" part of gRPC's
doc/interop-test-descriptions.md, for running our Swift interop-client against an implementation we did
not write.

    python_interop_server.py --port 0 [--host 127.0.0.1] [--use_tls --tls_cert_file PEM --tls_key_file PEM]
        [--protos_dir DIR]

Prints "listening on port N" as its first line; SIGTERM or SIGINT stops it gracefully with exit status 0.

Features: EmptyCall, UnaryCall, StreamingInputCall, StreamingOutputCall, FullDuplexCall, HalfDuplexCall,
CompressedResponse (per call, and per message with disable_next_message_compression), Echo Status, Echo
Metadata, interval_us. Not CompressedRequest: grpcio does not tell a servicer whether a request message
arrived compressed, so expect_compressed is not checked (grpc's own Python interop server skips it too).
UnimplementedCall is left to the generated base class, which answers UNIMPLEMENTED.
"""

import argparse
import signal
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import grpc  # noqa: E402

import interop_test_protos  # noqa: E402

INITIAL_METADATA_KEY = "x-grpc-test-echo-initial"
TRAILING_METADATA_KEY = "x-grpc-test-echo-trailing-bin"


def status_code(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def make_servicer(messages_pb2, empty_pb2, test_pb2_grpc):
    """The servicer class, built once the generated modules are imported."""

    def echo_metadata(context):
        received = context.invocation_metadata()
        initial = tuple((key, value) for key, value in received if key == INITIAL_METADATA_KEY)
        trailing = tuple((key, value) for key, value in received if key == TRAILING_METADATA_KEY)
        if initial:
            context.send_initial_metadata(initial)
        if trailing:
            context.set_trailing_metadata(trailing)

    def end_with_echoed_status(request, context):
        if request.HasField("response_status") and request.response_status.code != 0:
            context.abort(status_code(request.response_status.code), request.response_status.message)

    def payload(size):
        return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=b"\x00" * size)

    def stream_responses(request, context):
        for parameters in request.response_parameters:
            if parameters.interval_us > 0:
                time.sleep(parameters.interval_us / 1_000_000)
            if parameters.HasField("compressed") and not parameters.compressed.value:
                context.disable_next_message_compression()
            yield messages_pb2.StreamingOutputCallResponse(payload=payload(parameters.size))

    def wants_compression(request):
        return any(p.HasField("compressed") and p.compressed.value for p in request.response_parameters)

    class TestService(test_pb2_grpc.TestServiceServicer):
        def EmptyCall(self, request, context):
            echo_metadata(context)
            return empty_pb2.Empty()

        def UnaryCall(self, request, context):
            echo_metadata(context)
            end_with_echoed_status(request, context)
            if request.response_type != messages_pb2.COMPRESSABLE:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported response_type {request.response_type}")
            if request.HasField("response_compressed"):
                context.set_compression(grpc.Compression.Gzip if request.response_compressed.value
                                        else grpc.Compression.NoCompression)
            return messages_pb2.SimpleResponse(payload=payload(request.response_size))

        def CacheableUnaryCall(self, request, context):
            context.send_initial_metadata((("cache-control", "max-age=60, public"),))
            return messages_pb2.SimpleResponse(payload=messages_pb2.Payload(body=str(time.time_ns()).encode()))

        def StreamingOutputCall(self, request, context):
            echo_metadata(context)
            end_with_echoed_status(request, context)
            if wants_compression(request):
                context.set_compression(grpc.Compression.Gzip)
            yield from stream_responses(request, context)

        def StreamingInputCall(self, request_iterator, context):
            echo_metadata(context)
            total = sum(len(request.payload.body) for request in request_iterator)
            return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

        def FullDuplexCall(self, request_iterator, context):
            echo_metadata(context)
            for request in request_iterator:
                end_with_echoed_status(request, context)
                yield from stream_responses(request, context)

        def HalfDuplexCall(self, request_iterator, context):
            echo_metadata(context)
            for request in list(request_iterator):
                end_with_echoed_status(request, context)
                yield from stream_responses(request, context)

    return TestService


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--use_tls", nargs="?", const="true", default="false", choices=("true", "false"))
    parser.add_argument("--tls_cert_file")
    parser.add_argument("--tls_key_file")
    parser.add_argument("--protos_dir", help="where the generated grpc.testing modules are (made if missing)")
    args = parser.parse_args(argv)
    args.use_tls = args.use_tls == "true"
    if args.use_tls and not (args.tls_cert_file and args.tls_key_file):
        parser.error("--use_tls needs --tls_cert_file and --tls_key_file")
    return args


def main(argv) -> int:
    args = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="interop-server-protos-") as scratch:
        empty_pb2, messages_pb2, test_pb2_grpc = interop_test_protos.load(Path(args.protos_dir or scratch))
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        test_pb2_grpc.add_TestServiceServicer_to_server(make_servicer(messages_pb2, empty_pb2, test_pb2_grpc)(),
                                                        server)
        address = f"{args.host}:{args.port}"
        if args.use_tls:
            credentials = grpc.ssl_server_credentials(
                [(Path(args.tls_key_file).read_bytes(), Path(args.tls_cert_file).read_bytes())])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
        server.start()
        stopping = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stopping.set())
        print(f"listening on port {port}", flush=True)
        while not stopping.wait(0.2):
            pass
        server.stop(grace=2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
