"""Differential tests of our wire runtime and generated code against Python protobuf (upb), using modules
grpcio-tools generated from the same .proto files.

For every message type: random messages that Python serializes deterministically must come back from
protobuf-roundtrip byte for byte, and Python must read Swift's bytes back as the same message; unknown
fields must survive byte-exact; mutated encodings must never crash the tool, and where Python rejects an
input Swift must reject it too. Reproduce a run with the HEALTHLEDGER_DIFF_SEED it prints.
"""

import os
import random

import pytest
from google.protobuf import text_format
from google.protobuf.message import DecodeError

import message_comparison
import wire_bytes
from canonical_map_order import canonical_map_order
from map_entry_quirk import has_map_entry_with_extra_fields
from message_shrinking import shrink
from random_messages import random_message

# Failures shown in full (with a shrunk reproduction) per test; the rest are counted.
SHOWN_FAILURES = 3

_payload_cache: dict[str, list[bytes]] = {}


def random_payloads(protos, message_type: str, seed: int, count: int) -> list[bytes]:
    """`count` random messages of `message_type`, as Python's deterministic encoding; the same for a
    given seed and type in every test that asks."""
    if message_type not in _payload_cache:
        rng = random.Random(f"{seed}:{message_type}")
        message_class = protos.message_classes[message_type]
        _payload_cache[message_type] = [
            random_message(rng, message_class).SerializeToString(deterministic=True) for _ in range(count)
        ]
    return _payload_cache[message_type]


def roundtrip_problems(message_class, python_bytes: bytes, response) -> list[str]:
    """What is wrong with Swift's answer to Python's deterministic encoding `python_bytes`: (a) the bytes
    must be identical (map entries in ascending key order, see canonical_map_order), (b) Python must parse
    Swift's bytes to an equal message (floats compared by bit)."""
    if response is None:
        return ["protobuf-roundtrip crashed or hung"]
    if not response.ok:
        return [f"Swift rejected Python's encoding: {response.text}"]
    problems = []
    swift_bytes = response.body
    expected = canonical_map_order(message_class.DESCRIPTOR, python_bytes)
    if swift_bytes != expected:
        offset = wire_bytes.first_difference(expected, swift_bytes)
        problems.append(f"(a) bytes differ from byte {offset} (python {len(expected)} bytes, "
                        f"swift {len(swift_bytes)} bytes)")
    try:
        reparsed = message_class.FromString(swift_bytes)
    except DecodeError as error:
        return problems + [f"(b) Python cannot parse Swift's bytes: {error}"]
    difference = message_comparison.first_difference(message_class.FromString(python_bytes), reparsed)
    if difference:
        problems.append(f"(b) Python reads Swift's bytes as a different message: {difference}")
    return problems


def describe_message(message) -> str:
    text = text_format.MessageToString(message, as_utf8=False)
    return text if len(text) < 3000 else text[:3000] + "\n... (truncated)"


def describe_bytes(label: str, data: bytes) -> str:
    shown = data[:400].hex() + ("..." if len(data) > 400 else "")
    return f"{label} ({len(data)} bytes): {shown}\n{wire_bytes.dump(data)}"


def failure_report(title: str, seed: int, failures: list[str], total: int) -> str:
    header = f"{title}: {len(failures)} of {total} failed (HEALTHLEDGER_DIFF_SEED={seed})"
    return "\n\n".join([header, *failures[:SHOWN_FAILURES]]
                       + ([f"... and {len(failures) - SHOWN_FAILURES} more"] if len(failures) > SHOWN_FAILURES
                          else []))


def test_tool_registers_every_message_type(protos, roundtrip_tool):
    """The tool knows exactly the messages protoc/Python see (map entries excluded): a missing one means
    a file missing from the tool's list or from a generated `messageTypes`."""
    swift_types = set(roundtrip_tool.list_types())
    python_types = set(protos.message_classes)
    assert sorted(python_types - swift_types) == [], "messages Swift's registry lacks"
    assert sorted(swift_types - python_types) == [], "messages Swift registers that Python doesn't know"


def test_random_messages_reencode_byte_exact(message_type, protos, roundtrip_tool, seed, count):
    """(a) Swift re-encodes Python's deterministic bytes identically; (b) Python reads Swift's bytes back
    as the same message."""
    message_class = protos.message_classes[message_type]
    payloads = random_payloads(protos, message_type, seed, count)
    responses, _ = roundtrip_tool.run_batch_isolating_crashes([(message_type, p) for p in payloads])

    failures = []
    for index, (payload, response) in enumerate(zip(payloads, responses)):
        problems = roundtrip_problems(message_class, payload, response)
        if not problems:
            continue
        if len(failures) < SHOWN_FAILURES:
            def still_fails(candidate):
                candidate_bytes = candidate.SerializeToString(deterministic=True)
                try:
                    answer = roundtrip_tool.run_one(message_type, candidate_bytes)
                except Exception:
                    answer = None
                return bool(roundtrip_problems(message_class, candidate_bytes, answer))

            minimal = shrink(message_class.FromString(payload), still_fails)
            minimal_bytes = minimal.SerializeToString(deterministic=True)
            try:
                minimal_response = roundtrip_tool.run_one(message_type, minimal_bytes)
            except Exception as error:  # crash: show what we have
                minimal_response = None
                swift_text = f"swift: {error}"
            else:
                swift_text = (describe_bytes("swift", minimal_response.body) if minimal_response.ok
                              else f"swift: {minimal_response.text}")
            expected_minimal = canonical_map_order(message_class.DESCRIPTOR, minimal_bytes)
            failures.append(
                f"{message_type} message #{index}: {'; '.join(problems)}\n"
                f"minimal failing message:\n{describe_message(minimal)}\n"
                f"problems: {'; '.join(roundtrip_problems(message_class, minimal_bytes, minimal_response))}\n"
                f"{describe_bytes('python, map entries ascending', expected_minimal)}\n{swift_text}")
        else:
            failures.append(f"#{index}: {'; '.join(problems)}")
    if failures:
        pytest.fail(failure_report(f"{message_type} round trips", seed, failures, len(payloads)),
                    pytrace=False)


def test_unknown_fields_survive_decoding_as_empty(message_type, protos, roundtrip_tool, seed, count):
    """Every field of a random message is unknown to grpc.testing.Empty, and must be re-emitted verbatim."""
    payloads = random_payloads(protos, message_type, seed, count)
    responses, _ = roundtrip_tool.run_batch_isolating_crashes([(message_type, p) for p in payloads],
                                                              as_empty=True)
    failures = []
    for index, (payload, response) in enumerate(zip(payloads, responses)):
        if response is None:
            failures.append(f"#{index}: crashed\n{describe_bytes('input', payload)}")
        elif not response.ok:
            failures.append(f"#{index}: rejected: {response.text}\n{describe_bytes('input', payload)}")
        elif response.body != payload:
            failures.append(f"#{index}: differs from byte {wire_bytes.first_difference(payload, response.body)}"
                            f"\n{describe_bytes('input', payload)}\n{describe_bytes('swift', response.body)}")
    if failures:
        pytest.fail(failure_report(f"{message_type} as grpc.testing.Empty", seed, failures, len(payloads)),
                    pytrace=False)


def test_random_unknown_field_streams_survive_decoding_as_empty(roundtrip_tool, seed, count):
    """Hand-built unknown fields of every wire type, nested groups, odd field numbers and non-minimal
    varints come back byte-identical."""
    rng = random.Random(f"{seed}:unknown-streams")
    payloads = [wire_bytes.random_unknown_fields(rng) for _ in range(max(count, 2000))]
    responses, _ = roundtrip_tool.run_batch_isolating_crashes([("grpc.testing.Empty", p) for p in payloads],
                                                              as_empty=True)
    failures = [
        f"#{index}: {'crashed' if r is None else r.text if not r.ok else 'differs'}\n"
        f"{describe_bytes('input', p)}" + (f"\n{describe_bytes('swift', r.body)}" if r and r.ok else "")
        for index, (p, r) in enumerate(zip(payloads, responses))
        if r is None or not r.ok or r.body != p
    ]
    if failures:
        pytest.fail(failure_report("unknown-field streams", seed, failures, len(payloads)), pytrace=False)


def test_unknown_fields_mixed_with_known_fields_match_python(message_type, protos, roundtrip_tool, seed,
                                                             count):
    """Unknown fields inserted between known ones: both implementations emit the known fields in number
    order, then the unknown ones in arrival order."""
    message_class = protos.message_classes[message_type]
    known_numbers = frozenset(field.number for field in message_class.DESCRIPTOR.fields)
    rng = random.Random(f"{seed}:mixed:{message_type}")
    inputs = []
    for payload in random_payloads(protos, message_type, seed, count)[: max(50, count // 5)]:
        boundaries = wire_bytes.field_boundaries(payload)
        for _ in range(rng.randint(1, 3)):
            at = rng.choice(boundaries)
            payload = payload[:at] + wire_bytes.random_unknown_fields(rng, known_numbers) + payload[at:]
            boundaries = wire_bytes.field_boundaries(payload)
        inputs.append(payload)
    responses, _ = roundtrip_tool.run_batch_isolating_crashes([(message_type, p) for p in inputs])
    failures = []
    for index, (payload, response) in enumerate(zip(inputs, responses)):
        expected = canonical_map_order(message_class.DESCRIPTOR,
                                       message_class.FromString(payload).SerializeToString(deterministic=True))
        if response is None or not response.ok or response.body != expected:
            answer = ("crashed" if response is None else response.text if not response.ok
                      else describe_bytes("swift", response.body))
            failures.append(f"#{index}:\n{describe_bytes('input', payload)}\n"
                            f"{describe_bytes('python', expected)}\n{answer}")
    if failures:
        pytest.fail(failure_report(f"{message_type} with unknown fields", seed, failures, len(inputs)),
                    pytrace=False)


# Swift error kinds that may reject what Python accepts: a difference of policy, not a bug.
#   wrongWireType: a known field with another wire type; upb keeps it as an unknown field, our runtime
#                  rejects it (contract: ProtoDecodingError.Kind.wrongWireType).
#   malformedVarint: a 10-byte varint whose last byte is > 1; upb drops the overflowing bits.
POLICY_REJECTIONS = {"wrongWireType", "malformedVarint"}


def fuzz_count() -> int:
    return int(os.environ.get("HEALTHLEDGER_FUZZ_COUNT", "3000"))


def test_mutated_encodings_never_crash_and_agree_with_python(protos, roundtrip_tool, seed):
    """Flipped, truncated, inserted, deleted and spliced bytes: the tool always answers; when Python
    rejects an input Swift rejects it too; when both accept, both re-encode it identically (except for a
    map entry holding extra fields, see map_entry_quirk)."""
    rng = random.Random(f"{seed}:mutations")
    names = sorted(protos.message_classes)
    cases = []
    while len(cases) < fuzz_count():
        message_type = rng.choice(names)
        message_class = protos.message_classes[message_type]
        original = random_message(rng, message_class).SerializeToString(deterministic=True)
        if not original:
            continue
        kinds, mutated = [], original
        for _ in range(1 if rng.random() < 0.5 else rng.randint(2, 4)):
            kind, mutated = wire_bytes.mutate(rng, mutated)
            kinds.append(kind)
        cases.append((message_type, "+".join(kinds), mutated))

    responses, crashes = roundtrip_tool.run_batch_isolating_crashes([(t, p) for t, _, p in cases])
    failures = [f"CRASH {crash.type_name}: {crash.detail}\n{describe_bytes('input', crash.payload)}"
                for crash in crashes]
    policy_differences: dict[str, int] = {}
    verdicts = {"both accept": 0, "both reject": 0}
    for (message_type, kinds, payload), response in zip(cases, responses):
        if response is None:
            continue
        descriptor = protos.message_classes[message_type].DESCRIPTOR
        try:
            python_bytes = protos.message_classes[message_type].FromString(payload).SerializeToString(
                deterministic=True)
        except DecodeError:
            python_bytes = None
        if python_bytes is not None and not has_map_entry_with_extra_fields(descriptor, payload):
            python_bytes = canonical_map_order(descriptor, python_bytes)
        where = f"{message_type} after {kinds}"
        if python_bytes is None and response.ok:
            failures.append(f"{where}: Python rejects, Swift accepts\n{describe_bytes('input', payload)}")
        elif python_bytes is None:
            verdicts["both reject"] += 1
        elif not response.ok:
            if response.error_kind in POLICY_REJECTIONS:
                policy_differences[response.error_kind] = policy_differences.get(response.error_kind, 0) + 1
            else:
                failures.append(f"{where}: Python accepts, Swift rejects: {response.text}\n"
                                f"{describe_bytes('input', payload)}\n{describe_bytes('python', python_bytes)}")
        elif response.body != python_bytes:
            verdicts["both accept"] += 1
            if has_map_entry_with_extra_fields(descriptor, payload):
                quirk = "upb keeps a map entry with extra fields as an unknown field"
                policy_differences[quirk] = policy_differences.get(quirk, 0) + 1
                continue
            failures.append(f"{where}: both accept, re-encodings differ\n{describe_bytes('input', payload)}\n"
                            f"{describe_bytes('python', python_bytes)}\n{describe_bytes('swift', response.body)}")
        else:
            verdicts["both accept"] += 1
    print(f"mutations: {len(cases)} cases, {verdicts}, Swift-only rejections by policy: {policy_differences}")
    if failures:
        pytest.fail(failure_report("mutated encodings", seed, failures, len(cases)), pytrace=False)


def test_truncated_encodings_are_rejected_like_python(protos, roundtrip_tool, seed, count):
    """Every prefix of a valid encoding that Python rejects, Swift rejects too; prefixes that end on a field
    boundary (valid messages) both accept; none crashes."""
    rng = random.Random(f"{seed}:truncations")
    names = sorted(protos.message_classes)
    cases = []
    while len(cases) < max(count, 2000):
        message_type = rng.choice(names)
        original = random_message(rng, protos.message_classes[message_type]).SerializeToString(
            deterministic=True)
        if original:
            cases.append((message_type, original[:rng.randrange(len(original))]))
    responses, crashes = roundtrip_tool.run_batch_isolating_crashes(cases)
    failures = [f"CRASH {crash.type_name}: {crash.detail}\n{describe_bytes('input', crash.payload)}"
                for crash in crashes]
    for (message_type, payload), response in zip(cases, responses):
        if response is None:
            continue
        try:
            protos.message_classes[message_type].FromString(payload)
            python_rejects = False
        except DecodeError:
            python_rejects = True
        if python_rejects and response.ok:
            failures.append(f"{message_type}: Python rejects this prefix, Swift accepts\n"
                            f"{describe_bytes('input', payload)}")
        elif not python_rejects and not response.ok:
            failures.append(f"{message_type}: Python accepts this prefix (it ends on a field boundary), "
                            f"Swift rejects: {response.text}\n{describe_bytes('input', payload)}")
    if failures:
        pytest.fail(failure_report("truncated encodings", seed, failures, len(cases)), pytrace=False)
