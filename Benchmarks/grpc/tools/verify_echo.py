"""Checks with a real gRPC client (grpcio) that an Echo server answers correctly.

h2load counts any HTTP 200 as a success, even when the gRPC call failed in its trailers, so
every benchmark run is preceded by this check: Unary with 0 B and 1 KiB payloads must come back
with grpc-status 0 and the same bytes, and ServerStream must deliver the requested messages.

Usage: verify_echo.py --target 127.0.0.1:PORT --generated DIR
(DIR holds echo_pb2.py / echo_pb2_grpc.py made by grpc_tools.protoc from echo.proto.)
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--generated", required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.generated)

    import grpc
    import echo_pb2
    import echo_pb2_grpc

    with grpc.insecure_channel(args.target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = echo_pb2_grpc.EchoStub(channel)
        for size in (0, 1024):
            payload = bytes(range(256)) * (size // 256)
            response, call = stub.Unary.with_call(echo_pb2.EchoRequest(payload=payload), timeout=10)
            if call.code() != grpc.StatusCode.OK:
                print(f"verify: Unary({size} B) returned {call.code()}", file=sys.stderr)
                return 1
            if response.payload != payload:
                print(f"verify: Unary({size} B) echoed {len(response.payload)} different bytes", file=sys.stderr)
                return 1
        stream = stub.ServerStream(echo_pb2.StreamRequest(message_count=5, payload_size=16), timeout=10)
        sizes = [len(message.payload) for message in stream]
        if stream.code() != grpc.StatusCode.OK or sizes != [16] * 5:
            print(f"verify: ServerStream gave {stream.code()} and message sizes {sizes}", file=sys.stderr)
            return 1
    print(f"verify: {args.target} OK (Unary 0 B and 1 KiB echoed with grpc-status 0; ServerStream 5 messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
