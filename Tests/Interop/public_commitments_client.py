"""What an unauthenticated observer learns from a node: runs a story with credentials (grants, writes, reads
allowed and denied, an audit-trail read, break-glass, a revoke), gathers every private byte it produced (ledger
entries, ids, keys, content), then calls every public RPC without credentials and reports any private byte
string found in their answers. test_public_commitments.py asserts on what it prints.

    public_commitments_client.py --target 127.0.0.1:PORT --emergency-key KEY.pem [--metrics-url URL]
    public_commitments_client.py --make-key KEY.pem      (writes an Ed25519 key, prints its principal id)

A process apart from pytest for the reason python_ledger_client.py gives (the healthledger.v1 modules). Public
answers are taken as the exact bytes on the wire (no decoding), so fields this client's generated code does not
know are scanned too."""

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from healthledger import messages as pb
from healthledger.keys import Ed25519SigningKey, P256SigningKey
from healthledger.merkle import leaf_hash
from healthledger.principal import principal_id
from healthledger.signing import public_key_message, session_message
from healthledger.v1 import ledger_service_pb2_grpc
from python_ledger_client import CALL_TIMEOUT, LedgerClient, Principal, now_ms, read_varint, transaction_id

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVICE = "/healthledger.v1.Ledger/"
# Any run of this many bytes of a private entry found in a public answer is reported. Long enough that no run
# of public structure (the chain id is shorter) or chance can match; short enough for any id, key or hash.
WINDOW = 16


def fields(data: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) of each top-level field; length-delimited values as bytes."""
    found, position = [], 0
    while position < len(data):
        key, position = read_varint(data, position)
        wire_type = key & 7
        if wire_type == 0:
            value, position = read_varint(data, position)
        elif wire_type == 1:
            value, position = data[position:position + 8], position + 8
        elif wire_type == 2:
            length, position = read_varint(data, position)
            value, position = data[position:position + length], position + length
        elif wire_type == 5:
            value, position = data[position:position + 4], position + 4
        else:
            raise ValueError(f"wire type {wire_type}")
        found.append((key >> 3, wire_type, value))
    return found


def field(data: bytes, number: int) -> bytes | None:
    """The last length-delimited value of field `number`, or None."""
    values = [value for found, wire_type, value in fields(data) if found == number and wire_type == 2]
    return values[-1] if values else None


def receipt_entry(response, transaction) -> bytes | None:
    """The ledger_entry (field 5) of the TransactionReceipt in `response`, read from the wire so that generated
    code older than the field still finds it."""
    for _, wire_type, value in fields(response.SerializeToString()):
        if wire_type != 2:
            continue
        try:
            if field(value, 1) == transaction_id(transaction).encode():
                return field(value, 5)
        except (ValueError, IndexError):
            continue  # a string field, not a message
    return None


class Observer:
    """Raw public calls on a channel with no credentials; keeps every answer's bytes to scan."""

    def __init__(self, channel):
        self.channel = channel
        self.answers: list[tuple[str, bytes]] = []

    def keep(self, label: str, data: bytes) -> None:
        self.answers.append((label, bytes(data)))

    def keep_error(self, label: str, error: grpc.RpcError) -> str:
        self.keep(f"{label} status details", (error.details() or "").encode())
        for key, value in error.trailing_metadata() or ():
            self.keep(f"{label} trailer {key}", value if isinstance(value, bytes) else value.encode())
        return error.code().name

    def unary(self, method: str, request: bytes, label: str) -> tuple[str, bytes]:
        call = self.channel.unary_unary(SERVICE + method if "/" not in method else method)
        try:
            answer = call(request, timeout=CALL_TIMEOUT)
        except grpc.RpcError as error:
            return self.keep_error(label, error), b""
        self.keep(label, answer)
        return "OK", answer

    def stream(self, method: str, request: bytes, label: str) -> tuple[str, list[bytes]]:
        call = self.channel.unary_stream(SERVICE + method if "/" not in method else method)
        answers: list[bytes] = []
        try:
            for answer in call(request, timeout=CALL_TIMEOUT):
                self.keep(label, answer)
                answers.append(answer)
        except grpc.RpcError as error:
            return self.keep_error(label, error), answers
        return "OK", answers


class Story:
    """The private side: principals, what they did, and every private byte string it produced."""

    def __init__(self, client: LedgerClient, emergency_key):
        self.client = client
        self.patient = Principal(Ed25519SigningKey())
        self.other_patient = Principal(P256SigningKey())
        self.clinician = Principal(P256SigningKey())
        self.writer = Principal(Ed25519SigningKey())
        self.auditor = Principal(Ed25519SigningKey())
        self.stranger = Principal(Ed25519SigningKey())
        self.emergency = Principal(emergency_key)
        self.principals = {"patient": self.patient, "other_patient": self.other_patient,
                           "clinician": self.clinician, "writer": self.writer, "auditor": self.auditor,
                           "stranger": self.stranger, "emergency_clinician": self.emergency}
        self.statuses: dict[str, str] = {}
        # label -> private bytes; entries are also cut into windows.
        self.secrets: dict[str, bytes] = {}
        self.entries: dict[bytes, str] = {}  # ledger entry bytes -> where it was seen
        self.marker = os.urandom(8).hex()

    def secret(self, label: str, value: bytes | str) -> None:
        self.secrets[label] = value.encode() if isinstance(value, str) else bytes(value)

    def entry(self, data: bytes | None, where: str) -> None:
        if data:
            self.entries.setdefault(bytes(data), where)

    def transact(self, label: str, author: Principal, rpc: str, operation: str, value, request_class):
        """Signs and sends a transaction through the raw stub; keeps the status, ids and receipt entry."""
        transaction = self.client.sign(author, operation, value)
        self.secret(f"{label} transaction id", transaction_id(transaction))
        self.secret(f"{label} transaction id bytes", hashlib.sha256(transaction.body).digest())
        self.secret(f"{label} signature", transaction.signature)
        status, response = self.client.status_of(getattr(self.client.stub, rpc), request_class(transaction=transaction),
                                                 timeout=CALL_TIMEOUT)
        self.statuses[label] = status
        if status == "OK":
            self.entry(receipt_entry(response, transaction), f"{label} receipt")
        return transaction

    def write(self, label: str, author: Principal, category: int, content: bytes):
        metadata = pb.RecordMetadata(patient=self.patient.id, category=category,
                                     content_sha256=hashlib.sha256(content).digest(), size_bytes=len(content),
                                     media_type=f"application/x-{self.marker}-{label}",
                                     effective_at_unix_ms=now_ms() - 3_600_000,
                                     labels={"study": f"{self.marker} {label}"})
        transaction = self.client.sign(author, "write_record", metadata)
        self.secret(f"{label} record id", transaction_id(transaction))
        self.secret(f"{label} content sha256", hashlib.sha256(content).digest())
        self.secret(f"{label} content sha256 hex", hashlib.sha256(content).hexdigest())
        self.secret(f"{label} content", content)
        status, response = self.client.status_of(self.client.stub.Write,
                                                 iter(self.client.write_requests(transaction, content)),
                                                 timeout=CALL_TIMEOUT)
        self.statuses[label] = status
        if status == "OK":
            self.entry(receipt_entry(response, transaction), f"{label} receipt")

    def grant(self, label: str, grantee: Principal, actions, categories, purposes, author=None, patient=None):
        author = author or self.patient
        grant = pb.Grant(patient=(patient or author).id, grantee=grantee.id, actions=actions, categories=categories,
                         purposes=purposes, valid_until_unix_ms=now_ms() + 3_600_000, effect=pb.EFFECT_PERMIT,
                         note=f"{self.marker} {label}")
        return self.transact(label, author, "Grant", "grant", grant, pb.GrantRequest)

    def query(self, label: str, caller: Principal, patient: Principal, categories, purpose=pb.PURPOSE_TREATMENT):
        request = pb.QueryRequest(patient=patient.id, categories=categories, purpose=purpose, include_content=True)
        status, responses = self.client.query(caller, request)
        self.statuses[label] = status
        if status == "OK":
            for response in responses:
                if response.WhichOneof("part") == "record":
                    self.entry(response.record.ledger_entry, f"{label} record")
                elif response.WhichOneof("part") == "started":
                    logged = field(response.started.SerializeToString(), 4)
                    self.entry(field(logged, 2) if logged else None, f"{label} started")

    def run(self) -> None:
        client = self.client
        for name, principal in self.principals.items():
            self.secret(f"{name} principal id", principal.id)
            self.secret(f"{name} principal id bytes", hashlib.sha256(principal.key.public_key_bytes).digest()[:20])
            self.secret(f"{name} key id", principal.key_id)
            self.secret(f"{name} key id bytes", bytes.fromhex(principal.key_id))
            self.secret(f"{name} public key", principal.key.public_key_bytes)

        labs_and_mental = [pb.DATA_CATEGORY_LABS, pb.DATA_CATEGORY_MENTAL_HEALTH]
        self.grant("clinician grant", self.clinician, [pb.ACTION_READ], labs_and_mental, [pb.PURPOSE_TREATMENT])
        self.grant("writer grant", self.writer, [pb.ACTION_WRITE], [pb.DATA_CATEGORY_LABS],
                   [pb.PURPOSE_TREATMENT])
        self.grant("auditor grant", self.auditor, [pb.ACTION_AUDIT_READ], [pb.DATA_CATEGORY_ALL],
                   [pb.PURPOSE_OPERATIONS])
        self.grant("other patient grant", self.clinician, [pb.ACTION_READ], [pb.DATA_CATEGORY_GENOMICS],
                   [pb.PURPOSE_RESEARCH], author=self.other_patient)
        self.write("patient labs", self.patient, pb.DATA_CATEGORY_LABS, os.urandom(3000))
        self.write("patient mental health", self.patient, pb.DATA_CATEGORY_MENTAL_HEALTH, os.urandom(2000))
        self.write("writer labs", self.writer, pb.DATA_CATEGORY_LABS, os.urandom(70_000))
        self.write("refused imaging", self.writer, pb.DATA_CATEGORY_IMAGING, os.urandom(1000))

        for principal in (self.patient, self.other_patient, self.clinician, self.auditor, self.stranger,
                          self.emergency):
            client.open_session(principal)
            self.secret(f"session token {principal.id}", principal.token)
        self.query("clinician reads labs and mental health", self.clinician, self.patient, labs_and_mental)
        self.query("clinician refused notes", self.clinician, self.patient, [pb.DATA_CATEGORY_CLINICAL_NOTES])
        self.query("stranger refused labs", self.stranger, self.patient, [pb.DATA_CATEGORY_LABS])
        self.query("stranger refused other patient", self.stranger, self.other_patient, [pb.DATA_CATEGORY_GENOMICS],
                   pb.PURPOSE_RESEARCH)
        self.query("patient reads own labs", self.patient, self.patient, [pb.DATA_CATEGORY_LABS])

        access = pb.EmergencyAccess(patient=self.patient.id, categories=[pb.DATA_CATEGORY_ALLERGIES],
                                     reason=f"{self.marker} unconscious in ER", duration_ms=600_000)
        self.transact("break-glass", self.emergency, "OpenEmergencyAccess", "emergency_access", access,
                      pb.OpenEmergencyAccessRequest)
        self.query("emergency read", self.emergency, self.patient, [pb.DATA_CATEGORY_ALLERGIES],
                   pb.PURPOSE_EMERGENCY)

        revoke_of = ""
        grants = client.must("ListGrants", client.stub.ListGrants,
                             pb.ListGrantsRequest(patient=self.patient.id, include_inactive=True),
                             metadata=self.patient.metadata(), timeout=CALL_TIMEOUT).grants
        for grant in grants:
            self.entry(grant.ledger_entry, f"grant {grant.grant_id}")
            if grant.grant.grantee == self.clinician.id:
                revoke_of = grant.grant_id
        self.transact("revoke", self.patient, "Revoke", "revoke", pb.Revoke(grant_id=revoke_of),
                      pb.RevokeRequest)
        self.query("clinician refused after revoke", self.clinician, self.patient, [pb.DATA_CATEGORY_LABS])

        # The audit trails: the auditor's read is itself audited; each principal's view adds the entries it sees.
        names = {principal.id: name for name, principal in self.principals.items()}
        for reader, patient in ((self.auditor, self.patient), (self.patient, self.patient),
                                (self.other_patient, self.other_patient), (self.stranger, self.other_patient)):
            events = [item.event for item in client.audit_replay(reader, patient.id) if item.WhichOneof("item") == "event"]
            self.statuses[f"audit events of {names[patient.id]} seen by {names[reader.id]}"] = str(len(events))
            for event in events:
                self.entry(event.ledger_entry, f"audit trail of {names[patient.id]} read by {names[reader.id]}")
        for grant in client.must("ListGrants", client.stub.ListGrants,
                                 pb.ListGrantsRequest(patient=self.other_patient.id, include_inactive=True),
                                 metadata=self.other_patient.metadata(), timeout=CALL_TIMEOUT).grants:
            self.entry(grant.ledger_entry, f"grant {grant.grant_id}")


def salted_variants(entry: bytes) -> list[bytes]:
    """The entry as an observer who knows everything but the salt would build it: salt absent or all zeros."""
    rest = b"".join(_encoded(number, wire_type, value) for number, wire_type, value in fields(entry) if number != 1)
    return [rest, _encoded(1, 2, bytes(16)) + rest]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _encoded(number: int, wire_type: int, value) -> bytes:
    key = _varint(number << 3 | wire_type)
    if wire_type == 0:
        return key + _varint(value)
    if wire_type == 2:
        return key + _varint(len(value)) + value
    return key + value


def observe_publicly(observer: Observer, fresh: Principal) -> dict:
    """Every public RPC, over all of the chain, with no credentials."""
    observed: dict = {}
    status, head_bytes = observer.unary("GetChainHead", b"", "GetChainHead")
    head = pb.GetChainHeadResponse.FromString(head_bytes)
    observed["head_status"] = status
    height, tree_size = head.height, head.tree_size
    status, blocks = observer.stream("GetBlocks", pb.GetBlocksRequest(start_height=1).SerializeToString(), "GetBlocks")
    observed["blocks_status"], observed["block_count"] = status, len(blocks)
    sizes = []
    block_of_leaf: dict[int, int] = {}
    for answer in blocks:
        header = pb.BlockHeader.FromString(pb.GetBlocksResponse.FromString(answer).block.header)
        end = header.first_entry_index + header.entry_count
        sizes.append(end)
        for leaf in range(header.first_entry_index, end):
            block_of_leaf[leaf] = end
    statuses = {}
    for size in sizes:
        request = pb.GetCheckpointRequest(tree_size=size).SerializeToString()
        statuses[f"GetCheckpoint({size})"] = observer.unary("GetCheckpoint", request, f"GetCheckpoint({size})")[0]
    for leaf in range(tree_size):
        for size in sorted({block_of_leaf[leaf], tree_size}):
            request = pb.GetInclusionProofRequest(leaf_index=leaf, tree_size=size).SerializeToString()
            label = f"GetInclusionProof({leaf}, {size})"
            statuses[label] = observer.unary("GetInclusionProof", request, label)[0]
    nonempty = sorted({size for size in sizes if size > 0})
    for first in nonempty:
        for second in nonempty:
            if second >= first:
                request = pb.GetConsistencyProofRequest(first_tree_size=first, second_tree_size=second)
                label = f"GetConsistencyProof({first}, {second})"
                statuses[label] = observer.unary("GetConsistencyProof", request.SerializeToString(), label)[0]
    observed["proof_statuses"] = sorted({status for status in statuses.values()})
    observed["inclusion_proofs"] = sum(1 for label in statuses if label.startswith("GetInclusionProof"))
    # Wrong numbers: the errors' texts are public answers too.
    observer.unary("GetInclusionProof", pb.GetInclusionProofRequest(leaf_index=tree_size + 5).SerializeToString(),
                   "GetInclusionProof beyond")
    observer.unary("GetCheckpoint", pb.GetCheckpointRequest(tree_size=tree_size + 7).SerializeToString(),
                   "GetCheckpoint beyond")
    observer.stream("GetBlocks", pb.GetBlocksRequest(start_height=height + 3).SerializeToString(), "GetBlocks beyond")
    # A session challenge for a principal the ledger does not know (with its key, as clients send it).
    request = pb.CreateSessionChallengeRequest(principal_id=fresh.id, key_id=fresh.key_id,
                                               public_key=pb.PublicKey(algorithm=pb.KEY_ALGORITHM_ED25519,
                                                                       key_bytes=fresh.key.public_key_bytes))
    observed["fresh_challenge"] = observer.unary("CreateSessionChallenge", request.SerializeToString(),
                                                 "CreateSessionChallenge")[0]
    # Reflection (every file the node describes) and health.
    from grpc_reflection.v1alpha import reflection_pb2
    requests = [reflection_pb2.ServerReflectionRequest(list_services="")]
    requests += [reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
                 for symbol in ("healthledger.v1.Ledger", "grpc.health.v1.Health")]
    reflection = observer.channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                                request_serializer=lambda message: message.SerializeToString())
    try:
        answers = list(reflection(iter(requests), timeout=CALL_TIMEOUT))
        observed["reflection"] = f"OK: {len(answers)} answers"
        for answer in answers:
            observer.keep("reflection", answer)
    except grpc.RpcError as error:
        observed["reflection"] = observer.keep_error("reflection", error)
    observed["health"] = observer.unary("/grpc.health.v1.Health/Check", b"", "health")[0]
    observed["tree_size"] = tree_size
    return observed


def unauthenticated_statuses(observer: Observer, story: Story) -> dict:
    """Each private RPC called without a token (and with a made-up one)."""
    patient = story.patient.id
    calls = {
        "Query": ("stream", pb.QueryRequest(patient=patient, categories=[pb.DATA_CATEGORY_LABS],
                                            purpose=pb.PURPOSE_TREATMENT)),
        "AuditStream": ("stream", pb.AuditStreamRequest(patient=patient, start_sequence=1)),
        "ResearchFeed": ("stream", None),
        "ExportFhirBundle": ("stream", pb.ExportFhirBundleRequest(patient=patient)),
        "ProposeGrantsFromConsent": ("unary", pb.ProposeGrantsFromConsentRequest(consent_json=(
            REPO_ROOT / "Examples" / "fhir" / "consent-labs-vitals-treatment.json").read_bytes())),
        "ListGrants": ("unary", pb.ListGrantsRequest(patient=patient, include_inactive=True)),
        "GetPrincipal": ("unary", pb.GetPrincipalRequest(principal_id=patient)),
        "DeleteSession": ("unary", pb.DeleteSessionRequest()),
    }
    statuses = {}
    for method, (kind, request) in calls.items():
        body = request.SerializeToString() if request is not None else b"\x08\x01"  # start_sequence = 1
        for token in (None, "hl_" + "A" * 43):
            metadata = None if token is None else (("authorization", f"Bearer {token}"),)
            label = f"{method} {'without a token' if token is None else 'with a made-up token'}"
            if kind == "unary":
                call = observer.channel.unary_unary(SERVICE + method)
                try:
                    answer = call(body, timeout=CALL_TIMEOUT, metadata=metadata)
                    observer.keep(label, answer)
                    statuses[label] = "OK"
                except grpc.RpcError as error:
                    statuses[label] = observer.keep_error(label, error)
            else:
                call = observer.channel.unary_stream(SERVICE + method)
                try:
                    for answer in call(body, timeout=CALL_TIMEOUT, metadata=metadata):
                        observer.keep(label, answer)
                    statuses[label] = "OK"
                except grpc.RpcError as error:
                    statuses[label] = observer.keep_error(label, error)
    return statuses


def session_challenge_oracle(observer: Observer, story: Story) -> dict:
    """The session handshake for a principal on the ledger and one that is not, tried the same ways by someone who
    holds neither's key: (a) no public key and a key id that is neither's, (b) the observer's own key attached, each
    with a made-up signature or the observer's real one. The same answers mean it does not tell who is on the
    ledger."""
    absent = Principal(Ed25519SigningKey())
    own = Principal(Ed25519SigningKey())
    made_up_key_id = hashlib.sha256(b"not a key of theirs").hexdigest()
    own_public_key = public_key_message(own.key)
    attempts = {
        "made-up key, no public key": (made_up_key_id, None, lambda challenge, principal: bytes(64)),
        "own key attached": (own.key_id, own_public_key,
                             lambda challenge, principal: own.key.sign(
                                 session_message(challenge.chain_id, principal.id, challenge.challenge))),
    }
    answers = {}
    for label, principal in (("on the ledger", story.patient), ("not on the ledger", absent)):
        steps = {}
        for attempt, (key_id, public_key, sign) in attempts.items():
            masks = ((principal.id, "<principal>"), (key_id, "<key>"))

            def outcome(rpc: str, request):
                call = observer.channel.unary_unary(SERVICE + rpc)
                try:
                    return "OK", call(request.SerializeToString(), timeout=CALL_TIMEOUT)
                except grpc.RpcError as error:
                    details = error.details() or ""
                    for text, mask in masks:
                        details = details.replace(text, mask)
                    return f"{error.code().name}: {details}", None

            status, raw = outcome("CreateSessionChallenge", pb.CreateSessionChallengeRequest(
                principal_id=principal.id, key_id=key_id, public_key=public_key))
            steps[attempt + ": challenge"] = status
            if raw is None:
                continue
            challenge = pb.CreateSessionChallengeResponse.FromString(raw)
            status, _ = outcome("CreateSession", pb.CreateSessionRequest(
                principal_id=principal.id, key_id=key_id, public_key=public_key, challenge=challenge.challenge,
                signature=sign(challenge, principal)))
            steps[attempt + ": session"] = status
        answers[label] = steps
    return answers


def scan(story: Story, observer: Observer, metrics: bytes | None) -> dict:
    """Every private byte string of the story looked for in every public answer."""
    public = list(observer.answers) + ([("metrics", metrics)] if metrics is not None else [])
    joined = b"\x00".join(data for _, data in public)
    where = lambda needle: sorted({label.split("(")[0] for label, data in public if needle in data})[:5]  # noqa: E731
    leaks = []
    for label, secret in story.secrets.items():
        if len(secret) >= 8 and secret in joined:
            leaks.append({"secret": label, "found_in": where(secret)})
    # The schema that reflection serves names every enum value, and entries hold such names in their texts (a
    # denial's reason names the categories): runs of entries are looked for in everything else.
    dynamic = b"\x00".join(data for label, data in public if label != "reflection")
    for entry, seen in story.entries.items():
        for offset in range(0, max(1, len(entry) - WINDOW + 1)):
            window = entry[offset:offset + WINDOW]
            if window in dynamic:
                leaks.append({"secret": f"bytes {offset}..{offset + WINDOW} of the entry from {seen}",
                              "window": window.hex(), "found_in": where(window)})
                break
    leaf_hashes = {leaf_hash(entry): entry for entry in story.entries}
    seen_leaves = sum(1 for digest in leaf_hashes if digest in joined)
    unsalted_found = [story.entries[entry] for entry in story.entries
                      if any(leaf_hash(variant) in joined for variant in salted_variants(entry))]
    salts = [field(entry, 1) or b"" for entry in story.entries]
    return {"leaks": leaks, "public_answers": len(public), "public_bytes": len(joined),
            "secrets": len(story.secrets), "entries_known": len(story.entries),
            "leaf_hashes_seen_in_proofs": seen_leaves, "unsalted_leaf_hashes_found": unsalted_found,
            "salt_lengths": sorted({len(salt) for salt in salts}), "distinct_salts": len(set(salts))}


def run(args) -> dict:
    key = load_pem_private_key(Path(args.emergency_key).read_bytes(), password=None)
    options = [("grpc.max_receive_message_length", 8 * 1024 * 1024)]
    with grpc.insecure_channel(args.target, options=options) as private_channel, \
            grpc.insecure_channel(args.target, options=options) as public_channel:
        grpc.channel_ready_future(private_channel).result(timeout=CALL_TIMEOUT)
        client = LedgerClient(grpc, pb, ledger_service_pb2_grpc, private_channel)
        story = Story(client, Ed25519SigningKey(key))
        story.run()
        observer = Observer(public_channel)
        observed = {"statuses": story.statuses}
        observed["public"] = observe_publicly(observer, Principal(Ed25519SigningKey()))
        observed["unauthenticated"] = unauthenticated_statuses(observer, story)
        observed["session_challenge"] = session_challenge_oracle(observer, story)
    metrics = None
    if args.metrics_url:
        with urllib.request.urlopen(args.metrics_url, timeout=CALL_TIMEOUT) as response:
            metrics = response.read()
        observed["metrics_bytes"] = len(metrics)
        observed["metrics_names"] = sorted({line.split("{")[0].split(" ")[0] for line in metrics.decode().splitlines()
                                            if line and not line.startswith("#")})
    observed["scan"] = scan(story, observer, metrics)
    return observed


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target")
    parser.add_argument("--emergency-key", help="PEM of the clinician the node registered for emergencies")
    parser.add_argument("--metrics-url")
    parser.add_argument("--make-key", help="write a new Ed25519 key here (PEM) and print its principal id")
    args = parser.parse_args(argv)
    if args.make_key:
        key = Ed25519SigningKey()
        Path(args.make_key).write_bytes(key.private_key_pem())
        print(principal_id(key.public_key_bytes))
        return 0
    started = time.monotonic()
    observed = run(args)
    observed["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(observed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
