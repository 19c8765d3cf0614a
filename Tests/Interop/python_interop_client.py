"""A grpcio interop client: runs one case of gRPC's doc/interop-test-descriptions.md against a server and
exits 0 when every assertion of the case holds, or 1 with a one-line reason.

    python_interop_client.py --server_port N --test_case large_unary [--server_host 127.0.0.1]
        [--use_tls --ca_file ca.pem --server_host_override localhost] [--protos_dir DIR]

Besides the interop cases it runs `health` (grpc.health.v1 Check and Watch) and `reflection` (grpcio-
reflection's descriptor database resolving TestService). With --worker it runs the cases named on stdin,
one JSON line each, so the interpreter starts once. Either way it is a process apart from pytest, so grpcio,
the upstream health/reflection modules and their descriptor pool never meet the protos the rest of the
suite loads under the same file names. Where grpcio cannot see or choose a message's compressed flag, the case adds
frame-level checks with grpc_wire_probe."""

import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import grpc  # noqa: E402

import grpc_wire_probe  # noqa: E402
import interop_test_protos  # noqa: E402

CALL_TIMEOUT = 10.0
INITIAL_METADATA_KEY = "x-grpc-test-echo-initial"
TRAILING_METADATA_KEY = "x-grpc-test-echo-trailing-bin"
INITIAL_METADATA_VALUE = "test_initial_metadata_value"
TRAILING_METADATA_VALUE = b"\xab\xab\xab"


class CaseFailure(Exception):
    """An assertion of the case did not hold; the message is the reason printed."""


def check(condition: bool, reason: str) -> None:
    if not condition:
        raise CaseFailure(reason)


class RequestQueue:
    """Requests handed to a streaming call one at a time, so a case can wait for a reply before the next."""

    def __init__(self):
        self._condition = threading.Condition()
        self._items = []
        self._closed = False

    def __iter__(self):
        return self

    def __next__(self):
        with self._condition:
            while not self._items and not self._closed:
                self._condition.wait()
            if self._items:
                return self._items.pop(0)
            raise StopIteration

    def add(self, item):
        with self._condition:
            self._items.append(item)
            self._condition.notify()

    def close(self):
        with self._condition:
            self._closed = True
            self._condition.notify()


class Cases:
    """The cases, each a method named after it; assertions follow the descriptions' "Client asserts"."""

    def __init__(self, args, channel, protos):
        self.args = args
        self.channel = channel
        self.empty_pb2, self.messages_pb2, test_pb2_grpc = protos
        self.stub = test_pb2_grpc.TestServiceStub(channel)
        self.unimplemented_stub = test_pb2_grpc.UnimplementedServiceStub(channel)

    # Helpers -----------------------------------------------------------------------------------------

    def zeros(self, size):
        return self.messages_pb2.Payload(body=b"\x00" * size)

    def bool_value(self, value):
        return self.messages_pb2.BoolValue(value=value)

    def expect_code(self, error, code, step):
        check(isinstance(error, grpc.RpcError), f"{step}: expected {code.name}, the call succeeded")
        check(error.code() == code, f"{step}: expected {code.name}, got {error.code().name}: {error.details()!r}")

    def check_payload(self, response, size, step):
        body = response.payload.body
        check(len(body) == size, f"{step}: response payload is {len(body)} bytes, expected {size}")
        check(body == b"\x00" * size, f"{step}: response payload is not all zeros")

    def probe(self, method, requests, metadata=()):
        """A frame-level call of TestService/method (see grpc_wire_probe)."""
        tls = None
        if self.args.use_tls:
            tls = grpc_wire_probe.TLSOptions(self.args.ca_file, self.args.server_host_override or self.args.server_host)
        return grpc_wire_probe.call(self.args.server_host, self.args.server_port, f"/grpc.testing.TestService/{method}",
                                    requests, tls=tls, metadata=metadata, timeout=CALL_TIMEOUT)

    def large_simple_request(self, **fields):
        return self.messages_pb2.SimpleRequest(response_size=314159, payload=self.zeros(271828), **fields)

    # Cases -------------------------------------------------------------------------------------------

    def empty_unary(self):
        response = self.stub.EmptyCall(self.empty_pb2.Empty(), timeout=CALL_TIMEOUT)
        check(isinstance(response, self.empty_pb2.Empty), f"response is a {type(response).__name__}, not Empty")

    def large_unary(self):
        response = self.stub.UnaryCall(self.large_simple_request(), timeout=CALL_TIMEOUT)
        self.check_payload(response, 314159, "UnaryCall")

    def client_streaming(self):
        requests = [self.messages_pb2.StreamingInputCallRequest(payload=self.zeros(size))
                    for size in (27182, 8, 1828, 45904)]
        response = self.stub.StreamingInputCall(iter(requests), timeout=CALL_TIMEOUT)
        check(response.aggregated_payload_size == 74922,
              f"aggregated_payload_size is {response.aggregated_payload_size}, expected 74922")

    def server_streaming(self):
        sizes = (31415, 9, 2653, 58979)
        request = self.messages_pb2.StreamingOutputCallRequest(
            response_parameters=[self.messages_pb2.ResponseParameters(size=size) for size in sizes])
        responses = list(self.stub.StreamingOutputCall(request, timeout=CALL_TIMEOUT))
        check(len(responses) == 4, f"{len(responses)} responses, expected exactly 4")
        for index, (response, size) in enumerate(zip(responses, sizes)):
            self.check_payload(response, size, f"response {index + 1}")

    def ping_pong(self):
        queue = RequestQueue()
        responses = self.stub.FullDuplexCall(queue, timeout=CALL_TIMEOUT)
        count = 0
        try:
            for response_size, payload_size in zip((31415, 9, 2653, 58979), (27182, 8, 1828, 45904)):
                queue.add(self.messages_pb2.StreamingOutputCallRequest(
                    response_parameters=[self.messages_pb2.ResponseParameters(size=response_size)],
                    payload=self.zeros(payload_size)))
                response = next(responses, None)
                check(response is not None, f"the call ended after {count} responses, expected 4")
                count += 1
                self.check_payload(response, response_size, f"response {count}")
        finally:
            queue.close()
        check(next(responses, None) is None, "more than 4 responses")

    def empty_stream(self):
        queue = RequestQueue()
        queue.close()
        responses = list(self.stub.FullDuplexCall(queue, timeout=CALL_TIMEOUT))
        check(responses == [], f"{len(responses)} responses, expected exactly 0")

    def timeout_on_sleeping_server(self):
        queue = RequestQueue()
        responses = self.stub.FullDuplexCall(queue, timeout=0.001)
        queue.add(self.messages_pb2.StreamingOutputCallRequest(payload=self.zeros(27182)))
        try:
            next(responses)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.DEADLINE_EXCEEDED, "FullDuplexCall")
        else:
            raise CaseFailure("FullDuplexCall: a response arrived; expected DEADLINE_EXCEEDED")
        finally:
            queue.close()

    def cancel_after_begin(self):
        queue = RequestQueue()
        future = self.stub.StreamingInputCall.future(queue, timeout=CALL_TIMEOUT)
        future.cancel()
        queue.close()
        check(future.cancelled(), "the call was not cancelled")
        check(future.code() == grpc.StatusCode.CANCELLED, f"status {future.code().name}, expected CANCELLED")

    def cancel_after_first_response(self):
        queue = RequestQueue()
        responses = self.stub.FullDuplexCall(queue, timeout=CALL_TIMEOUT)
        queue.add(self.messages_pb2.StreamingOutputCallRequest(
            response_parameters=[self.messages_pb2.ResponseParameters(size=31415)], payload=self.zeros(27182)))
        first = next(responses, None)
        check(first is not None, "no first response")
        responses.cancel()
        queue.close()
        try:
            next(responses)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.CANCELLED, "FullDuplexCall")
        else:
            raise CaseFailure("a second response arrived after cancelling")
        check(responses.code() == grpc.StatusCode.CANCELLED, f"status {responses.code().name}, expected CANCELLED")

    def status_code_and_message(self):
        status = self.messages_pb2.EchoStatus(code=2, message="test status message")
        try:
            self.stub.UnaryCall(self.messages_pb2.SimpleRequest(response_status=status), timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.UNKNOWN, "UnaryCall")
            check(error.details() == status.message, f"UnaryCall: message {error.details()!r}")
        else:
            raise CaseFailure("UnaryCall succeeded; expected code 2")
        queue = RequestQueue()
        responses = self.stub.FullDuplexCall(queue, timeout=CALL_TIMEOUT)
        queue.add(self.messages_pb2.StreamingOutputCallRequest(response_status=status))
        queue.close()
        try:
            list(responses)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.UNKNOWN, "FullDuplexCall")
            check(error.details() == status.message, f"FullDuplexCall: message {error.details()!r}")
        else:
            raise CaseFailure("FullDuplexCall succeeded; expected code 2")

    def special_status_message(self):
        message = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
        request = self.messages_pb2.SimpleRequest(response_status=self.messages_pb2.EchoStatus(code=2, message=message))
        try:
            self.stub.UnaryCall(request, timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.UNKNOWN, "UnaryCall")
            check(error.details() == message, f"message {error.details()!r}, expected {message!r}")
        else:
            raise CaseFailure("UnaryCall succeeded; expected code 2")

    def custom_metadata(self):
        metadata = ((INITIAL_METADATA_KEY, INITIAL_METADATA_VALUE), (TRAILING_METADATA_KEY, TRAILING_METADATA_VALUE))

        def check_echo(call, step):
            initial = dict(call.initial_metadata())
            trailing = dict(call.trailing_metadata())
            check(initial.get(INITIAL_METADATA_KEY) == INITIAL_METADATA_VALUE,
                  f"{step}: initial metadata {INITIAL_METADATA_KEY} = {initial.get(INITIAL_METADATA_KEY)!r}")
            check(trailing.get(TRAILING_METADATA_KEY) == TRAILING_METADATA_VALUE,
                  f"{step}: trailing metadata {TRAILING_METADATA_KEY} = {trailing.get(TRAILING_METADATA_KEY)!r}")

        response, call = self.stub.UnaryCall.with_call(self.large_simple_request(), metadata=metadata,
                                                        timeout=CALL_TIMEOUT)
        self.check_payload(response, 314159, "UnaryCall")
        check_echo(call, "UnaryCall")
        queue = RequestQueue()
        responses = self.stub.FullDuplexCall(queue, metadata=metadata, timeout=CALL_TIMEOUT)
        queue.add(self.messages_pb2.StreamingOutputCallRequest(
            response_parameters=[self.messages_pb2.ResponseParameters(size=314159)], payload=self.zeros(271828)))
        queue.close()
        received = list(responses)
        check(len(received) == 1, f"FullDuplexCall: {len(received)} responses, expected 1")
        self.check_payload(received[0], 314159, "FullDuplexCall")
        check_echo(responses, "FullDuplexCall")

    def unimplemented_method(self):
        try:
            self.stub.UnimplementedCall(self.empty_pb2.Empty(), timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.UNIMPLEMENTED, "TestService/UnimplementedCall")
        else:
            raise CaseFailure("TestService/UnimplementedCall succeeded")

    def unimplemented_service(self):
        try:
            self.unimplemented_stub.UnimplementedCall(self.empty_pb2.Empty(), timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.UNIMPLEMENTED, "UnimplementedService/UnimplementedCall")
        else:
            raise CaseFailure("UnimplementedService/UnimplementedCall succeeded")

    def client_compressed_unary(self):
        try:
            self.stub.UnaryCall(self.large_simple_request(expect_compressed=self.bool_value(True)),
                                compression=grpc.Compression.NoCompression, timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.INVALID_ARGUMENT, "probe (uncompressed, expect_compressed)")
        else:
            raise CaseFailure("probe (uncompressed, expect_compressed=true) succeeded; expected INVALID_ARGUMENT")
        response = self.stub.UnaryCall(self.large_simple_request(expect_compressed=self.bool_value(True)),
                                       compression=grpc.Compression.Gzip, timeout=CALL_TIMEOUT)
        self.check_payload(response, 314159, "compressed call")
        response = self.stub.UnaryCall(self.large_simple_request(expect_compressed=self.bool_value(False)),
                                       compression=grpc.Compression.NoCompression, timeout=CALL_TIMEOUT)
        self.check_payload(response, 314159, "uncompressed call")

    def server_compressed_unary(self):
        for compressed in (True, False):
            request = self.large_simple_request(response_compressed=self.bool_value(compressed))
            response = self.stub.UnaryCall(request, timeout=CALL_TIMEOUT)
            self.check_payload(response, 314159, f"response_compressed={compressed}")
            # grpcio hides the flag: read it off the wire.
            result = self.probe("UnaryCall", [(request.SerializeToString(), False)])
            check(result.status == 0, f"response_compressed={compressed} (wire): status {result.status}")
            check(result.flags == [compressed],
                  f"response_compressed={compressed}: compressed flags on the wire {result.flags}")
            wire_response = self.messages_pb2.SimpleResponse.FromString(result.messages[0][1])
            self.check_payload(wire_response, 314159, f"response_compressed={compressed} (wire)")

    def client_compressed_streaming(self):
        probe = self.messages_pb2.StreamingInputCallRequest(expect_compressed=self.bool_value(True),
                                                            payload=self.zeros(27182))
        try:
            self.stub.StreamingInputCall(iter([probe]), compression=grpc.Compression.NoCompression,
                                         timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.INVALID_ARGUMENT, "probe (uncompressed, expect_compressed)")
        else:
            raise CaseFailure("probe (uncompressed, expect_compressed=true) succeeded; expected INVALID_ARGUMENT")
        # One call, the first message compressed and the second not: grpcio compresses all or none of a
        # call's messages, so the call is made frame by frame.
        second = self.messages_pb2.StreamingInputCallRequest(expect_compressed=self.bool_value(False),
                                                             payload=self.zeros(45904))
        result = self.probe("StreamingInputCall", [(probe.SerializeToString(), True),
                                                   (second.SerializeToString(), False)])
        check(result.status == 0, f"compressed+uncompressed call: status {result.status} "
                                  f"{result.trailers.get('grpc-message', result.headers.get('grpc-message'))!r}")
        check(len(result.messages) == 1, f"{len(result.messages)} responses, expected 1")
        response = self.messages_pb2.StreamingInputCallResponse.FromString(result.messages[0][1])
        check(response.aggregated_payload_size == 73086,
              f"aggregated_payload_size is {response.aggregated_payload_size}, expected 73086")

    def server_compressed_streaming(self):
        request = self.messages_pb2.StreamingOutputCallRequest(response_parameters=[
            self.messages_pb2.ResponseParameters(compressed=self.bool_value(True), size=31415),
            self.messages_pb2.ResponseParameters(compressed=self.bool_value(False), size=92653)])
        responses = list(self.stub.StreamingOutputCall(request, timeout=CALL_TIMEOUT))
        check(len(responses) == 2, f"{len(responses)} responses, expected exactly 2")
        self.check_payload(responses[0], 31415, "response 1")
        self.check_payload(responses[1], 92653, "response 2")
        result = self.probe("StreamingOutputCall", [(request.SerializeToString(), False)])
        check(result.status == 0, f"wire call: status {result.status}")
        check(result.flags == [True, False], f"compressed flags on the wire {result.flags}, expected [True, False]")

    # Not from the descriptions -----------------------------------------------------------------------

    def very_large_unary(self):
        """large_unary with 3 MB each way: more than a transport buffers per write round (1 MiB for ours)."""
        request = self.messages_pb2.SimpleRequest(response_size=3_000_000, payload=self.zeros(3_000_000))
        response = self.stub.UnaryCall(request, timeout=CALL_TIMEOUT)
        self.check_payload(response, 3_000_000, "UnaryCall")

    def drain_on_shutdown(self):
        """A streaming call that must survive the server's graceful shutdown: prints "first response" once
        the first of three (300 ms apart) arrives, so the caller can stop the server then; the call must still
        end with OK and all three."""
        request = self.messages_pb2.StreamingOutputCallRequest(response_parameters=[
            self.messages_pb2.ResponseParameters(size=10, interval_us=300_000) for _ in range(3)])
        responses = self.stub.StreamingOutputCall(request, timeout=CALL_TIMEOUT)
        received = [next(responses)]
        print("first response", flush=True)
        received += list(responses)
        check(len(received) == 3, f"{len(received)} responses, expected 3")
        check(responses.code() == grpc.StatusCode.OK, f"status {responses.code().name}")

    # Standard services -------------------------------------------------------------------------------

    def health(self):
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self.channel)
        serving = health_pb2.HealthCheckResponse.SERVING
        for service in ("", "grpc.testing.TestService"):
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=CALL_TIMEOUT)
            check(response.status == serving, f"Check({service!r}): {response.status}, expected SERVING")
        try:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            self.expect_code(error, grpc.StatusCode.NOT_FOUND, "Check('no.such.Service')")
        else:
            raise CaseFailure("Check of an unknown service succeeded; expected NOT_FOUND")
        for service, expected in (("grpc.testing.TestService", serving),
                                  ("no.such.Service", health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)):
            watch = stub.Watch(health_pb2.HealthCheckRequest(service=service), timeout=CALL_TIMEOUT)
            first = next(watch, None)
            check(first is not None and first.status == expected,
                  f"Watch({service!r}): first update {first}, expected {expected}")
            watch.cancel()

    def reflection(self):
        from google.protobuf.descriptor_pool import DescriptorPool
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

        database = ProtoReflectionDescriptorDatabase(self.channel)
        services = set(database.get_services())
        for name in ("grpc.testing.TestService", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"):
            check(name in services, f"list_services lacks {name}: {sorted(services)}")
        pool = DescriptorPool(database)
        service = pool.FindServiceByName("grpc.testing.TestService")
        check(service.file.name == "grpc/testing/test.proto", f"TestService is in {service.file.name}")
        unary = service.methods_by_name.get("UnaryCall")
        check(unary is not None, f"TestService methods: {sorted(service.methods_by_name)}")
        check(unary.input_type.full_name == "grpc.testing.SimpleRequest",
              f"UnaryCall input type {unary.input_type.full_name}")
        check("expect_compressed" in unary.input_type.fields_by_name,
              f"SimpleRequest fields: {sorted(unary.input_type.fields_by_name)}")
        check(unary.output_type.full_name == "grpc.testing.SimpleResponse",
              f"UnaryCall output type {unary.output_type.full_name}")
        health = pool.FindServiceByName("grpc.health.v1.Health")
        check("Watch" in health.methods_by_name, f"Health methods: {sorted(health.methods_by_name)}")


INTEROP_CASES = (
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
    "timeout_on_sleeping_server", "cancel_after_begin", "cancel_after_first_response", "status_code_and_message",
    "special_status_message", "custom_metadata", "unimplemented_method", "unimplemented_service",
    "client_compressed_unary", "server_compressed_unary", "client_compressed_streaming",
    "server_compressed_streaming",
)
ALL_CASES = INTEROP_CASES + ("health", "reflection", "very_large_unary", "drain_on_shutdown")


def make_channel(args):
    target = f"{args.server_host}:{args.server_port}"
    if not args.use_tls:
        return grpc.insecure_channel(target)
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(args.ca_file).read_bytes())
    options = [("grpc.ssl_target_name_override", args.server_host_override)] if args.server_host_override else []
    return grpc.secure_channel(target, credentials, options=options)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server_host", default="127.0.0.1")
    parser.add_argument("--server_host_override")
    parser.add_argument("--server_port", type=int, required=True)
    cases = parser.add_mutually_exclusive_group(required=True)
    cases.add_argument("--test_case", choices=ALL_CASES)
    cases.add_argument("--worker", action="store_true",
                       help="read case names from stdin, one a line; answer each with a JSON line on stdout")
    parser.add_argument("--use_tls", nargs="?", const="true", default="false", choices=("true", "false"))
    parser.add_argument("--ca_file")
    parser.add_argument("--protos_dir", help="where the generated grpc.testing modules are (made if missing)")
    args = parser.parse_args(argv)
    args.use_tls = args.use_tls == "true"
    if args.use_tls and not args.ca_file:
        parser.error("--use_tls needs --ca_file")
    return args


def run_case(args, protos, test_case: str) -> tuple[bool, str]:
    """Runs one case on a channel of its own; returns (passed, one-line reason)."""
    if test_case not in ALL_CASES:
        return False, f"unknown test case {test_case!r}"
    with make_channel(args) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT)
            getattr(Cases(args, channel, protos), test_case)()
        except CaseFailure as failure:
            return False, f"FAIL {test_case}: {failure}"
        except grpc.RpcError as error:
            return False, f"FAIL {test_case}: unexpected status {error.code().name}: {error.details()!r}"
        except grpc.FutureTimeoutError:
            return False, f"FAIL {test_case}: could not connect within {CALL_TIMEOUT} s"
        except grpc_wire_probe.ProbeError as error:
            return False, f"FAIL {test_case}: frame-level call failed: {error}"
    return True, f"PASS {test_case}"


def main(argv) -> int:
    args = parse_arguments(argv)
    with tempfile.TemporaryDirectory(prefix="interop-client-protos-") as scratch:
        protos = interop_test_protos.load(Path(args.protos_dir or scratch))
        if args.worker:
            # Many cases for one process: the interpreter and grpcio start once (about 0.7 s a process).
            for line in sys.stdin:
                if line.strip():
                    passed, reason = run_case(args, protos, line.strip())
                    print(json.dumps({"passed": passed, "reason": reason}), flush=True)
            return 0
        passed, reason = run_case(args, protos, args.test_case)
    print(reason, file=sys.stdout if passed else sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
