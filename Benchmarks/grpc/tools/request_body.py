"""Writes an h2load request body: one gRPC Length-Prefixed-Message carrying an EchoRequest.

The frame is 1 byte compressed-flag (0), 4 bytes big-endian message length, then the message
(https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md), encoded by the official
Python protobuf runtime so the body is exactly what a real client sends.

Usage: request_body.py --generated DIR --payload BYTES --out FILE
"""

import argparse
import struct
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", required=True)
    parser.add_argument("--payload", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.generated)
    import echo_pb2

    message = echo_pb2.EchoRequest(payload=b"\x5a" * args.payload).SerializeToString()
    with open(args.out, "wb") as body:
        body.write(struct.pack(">BI", 0, len(message)) + message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
