"""Rich errors against code nobody here wrote: googleapis-common-protos' google.rpc messages and grpcio-status.

A google.rpc.Status travels serialized in the `grpc-status-details-bin` trailer. The exchange is pinned by a
fixture, fixtures/rich_error_invalid_grant.hex: a Status with a BadRequest and an ErrorInfo that Python
serializes here and that Sources/GRPCStatusDetails writes for the same error
(Tests/GRPCStatusDetailsTests/InteropFixtureTests.swift checks that side). Between them, protobuf-roundtrip
decodes Python's bytes into our generated google.rpc types and must give them back byte for byte.

grpcio-status runs in a child interpreter: the differential tests put generated modules named `grpc.*` first
on sys.path in this process, which hides grpcio's own `grpc` package.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import any_pb2, descriptor_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from interop_paths import API_PROTO_ROOT, REPO_ROOT

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "rich_error_invalid_grant.hex"
INVALID_ARGUMENT = 3


def invalid_grant_status() -> status_pb2.Status:
    """The error of the fixture, as a Python client library would build it."""
    bad_request = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(
            field="grants[0].grantee", description="must be a principal id (hl1…, 41 characters)"),
        error_details_pb2.BadRequest.FieldViolation(
            field="valid_until_unix_ms", description="must be after valid_from_unix_ms"),
    ])
    error_info = error_details_pb2.ErrorInfo(
        reason="GRANT_INVALID", domain="ledger.healthledger.example",
        metadata={"patientId": "hl1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "violations": "2"})
    status = status_pb2.Status(code=INVALID_ARGUMENT, message="the grant request is invalid")
    for detail in (bad_request, error_info):
        status.details.add().Pack(detail, deterministic=True)
    return status


def every_detail_status() -> status_pb2.Status:
    """A Status with one of each google.rpc detail, every field set, and an Any of a type nobody registers."""
    localized = error_details_pb2.LocalizedMessage(locale="fr-CH", message="La demande est invalide")
    details = [
        error_details_pb2.ErrorInfo(reason="QUOTA_EXCEEDED", domain="ledger.healthledger.example",
                                    metadata={"b": "2", "a": "1", "é": "x"}),
        error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=-3, nanos=-500_000_000)),
        error_details_pb2.DebugInfo(stack_entries=["frame 0", "frame 1"], detail="commit failed"),
        error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
            subject="principal:hl1abc", description="too many reads", api_service="ledger.healthledger.example",
            quota_metric="reads", quota_id="ReadsPerMinute", quota_dimensions={"region": "eu", "tier": "free"},
            quota_value=100, future_quota_value=0)]),
        error_details_pb2.PreconditionFailure(violations=[error_details_pb2.PreconditionFailure.Violation(
            type="TOS", subject="hl1abc", description="terms not accepted")]),
        error_details_pb2.BadRequest(field_violations=[error_details_pb2.BadRequest.FieldViolation(
            field="a.b[1]", description="too long", reason="VALUE_TOO_LONG", localized_message=localized)]),
        error_details_pb2.RequestInfo(request_id="req-1", serving_data="opaque"),
        error_details_pb2.ResourceInfo(resource_type="healthledger.v1.Record", resource_name="r1",
                                       owner="user:hl1abc", description="no permit"),
        error_details_pb2.Help(links=[error_details_pb2.Help.Link(description="docs", url="https://x.example")]),
        localized,
    ]
    status = status_pb2.Status(code=8, message="many things")
    for detail in details:
        status.details.add().Pack(detail, deterministic=True)
    status.details.append(any_pb2.Any(type_url="type.example.com/acme.v1.Unregistered", value=b"\x08\x01"))
    return status


def fixture_bytes() -> bytes:
    return bytes.fromhex("".join(FIXTURE.read_text().split()))


def test_our_google_protos_are_the_libraries_schemas(tmp_path):
    """proto/google/** compiles to the descriptors protobuf and googleapis-common-protos were built from
    (json_name aside, which googleapis-common-protos' modules omit and which never reaches the binary
    encoding), so the bytes on the wire are the same."""
    files = ["google/protobuf/any.proto", "google/protobuf/duration.proto", "google/rpc/status.proto",
             "google/rpc/error_details.proto"]
    out = tmp_path / "ours.pb"
    subprocess.run(["protoc", f"-I{API_PROTO_ROOT}", f"--descriptor_set_out={out}", *files], cwd=REPO_ROOT,
                   check=True)
    ours = {file.name: file for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file}
    for module in (any_pb2, duration_pb2, status_pb2, error_details_pb2):
        theirs = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        mine = ours[theirs.name]
        for message in [*mine.message_type, *theirs.message_type]:
            clear_json_names(message)
        assert mine == theirs, f"{theirs.name} differs from the library's"


def clear_json_names(message: descriptor_pb2.DescriptorProto) -> None:
    for field in message.field:
        field.ClearField("json_name")
    for nested in message.nested_type:
        clear_json_names(nested)


def test_fixture_is_what_python_writes():
    """Python's deterministic encoding of the error is the fixture byte for byte (the Swift test asserts the
    same of GRPCStatusDetails)."""
    expected = invalid_grant_status().SerializeToString(deterministic=True)
    assert fixture_bytes() == expected, f"regenerate {FIXTURE.name}: {expected.hex()}"


@pytest.mark.parametrize("status_builder", [invalid_grant_status, every_detail_status])
def test_swift_decodes_python_status_byte_exact(status_builder, roundtrip_tool):
    """Our generated google.rpc.Status, and each detail type inside, read Python's bytes and write them back
    unchanged (unknown detail types included, as opaque Any)."""
    status = status_builder()
    encoded = status.SerializeToString(deterministic=True)
    requests = [("google.rpc.Status", encoded)]
    requests += [(detail.TypeName(), detail.value) for detail in status.details
                 if detail.TypeName().startswith("google.rpc.")]
    responses = roundtrip_tool.run_batch(requests)
    for (type_name, payload), response in zip(requests, responses):
        assert response.ok, f"{type_name}: Swift rejected Python's bytes: {response.text}"
        assert response.body == payload, f"{type_name}: Swift re-encoded differently"


def test_python_reads_swift_status(roundtrip_tool):
    """Python parses the Status Swift wrote and unpacks its details into the same messages."""
    status = every_detail_status()
    response = roundtrip_tool.run_one("google.rpc.Status", status.SerializeToString(deterministic=True))
    assert response.ok, response.text
    parsed = status_pb2.Status.FromString(response.body)
    assert parsed == status
    quota = error_details_pb2.QuotaFailure()
    assert parsed.details[3].Unpack(quota)
    assert quota.violations[0].HasField("future_quota_value"), "proto3 optional zero kept its presence"


def test_python_reads_the_status_grpc_status_details_writes():
    """The fixture, which GRPCStatusDetails writes for RPCError(code: .invalidArgument, ...), unpacks in
    Python to the BadRequest and ErrorInfo it was built from."""
    status = status_pb2.Status.FromString(fixture_bytes())
    assert (status.code, status.message) == (INVALID_ARGUMENT, "the grant request is invalid")
    assert [detail.type_url for detail in status.details] == [
        "type.googleapis.com/google.rpc.BadRequest", "type.googleapis.com/google.rpc.ErrorInfo"]
    bad_request, error_info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(bad_request) and status.details[1].Unpack(error_info)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("grants[0].grantee", "must be a principal id (hl1…, 41 characters)"),
        ("valid_until_unix_ms", "must be after valid_from_unix_ms")]
    assert (error_info.reason, error_info.domain) == ("GRANT_INVALID", "ledger.healthledger.example")
    assert dict(error_info.metadata) == {"patientId": "hl1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                                         "violations": "2"}


# Runs in a child interpreter, where `grpc` is grpcio. Reads the fixture's hex on stdin, prints JSON.
GRPCIO_STATUS_SCRIPT = r"""
import json, sys
import grpc
from grpc_status import rpc_status
from google.rpc import status_pb2

data = bytes.fromhex("".join(sys.stdin.read().split()))

class Call:
    def __init__(self, code, details, trailers):
        self._code, self._details, self._trailers = code, details, trailers
    def code(self): return self._code
    def details(self): return self._details
    def trailing_metadata(self): return self._trailers

status = status_pb2.Status.FromString(data)
as_grpc = rpc_status.to_status(status)
trailers = (("grpc-status-details-bin", data),)
read_back = rpc_status.from_call(Call(grpc.StatusCode.INVALID_ARGUMENT, status.message, trailers))
try:
    rpc_status.from_call(Call(grpc.StatusCode.INTERNAL, status.message, trailers))
    mismatch = "accepted"
except ValueError as error:
    mismatch = str(error)
print(json.dumps({
    "code": as_grpc.code.name, "details": as_grpc.details,
    "trailers": [[key, value.hex()] for key, value in as_grpc.trailing_metadata],
    "read_back_equal": read_back == status, "mismatch": mismatch,
}))
"""


def test_grpcio_status_speaks_the_same_trailer():
    """grpcio-status turns the Status into the trailer GRPCStatusDetails writes (same key, same bytes), reads
    our bytes back, and, like our `details`, refuses a Status whose code differs from the call's."""
    result = subprocess.run([sys.executable, "-c", GRPCIO_STATUS_SCRIPT], input=FIXTURE.read_text(),
                            capture_output=True, text=True, cwd=Path("/"), timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["code"] == "INVALID_ARGUMENT"
    assert answer["details"] == "the grant request is invalid"
    assert answer["trailers"] == [["grpc-status-details-bin", fixture_bytes().hex()]]
    assert answer["read_back_equal"] is True
    assert "doesn't match status code" in answer["mismatch"]
