"""Differential tests of the JavaScript target of healthledger-protoc (clients/web): the generated ES modules and
clients/web/lib/protobuf.js, run by Node, against Python protobuf (upb) on the same .proto files.

For every message type: Node decodes Python's deterministic bytes and re-encodes them byte for byte (map entries
ascending by key, see canonical_map_order); messages Node rebuilds through the constructors from plain objects
are read back by Python as the same message; unknown fields survive; malformed inputs Python rejects are
rejected. Then the runtimes' unit tests in Node, the committed LedgerClient against a real node over TLS
HTTP/2 (gRPC-Web, binary and text), and the committed modules unbundled in headless Chromium. Needs `node`
(Debian's nodejs); skipped without it (the browser check also needs chromium).
"""

import base64
import functools
import html
import http.server
import json
import math
import os
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError

import message_comparison
import wire_bytes
from canonical_map_order import canonical_map_order
from interop_paths import PROTO_ROOTS, REPO_ROOT, proto_files
from map_entry_quirk import has_map_entry_with_extra_fields
from random_messages import random_message

NODE = shutil.which("node") or shutil.which("nodejs")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (scripts/setup installs nodejs)")

JAVASCRIPT_DIR = Path(__file__).resolve().parent / "javascript"
RUNTIME_DIR = REPO_ROOT / "clients" / "web" / "lib"
SHOWN_FAILURES = 3
T = FieldDescriptor


@pytest.fixture(scope="session")
def generated_javascript(healthledger_protoc, tmp_path_factory) -> Path:
    """Every .proto of the repository generated with --js_out, importing the runtime from clients/web/lib."""
    output = tmp_path_factory.mktemp("javascript")
    files = [path for root in PROTO_ROOTS for path in proto_files(root)]
    command = [str(healthledger_protoc), *[f"-I{root}" for root in PROTO_ROOTS], f"--js_out={output}",
               f"--js_opt=runtime={RUNTIME_DIR}", *files]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return output


def run_node(generated: Path, requests: list[dict]) -> list[dict]:
    """Runs javascript/roundtrip.mjs on `requests`."""
    result = subprocess.run([NODE, str(JAVASCRIPT_DIR / "roundtrip.mjs"), str(generated)],
                            input=json.dumps(requests).encode(), capture_output=True, timeout=600)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return json.loads(result.stdout)


def reencode(generated: Path, message_type: str, payloads: list[bytes], mode: str = "reencode"):
    """Node's answers for `payloads`: bytes, or the error text when Node rejected the input."""
    requests = [{"type": message_type, "mode": mode, "data": base64.b64encode(p).decode()} for p in payloads]
    return [base64.b64decode(r["data"]) if r["ok"] else r["error"] for r in run_node(generated, requests)]


def canonical_nans(message) -> None:
    """Replaces every NaN float/double in `message` by the quiet NaN without payload: JavaScript does not keep
    NaN payloads (V8 canonicalizes NaNs stored in number arrays, and a signalling float NaN becomes quiet when
    widened to a number), a documented limit."""
    for field, value in message.ListFields():
        if field.type == T.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                value_field = field.message_type.fields_by_name["value"]
                for key in list(value.keys()):
                    if value_field.type == T.TYPE_MESSAGE:
                        canonical_nans(value[key])
                    elif value_field.type in (T.TYPE_FLOAT, T.TYPE_DOUBLE) and math.isnan(value[key]):
                        value[key] = math.nan
            elif field.is_repeated:
                for element in value:
                    canonical_nans(element)
            else:
                canonical_nans(value)
        elif field.type in (T.TYPE_FLOAT, T.TYPE_DOUBLE):
            if field.is_repeated:
                for index, element in enumerate(value):
                    if math.isnan(element):
                        value[index] = math.nan
            elif math.isnan(value):
                setattr(message, field.name, math.nan)


_payloads: dict[str, list[bytes]] = {}


def random_payloads(protos, message_type: str, seed: int, count: int) -> list[bytes]:
    if message_type not in _payloads:
        rng = random.Random(f"{seed}:javascript:{message_type}")
        message_class = protos.message_classes[message_type]
        messages = []
        for _ in range(count):
            message = random_message(rng, message_class)
            canonical_nans(message)
            messages.append(message.SerializeToString(deterministic=True))
        _payloads[message_type] = messages
    return _payloads[message_type]


def report(title: str, seed: int, failures: list[str], total: int) -> str:
    shown = failures[:SHOWN_FAILURES] + ([f"... and {len(failures) - SHOWN_FAILURES} more"]
                                         if len(failures) > SHOWN_FAILURES else [])
    return "\n\n".join([f"{title}: {len(failures)} of {total} failed (HEALTHLEDGER_DIFF_SEED={seed})", *shown])


def describe(label: str, data: bytes) -> str:
    return f"{label} ({len(data)} bytes): {data[:300].hex()}\n{wire_bytes.dump(data)}"


def test_every_message_type_is_generated(protos, generated_javascript):
    """The modules export a class for exactly the messages Python knows (map entries excluded)."""
    (answer,) = run_node(generated_javascript, [{"mode": "types"}])
    javascript_types = set(answer["types"])
    python_types = set(protos.message_classes)
    assert sorted(python_types - javascript_types) == [], "messages the JavaScript lacks"


def test_random_messages_reencode_byte_exact(message_type, protos, generated_javascript, seed, count):
    """Node re-encodes Python's deterministic bytes identically, and Python reads Node's bytes back equal."""
    message_class = protos.message_classes[message_type]
    payloads = random_payloads(protos, message_type, seed, count)
    failures = []
    for index, (payload, answer) in enumerate(zip(payloads, reencode(generated_javascript, message_type, payloads))):
        expected = canonical_map_order(message_class.DESCRIPTOR, payload)
        if isinstance(answer, str):
            failures.append(f"#{index}: Node rejected Python's encoding: {answer}\n{describe('input', payload)}")
        elif answer != expected:
            failures.append(f"#{index}: differs from byte {wire_bytes.first_difference(expected, answer)}\n"
                            f"{describe('python', expected)}\n{describe('node', answer)}")
    if failures:
        pytest.fail(report(f"{message_type} round trips", seed, failures, len(payloads)), pytrace=False)


def test_messages_built_in_javascript_read_back_equal(message_type, protos, generated_javascript, seed, count):
    """Messages Node builds through the constructors from plain objects (strings for 64-bit values, objects for
    maps and nested messages) encode to what Python reads as the original message."""
    message_class = protos.message_classes[message_type]
    payloads = random_payloads(protos, message_type, seed, count)[: max(50, count // 4)]
    failures = []
    answers = reencode(generated_javascript, message_type, payloads, mode="rebuild")
    for index, (payload, answer) in enumerate(zip(payloads, answers)):
        if isinstance(answer, str):
            failures.append(f"#{index}: Node failed: {answer}")
            continue
        try:
            difference = message_comparison.first_difference(message_class.FromString(payload),
                                                             message_class.FromString(answer))
        except DecodeError as error:
            difference = f"Python cannot parse Node's bytes: {error}"
        if difference:
            failures.append(f"#{index}: {difference}\n{describe('node', answer)}")
    if failures:
        pytest.fail(report(f"{message_type} built in JavaScript", seed, failures, len(payloads)), pytrace=False)


def test_unknown_fields_survive_decoding_as_empty(protos, generated_javascript, seed, count):
    """Every field of any message is unknown to grpc.testing.Empty; Node re-emits them verbatim, groups and odd
    encodings included."""
    rng = random.Random(f"{seed}:javascript:unknown")
    payloads = [wire_bytes.random_unknown_fields(rng) for _ in range(max(count, 500))]
    for message_type in sorted(protos.message_classes)[:20]:
        payloads += random_payloads(protos, message_type, seed, count)[:20]
    answers = reencode(generated_javascript, "grpc.testing.Empty", payloads)
    failures = [f"#{index}: {answer if isinstance(answer, str) else 'differs'}\n{describe('input', payload)}"
                for index, (payload, answer) in enumerate(zip(payloads, answers)) if answer != payload]
    if failures:
        pytest.fail(report("unknown fields", seed, failures, len(payloads)), pytrace=False)


# Where Node may reject what Python accepts, by policy (the same as the Swift runtime's): a known field with
# another wire type, and a 10-byte varint whose last byte is above 1 (upb drops the overflowing bits).
POLICY_REJECTIONS = ("wire type", "overflows 64 bits")


def test_mutated_encodings_are_rejected_like_python(protos, generated_javascript, seed):
    """Flipped, truncated, inserted and deleted bytes: where Python rejects an input Node throws; where both
    accept, both re-encode it the same."""
    rng = random.Random(f"{seed}:javascript:mutations")
    names = sorted(protos.message_classes)
    cases = []
    while len(cases) < 3000:
        message_type = rng.choice(names)
        message = random_message(rng, protos.message_classes[message_type])
        canonical_nans(message)
        original = message.SerializeToString(deterministic=True)
        if original:
            cases.append((message_type, wire_bytes.mutate(rng, original)[1]))
    by_type: dict[str, list[int]] = {}
    for index, (message_type, _) in enumerate(cases):
        by_type.setdefault(message_type, []).append(index)
    answers: list = [None] * len(cases)
    for message_type, indexes in by_type.items():
        for index, answer in zip(indexes, reencode(generated_javascript, message_type,
                                                   [cases[i][1] for i in indexes])):
            answers[index] = answer
    failures = []
    for (message_type, payload), answer in zip(cases, answers):
        message_class = protos.message_classes[message_type]
        try:
            python = canonical_map_order(message_class.DESCRIPTOR,
                                         message_class.FromString(payload).SerializeToString(deterministic=True))
        except DecodeError:
            python = None
        if python is None and not isinstance(answer, str):
            failures.append(f"{message_type}: Python rejects, Node accepts\n{describe('input', payload)}")
        elif python is not None and isinstance(answer, str):
            if not any(reason in answer for reason in POLICY_REJECTIONS):
                failures.append(f"{message_type}: Python accepts, Node rejects: {answer}\n{describe('input', payload)}")
        elif python is not None and answer != python and not has_map_entry_with_extra_fields(
                message_class.DESCRIPTOR, payload):
            failures.append(f"{message_type}: re-encodings differ\n{describe('input', payload)}\n"
                            f"{describe('python', python)}\n{describe('node', answer)}")
    if failures:
        pytest.fail(report("mutated encodings", seed, failures, len(cases)), pytrace=False)


def test_protobuf_runtime_unit_tests(generated_javascript):
    """clients/web/lib/protobuf.js through the generated wire fixtures: depth limit, error messages, initialiser
    conversions, map order of astral keys, range checks, keyword-named fields, enums."""
    environment = {**os.environ, "FIXTURES_MODULE": str(generated_javascript / "wire_fixtures.js")}
    result = subprocess.run([NODE, "--test", str(JAVASCRIPT_DIR / "protobuf_runtime.test.mjs")],
                            capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grpc_web_runtime_unit_tests():
    """clients/web/lib/grpc-web.js against canned response bodies: framing, trailers, -text, status mapping."""
    result = subprocess.run([NODE, "--test", str(JAVASCRIPT_DIR / "grpc_web_runtime.test.mjs")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory, request):
    """A `healthledger serve` with TLS from its development CA (browsers only reach the node over TLS)."""
    from swift_tools import SwiftBuildError, build_product
    from test_ledger_interop import start_node
    try:
        executable = build_product("healthledger")
    except SwiftBuildError as error:
        pytest.fail(str(error), pytrace=False)
    return start_node(executable, tmp_path_factory.mktemp("ledger-node-grpc-web"), tls=True, request=request)


@pytest.mark.parametrize("wire_format", ["binary", "text"])
def test_generated_client_calls_a_real_node_over_grpc_web(tls_node, wire_format):
    """The committed LedgerClient and grpc-web.js, over HTTP/2 with TLS, against a real node: a unary call, a
    finite server stream, a status from the trailers (INVALID_ARGUMENT, UNAUTHENTICATED), and a followed stream
    left early, in the binary and the text format."""
    origin = f"https://127.0.0.1:{tls_node.server.port}"
    result = subprocess.run([NODE, str(JAVASCRIPT_DIR / "live_ledger.mjs"), origin, str(tls_node.ca_file),
                             wire_format], capture_output=True, text=True, timeout=60)
    if result.returncode == 3:
        pytest.skip(f"the node does not answer gRPC-Web yet: {result.stdout.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr
    observed = json.loads(result.stdout.strip().splitlines()[-1])
    assert observed["chainHead"]["chainId"] == "interop-python", observed
    height = int(observed["chainHead"]["height"] or 0)
    assert observed["blocks"]["heights"] == [str(h) for h in range(1, height + 1)], observed
    assert observed["invalidBlocks"]["code"] == "INVALID_ARGUMENT", observed
    assert "start_height" in observed["invalidBlocks"]["message"], observed
    assert observed["unauthenticated"]["code"] == "UNAUTHENTICATED", observed
    assert observed["leftEarly"]["chainIdAfter"] == "interop-python", observed


def test_dashboard_verifies_a_real_nodes_receipts_and_audit_proofs(tls_node):
    """The dashboard's proof checks (clients/web/src/proofs.js) in Node on a real node's answers: a new patient's
    Grant and Revoke receipts hold exactly the transactions sent and are proven against signed checkpoints kept
    consistent through GetConsistencyProof, the query's own audit event and the replayed audit trail carry proofs
    that verify, and a receipt with one byte changed, another transaction or another index is refused."""
    origin = f"https://127.0.0.1:{tls_node.server.port}"
    result = subprocess.run([NODE, str(JAVASCRIPT_DIR / "live_proofs.mjs"), origin, str(tls_node.ca_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    observed = json.loads(result.stdout.strip().splitlines()[-1])
    assert observed["grant"]["idMatches"] is True, observed
    assert int(observed["grant"]["treeSize"]) > int(observed["grant"]["entryIndex"]), observed
    assert observed["tampered"] == {"entryByte": "invalid", "otherTransaction": "invalid", "wrongIndex": "invalid"}
    assert observed["query"]["sequence"] == observed["query"]["eventSequence"] and observed["query"]["actor"], observed
    assert int(observed["revoke"]["entryIndex"]) > int(observed["grant"]["entryIndex"]), observed
    events = observed["audit"]["events"]
    assert observed["query"]["sequence"] in [event["sequence"] for event in events], observed
    assert all(event["hadProof"] for event in events), observed
    assert observed["verified"]["treeSize"] == observed["revoke"]["treeSize"], observed
    assert observed["verified"]["consistencyCalls"] >= 2, observed


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class QuietFileHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the repository's files to the browser without logging every request to stderr."""

    def log_message(self, format, *arguments):
        pass


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup installs it)")
def test_generated_modules_run_unbundled_in_headless_chromium(protos):
    """The committed modules load as plain ES modules in Chromium (no bundler), build a signed-transaction body
    whose bytes equal Python's deterministic encoding of the same message, and map an HTTP error of a call."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(QuietFileHandler, directory=str(REPO_ROOT)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/Tests/Interop/javascript/browser_check.html"
        result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--virtual-time-budget=10000", "--dump-dom", url],
                                capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    marker = '<pre id="result">'
    assert marker in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    text = result.stdout.split(marker, 1)[1].split("</pre>", 1)[0]
    observed = json.loads(html.unescape(text))
    assert "error" not in observed, observed

    body = protos.message_classes["healthledger.v1.TransactionBody"](
        chain_id="browser-check", author="hl1author", sequence=7, created_at_unix_ms=1764190000000,
        expires_at_unix_ms=0)
    grant = body.grant
    grant.patient = "hl1patient"
    grant.grantee = "cl\u00ednico \U0001F600"
    grant.actions.extend([1, 3])
    grant.categories.append(5)
    grant.purposes.append(1)
    grant.valid_until_unix_ms = 1795726000000
    grant.record_date_range.from_unix_ms = -1
    assert observed["hex"] == body.SerializeToString(deterministic=True).hex()
    assert observed["grantee"] == "cl\u00ednico \U0001F600"
    assert observed["sameAfterRoundTrip"] is True
    assert observed["call"] == "UNKNOWN", observed
