"""An independent HealthLedger client: grpcio, Python protobuf and `cryptography`, sharing no code with the
Swift node, written from the contract in proto/healthledger/v1 alone.

Its primitives come from the project's Python client package (clients/python, installed into .venv by
scripts/setup), which is such an implementation too: Ed25519 and ECDSA P-256 signing keys (P-256 signatures
converted from DER to the raw r || s the contract requires), key ids and Bech32m principal ids (BIP-350),
context-labelled signing messages, RFC 9162 inclusion and consistency proof verifiers, and the healthledger.v1
modules grpcio-tools generates from proto/. This file builds the scenarios on them by hand, at the level of
the raw stubs and bytes: signed transactions over deterministic body bytes, session login, and the checks of
block headers, checkpoints and proofs.

As a program it runs scenarios against a node and prints one JSON line: what it observed (status codes,
ids, hashes, verification verdicts), which test_ledger_interop.py asserts on.

    python_ledger_client.py --target 127.0.0.1:PORT --scenario access-story [--scenario ...]
        [--ca-file D/tls/ca.pem --server-name localhost]

It is a process apart from pytest because the healthledger.v1 modules register the same .proto file names as
the modules the rest of the interop suite generates and loads (and that suite's `grpc.*` proto packages would
shadow grpcio)."""

import argparse
import hashlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

from healthledger import messages as ledger_messages
from healthledger.keys import ECDSA_P256, ED25519, P256_ORDER, Ed25519SigningKey, verify_signature
from healthledger.keys import P256SigningKey as _P256SigningKey
from healthledger.merkle import (consistency_proof, inclusion_path, leaf_hash, merkle_tree_hash, verify_consistency,
                                 verify_inclusion)
from healthledger.principal import (PRINCIPAL_HRP, bech32m_decode_values, bech32m_encode, convert_bits, key_id,
                                    principal_id)
from healthledger.signing import context_labelled, public_key_message, session_message
from healthledger.v1 import ledger_service_pb2_grpc

CALL_TIMEOUT = 20.0
MAX_CHUNK_BYTES = 1_048_576

# --------------------------------------------------------------------------------------------------------
# Keys (identity.proto, KeyAlgorithm): the package's, and the malleated twin of a P-256 signature

class P256SigningKey(_P256SigningKey):
    """An ECDSA P-256 key pair that can also sign in the high-S form the node must accept."""

    def sign_high_s(self, message: bytes) -> bytes:
        """A signature over `message` whose s is above n/2 (the malleated twin of a low-S one)."""
        raw = self.sign(message)
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if s <= P256_ORDER // 2:
            s = P256_ORDER - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# --------------------------------------------------------------------------------------------------------
# Protobuf wire helpers, for bodies written by hand

def read_varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def top_level_fields(data: bytes) -> list[tuple[int, bytes]]:
    """(field number, the field's bytes including its tag) for each top-level field, in wire order."""
    fields, position = [], 0
    while position < len(data):
        start = position
        key, position = read_varint(data, position)
        wire_type = key & 7
        if wire_type == 0:
            _, position = read_varint(data, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 2:
            length, position = read_varint(data, position)
            position += length
        elif wire_type == 5:
            position += 4
        else:
            raise ValueError(f"wire type {wire_type} at byte {start}")
        fields.append((key >> 3, data[start:position]))
    return fields


# --------------------------------------------------------------------------------------------------------
# The client

def now_ms() -> int:
    return int(time.time() * 1000)


def transaction_id(transaction) -> str:
    """Lowercase hex SHA-256 of the body bytes: the id of the transaction and of what it creates."""
    return hashlib.sha256(transaction.body).hexdigest()


class VerificationFailure(Exception):
    """Something the node returned does not verify; the message says what."""


class Principal:
    """Someone on the ledger: a signing key, the ids derived from it, and the next transaction sequence."""

    def __init__(self, key):
        self.key = key
        self.id = principal_id(key.public_key_bytes)
        self.key_id = key_id(key.public_key_bytes)
        self.next_sequence = 1
        self.token: str | None = None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The authorization entry a session-authenticated call carries."""
        return (("authorization", f"Bearer {self.token}"),)


class LedgerClient:
    """A connection to one node, with the chain id and node keys learned from GetChainHead."""

    def __init__(self, grpc, pb, service, channel):
        self.grpc = grpc
        self.pb = pb
        self.stub = service.LedgerStub(channel)
        self.channel = channel
        head = self.stub.GetChainHead(pb.GetChainHeadRequest(), timeout=CALL_TIMEOUT)
        self.chain_id = head.chain_id
        self.first_head = head
        # Pinned as first seen (chain.proto: "or pin those first seen in GetChainHead").
        self.node_keys: dict[str, tuple[str, bytes]] = {}
        for node_key in head.node_keys:
            algorithm = {pb.KEY_ALGORITHM_ED25519: ED25519, pb.KEY_ALGORITHM_ECDSA_P256: ECDSA_P256}.get(
                node_key.public_key.algorithm, "unknown")
            if node_key.key_id != key_id(node_key.public_key.key_bytes):
                raise VerificationFailure(f"node key id {node_key.key_id} is not SHA-256 of its key bytes")
            self.node_keys[node_key.key_id] = (algorithm, node_key.public_key.key_bytes)

    # Status handling -------------------------------------------------------------------------------

    def status_of(self, function, *arguments, **keywords) -> tuple[str, object]:
        """Runs a call; returns ("OK", its result) or (the status code name, "details")."""
        try:
            return "OK", function(*arguments, **keywords)
        except self.grpc.RpcError as error:
            return error.code().name, error.details()

    def must(self, step: str, function, *arguments, **keywords):
        """Runs a call that has to succeed; raises with the step and the status when it does not."""
        status, result = self.status_of(function, *arguments, **keywords)
        if status != "OK":
            raise VerificationFailure(f"{step}: {status}: {result}")
        return result

    # Transactions ----------------------------------------------------------------------------------

    def public_key_message(self, principal: Principal):
        return public_key_message(principal.key)

    def body(self, author: Principal, operation: str, value, sequence: int | None = None):
        """A TransactionBody message for the author's next sequence (not consumed until signed)."""
        body = self.pb.TransactionBody(chain_id=self.chain_id, author=author.id,
                                       sequence=author.next_sequence if sequence is None else sequence,
                                       created_at_unix_ms=now_ms())
        getattr(body, operation).CopyFrom(value)
        return body

    def sign_body_bytes(self, author: Principal, body_bytes: bytes, first: bool):
        """A SignedTransaction over exactly `body_bytes`; the public key goes along on the first one."""
        transaction = self.pb.SignedTransaction(body=body_bytes, signature=author.key.sign(body_bytes),
                                                key_id=author.key_id)
        if first:
            transaction.public_key.CopyFrom(self.public_key_message(author))
        return transaction

    def sign(self, author: Principal, operation: str, value):
        """Signs the deterministic encoding of the author's next transaction and consumes its sequence."""
        body = self.body(author, operation, value)
        transaction = self.sign_body_bytes(author, body.SerializeToString(deterministic=True),
                                           first=body.sequence == 1)
        author.next_sequence += 1
        return transaction

    def write_requests(self, transaction, content: bytes):
        """The Write request stream: the transaction, then the content in chunks of at most 1 MiB."""
        yield self.pb.WriteRequest(transaction=transaction)
        for offset in range(0, len(content), MAX_CHUNK_BYTES):
            chunk = self.pb.ContentChunk(data=content[offset:offset + MAX_CHUNK_BYTES], offset_bytes=offset)
            yield self.pb.WriteRequest(chunk=chunk)

    # Sessions and reads ----------------------------------------------------------------------------

    def open_session(self, principal: Principal) -> None:
        """CreateSessionChallenge, sign the challenge, CreateSession; keeps the token on the principal."""
        public_key = self.public_key_message(principal)
        challenge = self.must("CreateSessionChallenge", self.stub.CreateSessionChallenge,
                              self.pb.CreateSessionChallengeRequest(principal_id=principal.id,
                                                                    key_id=principal.key_id,
                                                                    public_key=public_key),
                              timeout=CALL_TIMEOUT)
        if challenge.chain_id != self.chain_id:
            raise VerificationFailure(f"challenge chain id {challenge.chain_id!r}, head says {self.chain_id!r}")
        signature = principal.key.sign(session_message(challenge.chain_id, principal.id, challenge.challenge))
        session = self.must("CreateSession", self.stub.CreateSession,
                            self.pb.CreateSessionRequest(principal_id=principal.id, key_id=principal.key_id,
                                                         public_key=public_key, challenge=challenge.challenge,
                                                         signature=signature, requested_ttl_ms=600_000),
                            timeout=CALL_TIMEOUT)
        principal.token = session.token

    def query(self, principal: Principal, request) -> tuple[str, list | str]:
        """Runs a Query to its end: ("OK", every response) or (status name, details)."""
        return self.status_of(lambda: list(self.stub.Query(request, metadata=principal.metadata(),
                                                           timeout=CALL_TIMEOUT)))

    def audit_replay(self, principal: Principal, patient: str, start_sequence: int = 1) -> list:
        """Every AuditStream response of a non-following replay."""
        request = self.pb.AuditStreamRequest(patient=patient, start_sequence=start_sequence, follow=False)
        return self.must("AuditStream", lambda: list(self.stub.AuditStream(request, metadata=principal.metadata(),
                                                                           timeout=CALL_TIMEOUT)))

    # Verification ----------------------------------------------------------------------------------

    def _node_key(self, node_key_id: str) -> tuple[str, bytes]:
        if node_key_id not in self.node_keys:
            raise VerificationFailure(f"signed by {node_key_id}, not a node key from GetChainHead "
                                      f"({sorted(self.node_keys)})")
        return self.node_keys[node_key_id]

    def _deterministic(self, message_class, data: bytes, what: str):
        message = message_class.FromString(data)
        if message.SerializeToString(deterministic=True) != data:
            raise VerificationFailure(f"{what} bytes are not the deterministic encoding of what they decode to")
        return message

    def verify_checkpoint(self, signed):
        """Checks the node signature of a SignedCheckpoint; returns the decoded Checkpoint."""
        algorithm, key_bytes = self._node_key(signed.node_key_id)
        if not verify_signature(algorithm, key_bytes, context_labelled("healthledger.v1.checkpoint", signed.checkpoint),
                                signed.signature):
            raise VerificationFailure(f"checkpoint signature does not verify under node key {signed.node_key_id}")
        checkpoint = self._deterministic(self.pb.Checkpoint, signed.checkpoint, "checkpoint")
        if checkpoint.chain_id != self.chain_id:
            raise VerificationFailure(f"checkpoint of chain {checkpoint.chain_id!r}")
        return checkpoint

    def verify_block_header(self, signed):
        """Checks the node signature of a SignedBlockHeader; returns the decoded BlockHeader."""
        algorithm, key_bytes = self._node_key(signed.node_key_id)
        if not verify_signature(algorithm, key_bytes, context_labelled("healthledger.v1.block-header", signed.header),
                                signed.signature):
            raise VerificationFailure(f"block header signature does not verify under node key {signed.node_key_id}")
        header = self._deterministic(self.pb.BlockHeader, signed.header, "block header")
        if header.chain_id != self.chain_id:
            raise VerificationFailure(f"block header of chain {header.chain_id!r}")
        return header

    def prove_inclusion(self, entry: bytes, entry_index: int) -> str:
        """Fetches an inclusion proof of `entry` at `entry_index` against the latest checkpoint and checks
        it and the checkpoint's signature; "ok" or what failed."""
        try:
            response = self.must(f"GetInclusionProof({entry_index})", self.stub.GetInclusionProof,
                                 self.pb.GetInclusionProofRequest(leaf_index=entry_index), timeout=CALL_TIMEOUT)
            checkpoint = self.verify_checkpoint(response.checkpoint)
            proof = response.proof
            if proof.leaf_index != entry_index:
                return f"proof is for leaf {proof.leaf_index}, asked {entry_index}"
            if proof.tree_size != checkpoint.tree_size:
                return f"proof tree size {proof.tree_size}, checkpoint tree size {checkpoint.tree_size}"
            if not verify_inclusion(proof.leaf_index, proof.tree_size, leaf_hash(entry), list(proof.audit_path),
                                    checkpoint.root_hash):
                return (f"inclusion proof of leaf {entry_index} in tree size {proof.tree_size} "
                        f"({len(proof.audit_path)} hashes) does not lead to the checkpoint root")
        except VerificationFailure as failure:
            return str(failure)
        return "ok"


# --------------------------------------------------------------------------------------------------------
# Scenarios: each returns what it observed, as JSON-ready values

def _enum_names(enum, values) -> list[str]:
    return [enum.Name(value) for value in values]


def scenario_vectors(client: LedgerClient | None) -> dict:
    """The library's own primitives against published vectors and trees built here (no node needed)."""
    observed = {}
    rfc8032_key = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    observed["example_key_id"] = key_id(rfc8032_key)
    observed["example_principal_id"] = principal_id(rfc8032_key)
    hrp, values = bech32m_decode_values(observed["example_principal_id"])
    observed["example_round_trip"] = (hrp == PRINCIPAL_HRP and
                                      bytes(convert_bits(values, 5, 8, pad=False)) ==
                                      hashlib.sha256(rfc8032_key).digest()[:20])
    # BIP-350's valid Bech32m strings, and Bech32 (BIP-173) strings, which must not pass as Bech32m.
    valid = ["A1LQFN3A", "a1lqfn3a",
             "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
             "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
             "11" + "l" * 83 + "udsr8",  # the 90-character vector
             "split1checkupstagehandshakeupstreamerranterredcaperredlc445v", "?1v759aa"]
    bech32_only = ["A12UEL5L", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                   "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"]
    observed["bip350_valid_accepted"] = [_accepts(text) for text in valid]
    observed["bech32_rejected"] = [not _accepts(text) for text in bech32_only]
    # RFC 9162 verifiers against PATH and PROOF over trees of 1 to 20 entries, and tampered proofs.
    inclusion_ok = consistency_ok = tampered_rejected = True
    for size in range(1, 21):
        entries = [f"entry {i}".encode() for i in range(size)]
        root = merkle_tree_hash(entries)
        for index in range(size):
            path = inclusion_path(index, entries)
            inclusion_ok &= verify_inclusion(index, size, leaf_hash(entries[index]), path, root)
            tampered_rejected &= not verify_inclusion(index, size, leaf_hash(b"other"), path, root)
            if path:
                bad = [bytes([path[0][0] ^ 1]) + path[0][1:]] + path[1:]
                tampered_rejected &= not verify_inclusion(index, size, leaf_hash(entries[index]), bad, root)
            if size > 1:
                tampered_rejected &= not verify_inclusion((index + 1) % size, size, leaf_hash(entries[index]),
                                                          path, root)
        for first in range(1, size + 1):
            first_root = merkle_tree_hash(entries[:first])
            proof = consistency_proof(first, entries)
            consistency_ok &= verify_consistency(first, size, first_root, root, proof)
            if first < size:
                tampered_rejected &= not verify_consistency(first, size, first_root, hashlib.sha256(b"x").digest(),
                                                            proof)
                tampered_rejected &= not verify_consistency(first, size, hashlib.sha256(b"x").digest(), root, proof)
    observed["rfc9162_inclusion_verifies"] = inclusion_ok
    observed["rfc9162_consistency_verifies"] = consistency_ok
    observed["rfc9162_tampered_rejected"] = tampered_rejected
    # Signatures: raw forms, lengths, and that a flipped bit fails.
    message = b"healthledger interop"
    checks = []
    for key in (Ed25519SigningKey(), P256SigningKey()):
        signature = key.sign(message)
        flipped = bytes([signature[0] ^ 1]) + signature[1:]
        checks.append({"algorithm": key.algorithm, "public_key_bytes": len(key.public_key_bytes),
                       "signature_bytes": len(signature),
                       "verifies": verify_signature(key.algorithm, key.public_key_bytes, message, signature),
                       "flipped_rejected": not verify_signature(key.algorithm, key.public_key_bytes, message, flipped)})
    p256 = P256SigningKey()
    high = p256.sign_high_s(message)
    checks.append({"algorithm": "ECDSA_P256 high-S", "high_s": int.from_bytes(high[32:], "big") > P256_ORDER // 2,
                   "verifies": verify_signature(ECDSA_P256, p256.public_key_bytes, message, high)})
    observed["signatures"] = checks
    observed["p256_public_key_prefix"] = p256.public_key_bytes[:1].hex()
    return observed


def _accepts(text: str) -> bool:
    try:
        bech32m_decode_values(text)
    except ValueError:
        return False
    return True


def scenario_access_story(client: LedgerClient) -> dict:
    """A patient (Ed25519) grants a clinician (ECDSA P-256) READ on labs for an hour, writes a 2.5 MiB lab
    record, the clinician reads it and is refused clinical notes, the patient revokes, the clinician is
    refused labs, and the patient's audit trail shows the clinician's events with inclusion proofs."""
    pb = client.pb
    observed: dict = {"chain_id": client.chain_id}
    patient = Principal(Ed25519SigningKey())
    clinician = Principal(P256SigningKey())
    observed["patient_id_length"] = len(patient.id)
    observed["clinician_id_length"] = len(clinician.id)

    # Given a patient who grants the clinician READ on labs for treatment, for one hour.
    grant = pb.Grant(patient=patient.id, grantee=clinician.id, actions=[pb.ACTION_READ],
                     categories=[pb.DATA_CATEGORY_LABS], purposes=[pb.PURPOSE_TREATMENT],
                     valid_until_unix_ms=now_ms() + 3_600_000, effect=pb.EFFECT_PERMIT, note="labs, one hour")
    grant_transaction = client.sign(patient, "grant", grant)
    granted = client.must("Grant", client.stub.Grant, pb.GrantRequest(transaction=grant_transaction),
                          timeout=CALL_TIMEOUT)
    grant_id = transaction_id(grant_transaction)
    observed["grant"] = {"grant_id": granted.grant_id, "expected_grant_id": grant_id,
                         "receipt_transaction_id": granted.receipt.transaction_id,
                         "block_height": granted.receipt.block_height}

    # And a 2.5 MiB lab record the patient writes in 1 MiB chunks.
    content = os.urandom(2 * MAX_CHUNK_BYTES + MAX_CHUNK_BYTES // 2)
    metadata = pb.RecordMetadata(patient=patient.id, category=pb.DATA_CATEGORY_LABS,
                                 content_sha256=hashlib.sha256(content).digest(), size_bytes=len(content),
                                 media_type="application/octet-stream", effective_at_unix_ms=now_ms() - 86_400_000,
                                 labels={"fhir.resource": "Observation", "study": "full blood count"})
    write_transaction = client.sign(patient, "write_record", metadata)
    requests = list(client.write_requests(write_transaction, content))
    observed["write_chunk_sizes"] = [len(request.chunk.data) for request in requests[1:]]
    written = client.must("Write", client.stub.Write, iter(requests), timeout=CALL_TIMEOUT)
    record_id = transaction_id(write_transaction)
    observed["write"] = {"record_id": written.record_id, "expected_record_id": record_id,
                         "receipt_transaction_id": written.receipt.transaction_id,
                         "entry_index": written.receipt.entry_index, "block_height": written.receipt.block_height}

    # When the clinician queries labs, the exact bytes come back.
    client.open_session(clinician)
    labs = pb.QueryRequest(patient=patient.id, categories=[pb.DATA_CATEGORY_LABS], purpose=pb.PURPOSE_TREATMENT,
                           include_content=True)
    status, responses = client.query(clinician, labs)
    observed["labs_query_status"] = status if status == "OK" else f"{status}: {responses}"
    if status == "OK":
        observed["labs_query"] = _describe_query(client, responses, write_transaction, metadata)
    observed["content_sha256"] = hashlib.sha256(content).hexdigest()
    observed["content_size"] = len(content)

    # But clinical notes are refused.
    notes = pb.QueryRequest(patient=patient.id, categories=[pb.DATA_CATEGORY_CLINICAL_NOTES],
                            purpose=pb.PURPOSE_TREATMENT, include_content=True)
    observed["notes_query_status"] = client.query(clinician, notes)[0]

    # When the patient revokes, the next labs query is refused.
    revoke_transaction = client.sign(patient, "revoke", pb.Revoke(grant_id=grant_id))
    revoked = client.must("Revoke", client.stub.Revoke, pb.RevokeRequest(transaction=revoke_transaction),
                          timeout=CALL_TIMEOUT)
    observed["revoke_receipt_transaction_id_matches"] = (revoked.receipt.transaction_id ==
                                                         transaction_id(revoke_transaction))
    observed["labs_after_revoke_status"] = client.query(clinician, labs)[0]

    # Then the patient's audit trail lists the clinician's events, each provably in the log.
    client.open_session(patient)
    replay = client.audit_replay(patient, patient.id, start_sequence=1)
    observed["audit_replay_completed_count"] = sum(1 for item in replay
                                                   if item.WhichOneof("item") == "replay_completed")
    observed["audit_last_item"] = replay[-1].WhichOneof("item") if replay else None
    events = []
    for item in replay:
        if item.WhichOneof("item") != "event":
            continue
        event = item.event.event
        actor = {patient.id: "patient", clinician.id: "clinician"}.get(event.actor, event.actor)
        entry = pb.LedgerEntry.FromString(item.event.ledger_entry)
        events.append({
            "sequence": event.sequence, "actor": actor,
            "patient_matches": event.patient == patient.id,
            "action": pb.Action.Name(event.action), "outcome": pb.Outcome.Name(event.outcome),
            "categories": _enum_names(pb.DataCategory, event.categories),
            "purpose": pb.Purpose.Name(event.purpose), "basis": pb.DecisionBasis.Name(event.basis),
            "deciding_grant_ids": list(event.deciding_grant_ids),
            "released_record_ids": [released.record_id for released in event.released_records],
            "released_sha256": [released.content_sha256.hex() for released in event.released_records],
            "entry_index": event.entry_index, "block_height": event.block_height,
            "ledger_entry_holds_event": entry.WhichOneof("entry") == "audit_event" and entry.audit_event == event,
            "ledger_entry_deterministic": entry.SerializeToString(deterministic=True) == item.event.ledger_entry,
            "salt_bytes": len(entry.salt),
            "inclusion": client.prove_inclusion(item.event.ledger_entry, event.entry_index),
        })
    observed["audit_events"] = events
    observed["grant_id"] = grant_id
    observed["record_id"] = record_id
    return observed


def _describe_query(client: LedgerClient, responses: list, write_transaction, metadata) -> dict:
    """What a successful labs Query sent: the started message, then per record its metadata, chunks and
    the bytes' SHA-256, and whether its ledger entry is the write we signed and is in the log."""
    pb = client.pb
    described: dict = {"kinds": [response.WhichOneof("part") for response in responses], "records": []}
    first = responses[0] if responses else None
    if first is not None and first.WhichOneof("part") == "started":
        described["started"] = {"record_count": first.started.record_count,
                                "total_content_bytes": first.started.total_content_bytes,
                                "audit_sequence": first.started.audit_sequence}
    current = None
    for response in responses:
        part = response.WhichOneof("part")
        if part == "record":
            record = response.record
            entry = pb.LedgerEntry.FromString(record.ledger_entry)
            current = {"record_id": record.record_id, "metadata_matches": record.metadata == metadata,
                       "content_erased": record.content_erased,
                       "ledger_entry_is_the_write": (entry.WhichOneof("entry") == "transaction" and
                                                     entry.transaction == write_transaction),
                       "entry_index": record.location.entry_index, "block_height": record.location.block_height,
                       "inclusion": client.prove_inclusion(record.ledger_entry, record.location.entry_index),
                       "chunk_sizes": [], "offsets_contiguous": True, "_content": bytearray()}
            described["records"].append(current)
        elif part == "chunk" and current is not None:
            if response.chunk.offset_bytes != len(current["_content"]):
                current["offsets_contiguous"] = False
            current["chunk_sizes"].append(len(response.chunk.data))
            current["_content"] += response.chunk.data
    for record in described["records"]:
        content = record.pop("_content")
        record["content_size"] = len(content)
        record["content_sha256"] = hashlib.sha256(content).hexdigest()
    return described


def scenario_fhir_content(client: LedgerClient) -> dict:
    """A patient writes a FHIR Observation (application/fhir+json) as labs and reads it back; a Patient resource
    as labs and an Observation without its closing brace are refused, and the sequence each refused write used is
    still free afterwards (nothing was applied)."""
    pb = client.pb
    observed: dict = {}
    patient = Principal(Ed25519SigningKey())

    def write(content: bytes, media_type: str) -> tuple[str, object]:
        metadata = pb.RecordMetadata(patient=patient.id, category=pb.DATA_CATEGORY_LABS,
                                     content_sha256=hashlib.sha256(content).digest(), size_bytes=len(content),
                                     media_type=media_type)
        transaction = client.sign(patient, "write_record", metadata)
        status, result = client.status_of(client.stub.Write, client.write_requests(transaction, content),
                                          timeout=CALL_TIMEOUT)
        if status != "OK":
            patient.next_sequence -= 1  # refused: the sequence was not used
        return status, result

    observation = (b'{"resourceType": "Observation", "status": "final",\n'
                   b' "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},\n'
                   b' "valueQuantity": {"value": 4.10, "unit": "mmol/L"}}\n')
    status, result = write(observation, "application/fhir+json; fhirVersion=4.0")
    observed["observation_status"] = status if status == "OK" else f"{status}: {result}"
    observed["observation_sequence"] = patient.next_sequence - 1

    refusals = {}
    for name, content in {"patient_as_labs": b'{"resourceType": "Patient", "name": [{"family": "Ng"}]}',
                          "unclosed": observation.rstrip()[:-1]}.items():
        refusals[name] = dict(zip(("status", "details"), write(content, "application/fhir+json")))
    observed["refusals"] = refusals

    second = b'{"resourceType":"DiagnosticReport","status":"final","code":{"text":"electrolytes"}}'
    status, result = write(second, "application/fhir+json")
    observed["next_write_status"] = status if status == "OK" else f"{status}: {result}"
    observed["next_write_sequence"] = patient.next_sequence - 1

    client.open_session(patient)
    request = pb.QueryRequest(patient=patient.id, categories=[pb.DATA_CATEGORY_LABS],
                              purpose=pb.PURPOSE_PATIENT_REQUEST, include_content=True)
    status, responses = client.query(patient, request)
    observed["query_status"] = status if status == "OK" else f"{status}: {responses}"
    contents: list[bytearray] = []
    media_types: list[str] = []
    for response in responses if status == "OK" else []:
        part = response.WhichOneof("part")
        if part == "record":
            contents.append(bytearray())
            media_types.append(response.record.metadata.media_type)
        elif part == "chunk" and contents:
            contents[-1] += response.chunk.data
    observed["returned_contents"] = [bytes(content).decode() for content in contents]
    observed["returned_media_types"] = media_types
    observed["written_contents"] = [observation.decode(), second.decode()]
    return observed


def _hand_reordered(body: bytes) -> bytes:
    """The same fields, written in another order (sequence, then chain id, then the rest): a valid protobuf
    encoding of the same message that is not the deterministic one."""
    fields = top_level_fields(body)
    by_number = {number: raw for number, raw in fields}
    order = [3, 1] + [number for number, _ in fields if number not in (1, 3)]
    return b"".join(by_number[number] for number in order)


def scenario_rejections(client: LedgerClient) -> dict:
    """Replay, a tampered signature, a tampered body, a non-deterministic body, malformed principal ids,
    session challenges signed wrongly or used twice, a read without a token, and a high-S ECDSA twin."""
    pb = client.pb
    observed: dict = {}
    patient = Principal(Ed25519SigningKey())
    grantee = Principal(P256SigningKey())

    def grant_to(target: Principal, note: str):
        return pb.Grant(patient=patient.id, grantee=target.id, actions=[pb.ACTION_READ],
                        categories=[pb.DATA_CATEGORY_VITALS], purposes=[pb.PURPOSE_TREATMENT],
                        effect=pb.EFFECT_PERMIT, note=note)

    def submit(transaction) -> str:
        return client.status_of(client.stub.Grant, pb.GrantRequest(transaction=transaction), timeout=CALL_TIMEOUT)[0]

    # Replay: the same signed Grant twice.
    first = client.sign(patient, "grant", grant_to(grantee, "first"))
    observed["first_grant"] = submit(first)
    observed["replayed_grant"] = submit(first)

    # A tampered signature (one bit), then a body changed under the original signature.
    second = client.sign(patient, "grant", grant_to(grantee, "second"))
    tampered = pb.SignedTransaction()
    tampered.CopyFrom(second)
    tampered.signature = bytes([second.signature[0] ^ 0x01]) + second.signature[1:]
    observed["tampered_signature"] = submit(tampered)
    changed_body = pb.TransactionBody.FromString(second.body)
    changed_body.grant.note = "second, changed"
    tampered_body = pb.SignedTransaction()
    tampered_body.CopyFrom(second)
    tampered_body.body = changed_body.SerializeToString(deterministic=True)
    observed["tampered_body"] = submit(tampered_body)
    observed["second_grant_after_tampering"] = submit(second)

    # A body in another field order, correctly signed for its sequence.
    body = client.body(patient, "grant", grant_to(grantee, "third"))
    deterministic = body.SerializeToString(deterministic=True)
    reordered = _hand_reordered(deterministic)
    observed["reordered_differs"] = reordered != deterministic
    observed["reordered_decodes_to_same"] = pb.TransactionBody.FromString(reordered) == body
    observed["reordered_first_field"] = top_level_fields(reordered)[0][0]
    observed["non_deterministic_body"] = submit(client.sign_body_bytes(patient, reordered, first=False))
    observed["deterministic_body_same_sequence"] = submit(client.sign_body_bytes(patient, deterministic, first=False))
    patient.next_sequence += 1

    # Principal ids the node must refuse (identity.proto: only the exact lowercase Bech32m form): a typo,
    # the uppercase form, and the same 20 bytes under the original Bech32 checksum.
    payload = hashlib.sha256(grantee.key.public_key_bytes).digest()[:20]
    typo = grantee.id[:-1] + ("q" if grantee.id[-1] != "q" else "p")
    for label, grantee_id in (("grantee_typo", typo), ("grantee_uppercase", grantee.id.upper()),
                              ("grantee_bech32_not_bech32m", bech32m_encode(PRINCIPAL_HRP, payload, constant=1))):
        grant = grant_to(grantee, label)
        grant.grantee = grantee_id
        body = client.body(patient, "grant", grant).SerializeToString(deterministic=True)
        observed[label] = submit(client.sign_body_bytes(patient, body, first=False))
    observed["grantee_after_bad_ids"] = submit(client.sign(patient, "grant", grant_to(grantee, "fourth")))

    # Sessions: a challenge signed under another context label, and a challenge used twice.
    public_key = client.public_key_message(grantee)

    def challenge() -> bytes:
        return client.must("CreateSessionChallenge", client.stub.CreateSessionChallenge,
                           pb.CreateSessionChallengeRequest(principal_id=grantee.id, key_id=grantee.key_id,
                                                            public_key=public_key), timeout=CALL_TIMEOUT).challenge

    def create_session(challenge_bytes: bytes, signed_message: bytes) -> str:
        request = pb.CreateSessionRequest(principal_id=grantee.id, key_id=grantee.key_id, public_key=public_key,
                                          challenge=challenge_bytes, signature=grantee.key.sign(signed_message))
        return client.status_of(client.stub.CreateSession, request, timeout=CALL_TIMEOUT)[0]

    wrong_context = challenge()
    session_payload = client.chain_id.encode() + b"\x00" + grantee.id.encode() + b"\x00" + wrong_context
    observed["session_wrong_context"] = create_session(
        wrong_context, context_labelled("healthledger.v1.block-header", session_payload))
    fresh = challenge()
    observed["session_first_use"] = create_session(fresh, session_message(client.chain_id, grantee.id, fresh))
    observed["session_challenge_reused"] = create_session(fresh, session_message(client.chain_id, grantee.id, fresh))
    query = pb.QueryRequest(patient=patient.id, categories=[pb.DATA_CATEGORY_VITALS], purpose=pb.PURPOSE_TREATMENT)
    observed["query_without_token"] = client.status_of(lambda: list(client.stub.Query(query, timeout=CALL_TIMEOUT)))[0]

    # An ECDSA P-256 author, and the high-S twin of its signature over the same body.
    p256_patient = Principal(P256SigningKey())
    p256_grant = pb.Grant(patient=p256_patient.id, grantee=grantee.id, actions=[pb.ACTION_READ],
                          categories=[pb.DATA_CATEGORY_VITALS], purposes=[pb.PURPOSE_TREATMENT],
                          effect=pb.EFFECT_PERMIT)
    p256_transaction = client.sign(p256_patient, "grant", p256_grant)
    observed["p256_grant"] = submit(p256_transaction)
    twin = pb.SignedTransaction()
    twin.CopyFrom(p256_transaction)
    twin.signature = p256_patient.key.sign_high_s(p256_transaction.body)
    observed["p256_high_s_twin"] = submit(twin)
    return observed


def scenario_chain(client: LedgerClient) -> dict:
    """Commits a few transactions, then checks every block header from height 1 (signature, link to the
    previous header, log indexes, root against its checkpoint) and consistency proofs from the first
    non-empty checkpoint, and every later one, to the latest."""
    pb = client.pb
    observed: dict = {}
    patient = Principal(Ed25519SigningKey())
    for index in range(3):
        grantee = Principal(Ed25519SigningKey())
        grant = pb.Grant(patient=patient.id, grantee=grantee.id, actions=[pb.ACTION_READ],
                         categories=[pb.DATA_CATEGORY_ALLERGIES], purposes=[pb.PURPOSE_TREATMENT],
                         effect=pb.EFFECT_PERMIT, note=f"chain {index}")
        client.must("Grant", client.stub.Grant, pb.GrantRequest(transaction=client.sign(patient, "grant", grant)),
                    timeout=CALL_TIMEOUT)

    head = client.must("GetChainHead", client.stub.GetChainHead, pb.GetChainHeadRequest(), timeout=CALL_TIMEOUT)
    head_header = client.verify_block_header(head.head)
    head_checkpoint = client.verify_checkpoint(head.checkpoint)
    observed["head"] = {"height": head.height, "header_height": head_header.height, "tree_size": head.tree_size,
                        "checkpoint_tree_size": head_checkpoint.tree_size,
                        "checkpoint_block_height": head_checkpoint.block_height,
                        "roots_agree": head_header.tree_root_hash == head_checkpoint.root_hash}

    stream = client.must("GetBlocks", lambda: list(client.stub.GetBlocks(pb.GetBlocksRequest(start_height=1),
                                                                         timeout=CALL_TIMEOUT)))
    problems: list[str] = []
    headers = []
    previous_bytes = None
    previous = None
    for response in stream:
        try:
            header = client.verify_block_header(response.block)
        except VerificationFailure as failure:
            problems.append(f"block #{len(headers) + 1}: {failure}")
            header = pb.BlockHeader.FromString(response.block.header)
        expected_previous = hashlib.sha256(previous_bytes).digest() if previous_bytes is not None else bytes(32)
        if header.previous_block_hash != expected_previous:
            problems.append(f"block {header.height}: previous_block_hash {header.previous_block_hash.hex()} is not "
                            f"SHA-256 of block {header.height - 1}'s header ({expected_previous.hex()})")
        expected_height = 1 if previous is None else previous.height + 1
        if header.height != expected_height:
            problems.append(f"block at position {len(headers) + 1} has height {header.height}, "
                            f"expected {expected_height}")
        expected_first = 0 if previous is None else previous.first_entry_index + previous.entry_count
        if header.first_entry_index != expected_first:
            problems.append(f"block {header.height}: first_entry_index {header.first_entry_index}, "
                            f"expected {expected_first}")
        if previous is not None and header.time_unix_ms < previous.time_unix_ms:
            problems.append(f"block {header.height}: time goes back")
        if header.entry_count == 0 and header.entries_root_hash != hashlib.sha256(b"").digest():
            problems.append(f"block {header.height}: empty block's entries_root_hash is not SHA-256('')")
        if header.first_entry_index + header.entry_count == 0 and header.tree_root_hash != hashlib.sha256(b"").digest():
            problems.append(f"block {header.height}: the empty log's tree_root_hash is not SHA-256('')")
        headers.append(header)
        previous, previous_bytes = header, response.block.header
    observed["block_count"] = len(headers)
    observed["last_block_is_head"] = bool(stream) and stream[-1].block.header == head.head.header

    # Every block's end has a checkpoint whose root is the header's tree root.
    sizes = []
    roots = {}
    for header in headers:
        size = header.first_entry_index + header.entry_count
        status, response = client.status_of(client.stub.GetCheckpoint, pb.GetCheckpointRequest(tree_size=size),
                                            timeout=CALL_TIMEOUT)
        if status != "OK":  # chain.proto: "A checkpoint exists for the log size at the end of every block."
            problems.append(f"GetCheckpoint({size}) for block {header.height}: {status}: {response}")
            continue
        try:
            checkpoint = client.verify_checkpoint(response.checkpoint)
        except VerificationFailure as failure:
            problems.append(f"checkpoint {size}: {failure}")
            continue
        if checkpoint.tree_size != size:
            problems.append(f"GetCheckpoint({size}) returned tree size {checkpoint.tree_size}")
        if checkpoint.root_hash != header.tree_root_hash:
            problems.append(f"checkpoint {size}: root differs from block {header.height}'s tree_root_hash")
        if size > 0 and size not in roots:
            sizes.append(size)
        roots[size] = checkpoint.root_hash
    observed["block_problems"] = problems
    observed["checkpoint_sizes"] = sizes

    # Consistency from the first non-empty checkpoint, and each later one, to the latest.
    consistency = []
    latest = head_checkpoint.tree_size
    for first in sizes:
        status, response = client.status_of(client.stub.GetConsistencyProof,
                                            pb.GetConsistencyProofRequest(first_tree_size=first), timeout=CALL_TIMEOUT)
        if status != "OK":
            consistency.append({"first": first, "verdict": f"{status}: {response}"})
            continue
        try:
            older = client.verify_checkpoint(response.first_checkpoint)
            newer = client.verify_checkpoint(response.second_checkpoint)
        except VerificationFailure as failure:
            consistency.append({"first": first, "verdict": str(failure)})
            continue
        proof = response.proof
        if (proof.first_tree_size, proof.second_tree_size) != (older.tree_size, newer.tree_size):
            verdict = (f"proof sizes {proof.first_tree_size}->{proof.second_tree_size}, checkpoints "
                       f"{older.tree_size}->{newer.tree_size}")
        elif (older.tree_size, newer.tree_size) != (first, latest):
            verdict = f"checkpoints {older.tree_size}->{newer.tree_size}, asked {first}->latest {latest}"
        elif older.root_hash != roots.get(first):
            verdict = "first checkpoint root differs from GetCheckpoint's"
        elif not verify_consistency(first, newer.tree_size, older.root_hash, newer.root_hash,
                                    list(proof.consistency_path)):
            verdict = (f"consistency proof {first}->{newer.tree_size} ({len(proof.consistency_path)} hashes) "
                       f"does not verify")
        else:
            verdict = "ok"
        consistency.append({"first": first, "second": newer.tree_size, "verdict": verdict})
    observed["consistency"] = consistency
    return observed


def scenario_reflection(client: LedgerClient) -> dict:
    """Server reflection (grpcio-reflection's descriptor database) and grpc.health.v1 Check."""
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    observed: dict = {}
    database = ProtoReflectionDescriptorDatabase(client.channel)
    observed["services"] = sorted(database.get_services())
    pool = DescriptorPool(database)
    service = pool.FindServiceByName("healthledger.v1.Ledger")
    observed["ledger_file"] = service.file.name
    observed["ledger_methods"] = {
        name: {"input": method.input_type.full_name, "output": method.output_type.full_name,
               "client_streaming": method.client_streaming, "server_streaming": method.server_streaming}
        for name, method in service.methods_by_name.items()}
    body = pool.FindMessageTypeByName("healthledger.v1.TransactionBody")
    observed["transaction_body_fields"] = {field.name: field.number for field in body.fields}
    stub = health_pb2_grpc.HealthStub(client.channel)
    observed["health"] = {}
    for name in ("", "healthledger.v1.Ledger"):
        status, response = client.status_of(stub.Check, health_pb2.HealthCheckRequest(service=name),
                                            timeout=CALL_TIMEOUT)
        observed["health"][name] = (health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
                                    if status == "OK" else status)
    return observed


SCENARIOS = {"vectors": scenario_vectors, "access-story": scenario_access_story,
             "rejections": scenario_rejections, "chain": scenario_chain, "reflection": scenario_reflection,
             "fhir-content": scenario_fhir_content}


# --------------------------------------------------------------------------------------------------------
# Program

def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="host:port of the node (not needed for the vectors scenario)")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("--ca-file", help="PEM CA to trust; TLS when given, plaintext (h2c) otherwise")
    parser.add_argument("--server-name", default="localhost", help="TLS server name to verify")
    return parser.parse_args(argv)


def make_channel(grpc, args):
    options = [("grpc.max_receive_message_length", 8 * 1024 * 1024)]
    if not args.ca_file:
        return grpc.insecure_channel(args.target, options=options)
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(args.ca_file).read_bytes())
    return grpc.secure_channel(args.target, credentials,
                               options=options + [("grpc.ssl_target_name_override", args.server_name)])


def run(args) -> dict:
    results = {}
    if all(name == "vectors" for name in args.scenario):
        return {name: SCENARIOS[name](None) for name in args.scenario}
    import grpc
    pb, service = ledger_messages, ledger_service_pb2_grpc
    with make_channel(grpc, args) as channel:
        grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT)
        client = LedgerClient(grpc, pb, service, channel)
        for name in args.scenario:
            started = time.monotonic()
            try:
                results[name] = SCENARIOS[name](client)
            except VerificationFailure as failure:
                results[name] = {"error": str(failure)}
            except grpc.RpcError as error:
                results[name] = {"error": f"unexpected {error.code().name}: {error.details()}"}
            except Exception:  # noqa: BLE001 - reported to the test, which fails with it
                results[name] = {"error": traceback.format_exc()}
            results[name]["seconds"] = round(time.monotonic() - started, 2)
    return results


def main(argv) -> int:
    args = parse_arguments(argv)
    if not args.target and any(name != "vectors" for name in args.scenario):
        print("--target is required for every scenario but vectors", file=sys.stderr)
        return 2
    results = run(args)
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
