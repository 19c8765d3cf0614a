"""LedgerClient: one principal's connection to a node, or to the nodes of one cluster. It learns the chain id and
pins the node keys, keeps a session for private reads, numbers and signs the principal's transactions, resubmits a
transaction whose outcome is unknown with the very same bytes (which the replay guard makes safe), verifies what it
reads (by default every receipt, query audit event and audit stream event against its proof and a signed
checkpoint, and every checkpoint's consistency with those seen before), resumes audit streams after a dropped
connection without a gap or a duplicate, and, given several nodes, moves on to the next when one cannot serve."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import grpc

from . import messages as pb
from .audit import AuditResumePoint
from .errors import (AlreadyExistsError, LedgerError, NotFoundError, UnauthenticatedError, VerificationError,
                     from_rpc_error, ledger_error)
from .failover import DEFAULT_DOWNTIME, TargetRotation, parse_targets
from .identity import Identity
from .principal import parse_principal_id
from .signing import TransactionSigner, now_unix_ms, public_key_message, transaction_id
from .v1 import ledger_service_pb2_grpc
from .verification import CheckpointHistory, ChainVerifier, verify_content

#: Largest ContentChunk the node takes (1 MiB).
MAX_CHUNK_BYTES = 1_048_576
#: Node answers above this many bytes are refused by the channel (a ledger entry is at most 1 MiB).
MAX_RECEIVE_MESSAGE_BYTES = 8 * 1024 * 1024
#: A session is renewed when it has less than this left.
SESSION_RENEWAL_MARGIN_MS = 30_000

Response = TypeVar("Response")


@dataclass
class QueriedRecord:
    """One released record: its Record message and, when content was asked for and not erased, the content
    (checked against the size and SHA-256 in the record's signed metadata)."""

    record: pb.Record
    content: bytes | None = None


@dataclass
class FhirExport:
    """A patient's FHIR export: what ExportFhirBundleStarted said (counts, and the export's own audit events with
    their proofs), the Bundle's size in bytes, and its JSON text unless it was written to a file."""

    started: pb.ExportFhirBundleStarted | None = None
    size_bytes: int = 0
    bundle: bytes = b""


@dataclass
class QueryResult:
    """What a Query released, and the sequence of the audit event that logged it (with the event itself, its
    ledger entry and proof, as QueryStarted carried them)."""

    audit_sequence: int = 0
    records: list[QueriedRecord] = field(default_factory=list)
    audit_event: pb.LoggedAuditEvent | None = None


class LedgerClient:
    """A connection to a HealthLedger node acting as `identity` (optional for public calls only).

    `target` is the node's "host:port", or several nodes of one cluster (each serving the whole API for one chain):
    a list of targets, or one string with commas ("a:7443,b:7443"). Calls go to the first node until it fails, then
    to the next: a read the node in use answers UNAVAILABLE (unreachable, connection lost, shutting down) is asked
    of the next node at once (a stream only before its first item), and that node is passed over for
    `failover_downtime` seconds while others work; a transaction is resent with the very same signed bytes, after
    the backoff, to whichever node is in use then; a session the next node does not know is made again. With every
    node down the error names each one. One channel per node, all with the same settings.

    TLS by default, trusting `ca_file` (PEM) or the system's CAs; `plaintext=True` for h2c (a node started with
    `healthledger serve --plaintext`). `server_name` overrides the name checked in the node's certificate.
    `timeout` is the deadline, in seconds, of every unary call and of non-following streams. Use it as a
    context manager, or call close().

    With `verify_proofs` (the default) every receipt, query audit event and audit stream event is checked
    against the proof it carries and a checkpoint signed by a pinned node key (`node_keys`, else those of the
    first GetChainHead), and every checkpoint seen is proved consistent with the ones seen before
    (HistoryMismatchError when it is not: the node rewrote or forked its log). `checkpoint_file` keeps the
    pinned keys and the largest checkpoint in a JSON file across runs (written atomically);
    `checkpoint_history` shares one history between clients."""

    def __init__(self, target: str | Sequence[str], identity: Identity | None = None, *,
                 ca_file: str | os.PathLike[str] | None = None,
                 server_name: str | None = None, plaintext: bool = False, timeout: float = 30.0,
                 transaction_attempts: int = 4, retry_backoff: float = 0.1,
                 channel_options: Sequence[tuple[str, Any]] = (), verify_proofs: bool = True,
                 node_keys: Iterable[pb.NodeKey] | None = None,
                 checkpoint_file: str | os.PathLike[str] | None = None,
                 checkpoint_history: CheckpointHistory | None = None,
                 failover_downtime: float = DEFAULT_DOWNTIME):
        if plaintext and ca_file is not None:
            raise ValueError("ca_file is for TLS; a plaintext connection has no CA")
        #: Every node's target, in the order they are tried first.
        self.targets = parse_targets(target)
        self._rotation = TargetRotation(len(self.targets), failover_downtime)
        self.identity = identity
        self.timeout = timeout
        self.transaction_attempts = transaction_attempts
        self.retry_backoff = retry_backoff
        options = [("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
                   # Reconnect quickly after a node restart; grpc's default first backoff is 1 s.
                   ("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 2_000),
                   *channel_options]
        if plaintext:
            self.channels = [grpc.insecure_channel(node, options=options) for node in self.targets]
        else:
            root_certificates = Path(ca_file).read_bytes() if ca_file is not None else None
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            if server_name:
                options.append(("grpc.ssl_target_name_override", server_name))
            self.channels = [grpc.secure_channel(node, credentials, options=options) for node in self.targets]
        self._stubs = [ledger_service_pb2_grpc.LedgerStub(channel) for channel in self.channels]
        self._lock = threading.RLock()
        self._chain_id: str | None = None
        self._verifier: ChainVerifier | None = None
        self._session: tuple[str, int] | None = None
        self._next_sequence: int | None = None
        self._key_on_ledger = False
        self.verify_proofs = verify_proofs
        self.history = checkpoint_history if checkpoint_history is not None else CheckpointHistory()
        self.checkpoint_file = Path(checkpoint_file) if checkpoint_file is not None else None
        self._saved_checkpoint: pb.SignedCheckpoint | None = None
        if self.checkpoint_file is not None and self.checkpoint_file.exists():
            self._load_history(self.checkpoint_file)
        if node_keys is not None:
            self.history.node_keys = list(node_keys)

    # Lifetime -------------------------------------------------------------------------------------------

    @property
    def target(self) -> str:
        """The target of the node calls go to now (the first until one fails)."""
        return self.targets[self._rotation.current]

    @property
    def channel(self) -> grpc.Channel:
        """The channel to the node calls go to now."""
        return self.channels[self._rotation.current]

    @property
    def stub(self) -> ledger_service_pb2_grpc.LedgerStub:
        """The raw stub of the node calls go to now, for calls this client does not wrap."""
        return self._stubs[self._rotation.current]

    def close(self) -> None:
        """Closes the channels; calls in flight end with CANCELLED."""
        for channel in self.channels:
            channel.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_until_ready(self, timeout: float | None = None) -> None:
        """Blocks until a node's channel is connected, trying the nodes in turn, each for what is left of `timeout`
        seconds; that node is then the one in use. UnavailableError naming them when none connects in time."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        for index in self._rotation.attempt_order():
            try:
                grpc.channel_ready_future(self.channels[index]).result(timeout=max(deadline - time.monotonic(), 0))
            except grpc.FutureTimeoutError:
                self._rotation.failed(index)
                continue
            self._rotation.reached(index)
            return
        raise ledger_error(grpc.StatusCode.UNAVAILABLE, f"cannot reach the node at {', '.join(self.targets)}") from None

    # Calls ----------------------------------------------------------------------------------------------

    def _call(self, rpc: str, request: Any, *, failover: bool = True, **options: Any) -> Response:
        """Calls method `rpc` of the node in use. With `failover` (reads), UNAVAILABLE moves the call on to the next
        node at once, each node tried once; without (transactions: their sender resends), it is raised, and the next
        call goes to the next node."""
        options.setdefault("timeout", self.timeout)
        order = self._rotation.attempt_order() if failover else [self._rotation.current]
        failures: list[tuple[int, LedgerError]] = []
        for index in order:
            try:
                response = getattr(self._stubs[index], rpc)(request, **options)
            except grpc.RpcError as rpc_error:
                error = from_rpc_error(rpc_error, rpc)
                if error.code != grpc.StatusCode.UNAVAILABLE:
                    raise error from None
                self._rotation.failed(index)
                failures.append((index, error))
                continue
            self._rotation.reached(index)
            return response
        raise self._every_node_failed(rpc, failures) from None

    def _stream(self, rpc: str, request: Any, **options: Any) -> Iterator[Response]:
        """The responses of server-streaming method `rpc`. Before the first arrives, UNAVAILABLE moves the call on to
        the next node (nothing was released yet); after, it is raised."""
        failures: list[tuple[int, LedgerError]] = []
        for index in self._rotation.attempt_order():
            call = getattr(self._stubs[index], rpc)(request, **options)
            received = False
            try:
                for response in call:
                    if not received:
                        received = True
                        self._rotation.reached(index)
                    yield response
                self._rotation.reached(index)
                return
            except grpc.RpcError as rpc_error:
                error = from_rpc_error(rpc_error, rpc)
                if error.code != grpc.StatusCode.UNAVAILABLE:
                    raise error from None
                self._rotation.failed(index)
                if received:
                    raise error from None
                failures.append((index, error))
            finally:
                call.cancel()  # a consumer that stops early ends the call rather than leaving it open
        raise self._every_node_failed(rpc, failures) from None

    def _every_node_failed(self, rpc: str, failures: list[tuple[int, LedgerError]]) -> LedgerError:
        """UNAVAILABLE from every node tried: the node's own error when there is one node, else one naming each."""
        if len(failures) == 1:
            return failures[0][1]
        return ledger_error(grpc.StatusCode.UNAVAILABLE, f"none of the {len(failures)} nodes could serve the call: "
                            + "; ".join(f"{self.targets[index]}: {error.message}" for index, error in failures), rpc)

    # The chain ------------------------------------------------------------------------------------------

    def chain_head(self) -> pb.GetChainHeadResponse:
        """The latest GetChainHead, its header and checkpoint verified; the first one pins the node keys."""
        head = self._call("GetChainHead", pb.GetChainHeadRequest())
        with self._lock:
            if self._verifier is None:
                if self.history.chain_id is not None and head.chain_id != self.history.chain_id:
                    raise VerificationError(f"the node says chain {head.chain_id!r}, the checkpoints seen before "
                                            f"are of {self.history.chain_id!r}")
                keys = self.history.node_keys or list(head.node_keys)
                self._verifier = ChainVerifier(head.chain_id, keys)
                self._chain_id = head.chain_id
                self.history.chain_id, self.history.node_keys = head.chain_id, keys
                if self._saved_checkpoint is not None and self.verify_proofs:
                    saved, self._saved_checkpoint = self._saved_checkpoint, None
                    self._observe_checkpoint(saved)
        if head.chain_id != self._chain_id:
            raise VerificationError(f"the node now says chain {head.chain_id!r}, first {self._chain_id!r}")
        self.verifier.verify_block_header(head.head)
        checkpoint = self.verifier.verify_checkpoint(head.checkpoint)
        if self.verify_proofs:
            self._observe_checkpoint(head.checkpoint, checkpoint)
        return head

    @property
    def chain_id(self) -> str:
        """The chain id every transaction names, from the first GetChainHead."""
        if self._chain_id is None:
            self.chain_head()
        assert self._chain_id is not None
        return self._chain_id

    @property
    def verifier(self) -> ChainVerifier:
        """The checks against the pinned node keys (given, saved, or from the first GetChainHead)."""
        if self._verifier is None:
            self.chain_head()
        assert self._verifier is not None
        return self._verifier

    def blocks(self, start_height: int = 1, end_height: int | None = None) -> Iterator[pb.BlockHeader]:
        """Verified block headers from `start_height` up to `end_height` (exclusive) or the latest block,
        each checked to link to the one before it."""
        request = pb.GetBlocksRequest(start_height=start_height)
        if end_height is not None:
            request.end_height = end_height
        previous: bytes | None = None
        for response in self._stream("GetBlocks", request, timeout=self.timeout):
            header = self.verifier.verify_block_header(response.block)
            if previous is not None and header.previous_block_hash != hashlib.sha256(previous).digest():
                raise VerificationError(f"block {header.height} does not link to the block before it")
            previous = response.block.header
            yield header

    def prove_inclusion(self, entry: bytes, entry_index: int, tree_size: int | None = None) -> pb.Checkpoint:
        """Fetches and checks a proof that the log entry `entry` is at `entry_index`; returns the signed
        checkpoint it was proved against. VerificationError when it does not verify."""
        request = pb.GetInclusionProofRequest(leaf_index=entry_index)
        if tree_size is not None:
            request.tree_size = tree_size
        response = self._call("GetInclusionProof", request)
        checkpoint = self.verifier.verify_inclusion_response(entry, entry_index, response)
        if self.verify_proofs:
            self._observe_checkpoint(response.checkpoint, checkpoint)
        return checkpoint

    def prove_consistency(self, first_tree_size: int, second_tree_size: int | None = None
                          ) -> tuple[pb.Checkpoint, pb.Checkpoint]:
        """Fetches and checks a proof that the log at `first_tree_size` is a prefix of the later one."""
        request = pb.GetConsistencyProofRequest(first_tree_size=first_tree_size)
        if second_tree_size is not None:
            request.second_tree_size = second_tree_size
        response = self._call("GetConsistencyProof", request)
        older, newer = self.verifier.verify_consistency_response(response)
        if self.verify_proofs:
            self._observe_checkpoint(response.first_checkpoint, older)
            self._observe_checkpoint(response.second_checkpoint, newer)
        return older, newer

    # Checkpoint history ---------------------------------------------------------------------------------

    def _observe_checkpoint(self, signed: pb.SignedCheckpoint, checkpoint: pb.Checkpoint | None = None) -> None:
        """Joins a signed checkpoint to the history seen so far, fetching the consistency proof that links it
        to the largest one seen (or it to a smaller one); HistoryMismatchError when the two cannot be one log.
        Saves the history when its largest checkpoint changed."""
        with self._lock:
            if checkpoint is None:
                checkpoint = self.verifier.verify_checkpoint(signed)
            needed = self.history.proof_needed(checkpoint)
            consistency = None
            if needed is not None:
                request = pb.GetConsistencyProofRequest(first_tree_size=needed[0], second_tree_size=needed[1])
                try:
                    response = self._call("GetConsistencyProof", request)
                except NotFoundError as error:
                    seen = needed[0] if needed[0] in self.history.roots else needed[1]
                    raise self.history.missing_checkpoint(seen, error.message) from None
                older = self.verifier.verify_checkpoint(response.first_checkpoint)
                newer = self.verifier.verify_checkpoint(response.second_checkpoint)
                proof = response.proof
                if (proof.first_tree_size, proof.second_tree_size) != (older.tree_size, newer.tree_size):
                    raise VerificationError(f"proof sizes {proof.first_tree_size}->{proof.second_tree_size}, "
                                            f"checkpoints {older.tree_size}->{newer.tree_size}")
                consistency = (older, newer, list(proof.consistency_path))
            if self.history.accept(signed, checkpoint, consistency) and self.checkpoint_file is not None:
                _write_atomically(self.checkpoint_file, json.dumps(self.history.to_json(), indent=1) + "\n")

    def _load_history(self, path: Path) -> None:
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise VerificationError(f"checkpoint file {path}: {error}") from None
        chain_id, node_keys, latest = CheckpointHistory.parse_json(saved)
        self.history.chain_id = self.history.chain_id or chain_id
        self.history.node_keys = self.history.node_keys or node_keys
        self._saved_checkpoint = latest

    @property
    def latest_checkpoint(self) -> pb.SignedCheckpoint | None:
        """The largest signed checkpoint seen and verified so far (None before any)."""
        return self.history.latest

    # Sessions -------------------------------------------------------------------------------------------

    def _require_identity(self) -> Identity:
        if self.identity is None:
            raise ValueError("this call signs or needs a session: create the LedgerClient with an identity")
        return self.identity

    @property
    def signer(self) -> TransactionSigner:
        """Signs as this client's identity for this chain."""
        return TransactionSigner(self._require_identity(), self.chain_id)

    def session_token(self, renew: bool = False) -> str:
        """A valid session token, creating or renewing the session when it is missing, near expiry or `renew`."""
        identity = self._require_identity()
        with self._lock:
            if not renew and self._session is not None and self._session[1] - now_unix_ms() > SESSION_RENEWAL_MARGIN_MS:
                return self._session[0]
            public_key = public_key_message(identity.key)
            challenge = self._call("CreateSessionChallenge", pb.CreateSessionChallengeRequest(
                principal_id=identity.principal_id, key_id=identity.key_id, public_key=public_key))
            if challenge.chain_id != self.chain_id:
                raise VerificationError(f"the challenge names chain {challenge.chain_id!r}, not {self.chain_id!r}")
            session = self._call("CreateSession", pb.CreateSessionRequest(
                principal_id=identity.principal_id, key_id=identity.key_id, public_key=public_key,
                challenge=challenge.challenge, signature=self.signer.session_signature(challenge.challenge),
                requested_ttl_ms=3_600_000))
            self._session = (session.token, session.expires_at_unix_ms)
            return session.token

    def _authorization(self, renew: bool = False) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.session_token(renew)}"),)

    def delete_session(self) -> None:
        """Ends the current session (logout), if there is one."""
        with self._lock:
            if self._session is None:
                return
            token, self._session = self._session[0], None
        self._call("DeleteSession", pb.DeleteSessionRequest(),
                   metadata=(("authorization", f"Bearer {token}"),))

    def _private_call(self, rpc: str, request: Any) -> Response:
        """A session-authenticated unary call, retried once with a new session when the node forgot the old
        one (a restart, another node of a cluster, or an expiry the clocks disagreed on)."""
        try:
            return self._call(rpc, request, metadata=self._authorization())
        except UnauthenticatedError:
            return self._call(rpc, request, metadata=self._authorization(renew=True))

    # Transactions ---------------------------------------------------------------------------------------

    def next_sequence(self) -> int:
        """The sequence number this principal's next transaction carries, asked of the node once."""
        identity = self._require_identity()
        with self._lock:
            if self._next_sequence is None:
                try:
                    principal = self._private_call("GetPrincipal",
                                                   pb.GetPrincipalRequest(principal_id=identity.principal_id))
                    self._next_sequence = max(principal.principal.next_sequence, 1)
                    self._key_on_ledger = True
                except LedgerError as error:
                    if error.code != grpc.StatusCode.NOT_FOUND:
                        raise
                    self._next_sequence, self._key_on_ledger = 1, False
            return self._next_sequence

    def submit(self, operation: Any, send: Callable[[pb.SignedTransaction], Response],
               expires_at_unix_ms: int | None = None) -> Response:
        """Signs `operation` at the next sequence and sends it with `send`. A transaction whose outcome is
        unknown (UNAVAILABLE, DEADLINE_EXCEEDED) is sent again with the very same bytes, up to
        `transaction_attempts` times in all, to the next node when there are several; the sequence advances once
        the node committed it. Nothing else is
        retried. `send` may raise grpc.RpcError or LedgerError; either way a typed LedgerError comes out.
        AlreadyExistsError with committed_by_earlier_attempt set means an earlier attempt committed. With
        `verify_proofs`, the response's receipt must prove that the transaction sent is in the log
        (VerificationError otherwise, raised after the sequence advanced: the node did commit something)."""
        with self._lock:
            sequence = self.next_sequence()
            signed = self.signer.sign(operation, sequence, attach_public_key=not self._key_on_ledger,
                                      expires_at_unix_ms=expires_at_unix_ms)
            attempt = 1
            while True:
                node = self._rotation.current
                try:
                    try:
                        response = send(signed)
                    except grpc.RpcError as rpc_error:
                        raise from_rpc_error(rpc_error, type(operation).DESCRIPTOR.name) from None
                except LedgerError as error:
                    if error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                        self._rotation.failed(node)  # the same bytes go to the next node, if there is one
                    if error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) \
                            and attempt < self.transaction_attempts:
                        time.sleep(self.retry_backoff * (2 ** (attempt - 1)))
                        attempt += 1
                        continue
                    if isinstance(error, AlreadyExistsError):
                        error.transaction_id = transaction_id(signed.body)
                        if attempt > 1:
                            error.committed_by_earlier_attempt = True
                            self._next_sequence, self._key_on_ledger = sequence + 1, True
                    elif error.code == grpc.StatusCode.FAILED_PRECONDITION:
                        self._next_sequence = None  # re-learn the sequence next time
                    raise
                self._next_sequence, self._key_on_ledger = sequence + 1, True
                if self.verify_proofs and "receipt" in response.DESCRIPTOR.fields_by_name:
                    if not response.HasField("receipt"):
                        raise VerificationError(f"the {type(operation).DESCRIPTOR.name} response carries no receipt")
                    receipt = response.receipt
                    self._observe_checkpoint(receipt.proof.checkpoint, self.verifier.verify_receipt(receipt, signed))
                return response

    def grant(self, grantee: str, categories: Iterable[int], actions: Iterable[int] = (pb.ACTION_READ,),
              purposes: Iterable[int] = (pb.PURPOSE_TREATMENT,), *, patient: str | None = None,
              valid_from_unix_ms: int = 0, valid_until_unix_ms: int | None = None, deny: bool = False,
              note: str = "", delegation_grant_id: str | None = None,
              record_date_range: pb.RecordDateRange | None = None) -> pb.GrantResponse:
        """Commits a grant signed by this principal: `grantee` (a principal id, or "*" for everyone) may (or,
        with `deny`, may not) do `actions` on `categories` of `patient` (default: this principal) for
        `purposes`. Returns the grant id and receipt."""
        if grantee != "*":
            parse_principal_id(grantee)
        grant = pb.Grant(patient=parse_principal_id(patient) if patient else self._require_identity().principal_id,
                         grantee=grantee, actions=list(actions), categories=list(categories),
                         purposes=list(purposes), valid_from_unix_ms=valid_from_unix_ms,
                         effect=pb.EFFECT_DENY if deny else pb.EFFECT_PERMIT, note=note)
        if valid_until_unix_ms is not None:
            grant.valid_until_unix_ms = valid_until_unix_ms
        if delegation_grant_id is not None:
            grant.delegation_grant_id = delegation_grant_id
        if record_date_range is not None:
            grant.record_date_range.CopyFrom(record_date_range)
        return self.submit_grant(grant)

    def submit_grant(self, grant: pb.Grant) -> pb.GrantResponse:
        """Commits `grant` exactly as given, signed by this principal: one of `propose_grants_from_consent`'s, say.
        Returns the grant id and receipt."""
        return self.submit(grant, lambda signed: self._call("Grant", pb.GrantRequest(transaction=signed),
                                                            failover=False))

    def revoke(self, grant_id: str, delegation_grant_id: str | None = None) -> pb.RevokeResponse:
        """Commits the revocation of `grant_id`; decisions made after this returns see the grant revoked."""
        revoke = pb.Revoke(grant_id=grant_id)
        if delegation_grant_id is not None:
            revoke.delegation_grant_id = delegation_grant_id
        return self.submit(revoke, lambda signed: self._call("Revoke", pb.RevokeRequest(transaction=signed),
                                                             failover=False))

    def write(self, patient: str, category: int, content: bytes | os.PathLike[str], media_type: str = "application/octet-stream",
              *, effective_at_unix_ms: int = 0, labels: dict[str, str] | None = None,
              amends_record_id: str | None = None) -> pb.WriteResponse:
        """Writes a record for `patient`: the signed metadata, then the content in chunks of at most 1 MiB.
        `content` is bytes, or the path of a file, which is streamed from disk (hashed first, read again per
        attempt) so records larger than memory can be written. Returns the record id and receipt."""
        if isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
            size, digest = len(data), hashlib.sha256(data).digest()

            def chunks() -> Iterator[bytes]:
                for offset in range(0, size, MAX_CHUNK_BYTES):
                    yield data[offset:offset + MAX_CHUNK_BYTES]
        else:
            path = Path(content)
            size, digest = _file_size_and_sha256(path)

            def chunks() -> Iterator[bytes]:
                with path.open("rb") as file:
                    while piece := file.read(MAX_CHUNK_BYTES):
                        yield piece
        metadata = pb.RecordMetadata(patient=parse_principal_id(patient), category=category, content_sha256=digest,
                                     size_bytes=size, media_type=media_type,
                                     effective_at_unix_ms=effective_at_unix_ms, labels=labels or {})
        if amends_record_id is not None:
            metadata.amends_record_id = amends_record_id

        def requests(signed: pb.SignedTransaction) -> Iterator[pb.WriteRequest]:
            yield pb.WriteRequest(transaction=signed)
            offset = 0
            for piece in chunks():
                yield pb.WriteRequest(chunk=pb.ContentChunk(data=piece, offset_bytes=offset))
                offset += len(piece)
            if offset != size:
                raise VerificationError(f"{content} changed while it was written: {offset} bytes, hashed {size}")

        return self.submit(metadata, lambda signed: self._call("Write", requests(signed), failover=False))

    # Private reads --------------------------------------------------------------------------------------

    def get_principal(self, principal_id: str | None = None) -> pb.Principal:
        """A principal's keys (and, for this client's own principal, its next sequence number)."""
        request = pb.GetPrincipalRequest(principal_id=parse_principal_id(principal_id) if principal_id
                                         else self._require_identity().principal_id)
        return self._private_call("GetPrincipal", request).principal

    def list_grants(self, patient: str = "", grantee: str = "", include_inactive: bool = False,
                    page_size: int = 0) -> Iterator[pb.GrantRecord]:
        """Every grant the caller may see matching the filters, oldest first, all pages."""
        request = pb.ListGrantsRequest(patient=patient, grantee=grantee, include_inactive=include_inactive,
                                       page_size=page_size)
        while True:
            page = self._private_call("ListGrants", request)
            yield from page.grants
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def query(self, patient: str, categories: Iterable[int], purpose: int = pb.PURPOSE_TREATMENT, *,
              include_content: bool = True, record_ids: Iterable[str] = (), max_records: int = 0,
              record_date_range: pb.RecordDateRange | None = None, prove_inclusion: bool = False) -> QueryResult:
        """Reads `patient`'s records in `categories` for `purpose` (audited by the node before it releases
        anything); PermissionDeniedError when policy says no. Content is checked against each record's signed
        size and SHA-256; with `prove_inclusion`, each record's ledger entry is proved to be in the log."""
        request = pb.QueryRequest(patient=parse_principal_id(patient), categories=list(categories), purpose=purpose,
                                  record_ids=list(record_ids), include_content=include_content,
                                  max_records=max_records)
        if record_date_range is not None:
            request.record_date_range.CopyFrom(record_date_range)
        for attempt in (1, 2):
            try:
                return self._collect_query(request, self._authorization(renew=attempt == 2), prove_inclusion)
            except UnauthenticatedError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _collect_query(self, request: pb.QueryRequest, metadata: tuple[tuple[str, str], ...],
                       prove_inclusion: bool) -> QueryResult:
        result = QueryResult()
        content: bytearray | None = None

        def finish() -> None:
            if content is not None and result.records:
                current = result.records[-1]
                if not current.record.content_erased:
                    verify_content(current.record.metadata, bytes(content))
                    current.content = bytes(content)

        for response in self._stream("Query", request, metadata=metadata, timeout=self.timeout):
            part = response.WhichOneof("part")
            if part == "started":
                result.audit_sequence = response.started.audit_sequence
                if response.started.HasField("audit_event"):
                    result.audit_event = response.started.audit_event
                if self.verify_proofs:
                    self._verify_query_audit_event(request, result)
            elif part == "record":
                finish()
                result.records.append(QueriedRecord(response.record))
                content = bytearray() if request.include_content else None
                if prove_inclusion:
                    self.prove_inclusion(response.record.ledger_entry, response.record.location.entry_index)
            elif part == "chunk":
                if content is None:
                    raise VerificationError("content arrived before its record, or was not asked for")
                if response.chunk.offset_bytes != len(content):
                    raise VerificationError(f"chunk at offset {response.chunk.offset_bytes}, expected {len(content)}")
                content += response.chunk.data
        finish()
        return result

    def _verify_query_audit_event(self, request: pb.QueryRequest, result: QueryResult) -> None:
        """Checks that QueryStarted carried this query's own audit event, proved in the log."""
        logged = result.audit_event
        if logged is None:
            raise VerificationError(f"QueryStarted carries no audit event (audit sequence {result.audit_sequence})")
        event = logged.event
        if event.sequence != result.audit_sequence:
            raise VerificationError(f"QueryStarted names audit sequence {result.audit_sequence}, its audit event is "
                                    f"{event.sequence}")
        if event.patient != request.patient or event.actor != self._require_identity().principal_id:
            raise VerificationError(f"audit event {event.sequence} is of {event.actor} reading {event.patient}, "
                                    f"not of this query")
        self._observe_checkpoint(logged.proof.checkpoint, self.verifier.verify_logged_audit_event(logged))

    def export_fhir_bundle(self, out: BinaryIO | None = None) -> FhirExport:
        """The caller's own copy of everything the ledger holds about them (Ledger.ExportFhirBundle): a FHIR R4
        Bundle of their records, their grants as Consents and their audit trail as AuditEvents (docs/FHIR.md). The
        export's audit events are checked as this patient's reads, proved in the log, before any of the Bundle is
        taken. The Bundle's JSON text is written to `out` when given (memory stays bounded), else returned."""
        patient = self._require_identity().principal_id
        request = pb.ExportFhirBundleRequest(patient=patient)
        for attempt in (1, 2):
            try:
                return self._collect_export(request, self._authorization(renew=attempt == 2), out)
            except UnauthenticatedError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _collect_export(self, request: pb.ExportFhirBundleRequest, metadata: tuple[tuple[str, str], ...],
                        out: BinaryIO | None) -> FhirExport:
        result = FhirExport()
        pieces: list[bytes] = []
        for response in self._stream("ExportFhirBundle", request, metadata=metadata,
                                     timeout=self.timeout):
            part = response.WhichOneof("part")
            if part == "started":
                result.started = response.started
                if self.verify_proofs:
                    self._verify_export_audit_events(request, response.started)
            elif part == "bundle_chunk":
                if result.started is None:
                    raise VerificationError("Bundle text arrived before the export's audit events")
                result.size_bytes += len(response.bundle_chunk)
                if out is not None:
                    out.write(response.bundle_chunk)
                else:
                    pieces.append(response.bundle_chunk)
        if result.started is None or result.size_bytes == 0:
            raise VerificationError("the node ended the export without sending its Bundle")
        result.bundle = b"".join(pieces)
        return result

    def _verify_export_audit_events(self, request: pb.ExportFhirBundleRequest,
                                    started: pb.ExportFhirBundleStarted) -> None:
        """Checks that ExportFhirBundleStarted carried the export's own audit events, each proved in the log."""
        if not started.audit_events:
            raise VerificationError("ExportFhirBundleStarted carries no audit event")
        for logged in started.audit_events:
            event = logged.event
            if event.patient != request.patient or event.actor != request.patient:
                raise VerificationError(f"audit event {event.sequence} is of {event.actor} reading {event.patient}, "
                                        f"not of this export")
            self._observe_checkpoint(logged.proof.checkpoint, self.verifier.verify_logged_audit_event(logged))

    def propose_grants_from_consent(self, consent_json: bytes | str) -> list[pb.Grant]:
        """The grants a FHIR R4 Consent states (Ledger.ProposeGrantsFromConsent), in the order to sign them:
        nested DENY grants before their permit. Nothing is signed or committed; InvalidArgumentError names the
        Consent element the node cannot read as a grant."""
        text = consent_json.encode() if isinstance(consent_json, str) else consent_json
        request = pb.ProposeGrantsFromConsentRequest(consent_json=text)
        return list(self._private_call("ProposeGrantsFromConsent", request).grants)

    def audit_stream(self, patient: str, start_sequence: int = 1, follow: bool = False, *,
                     actor: str = "", outcome: int = 0, emergency_only: bool = False,
                     from_unix_ms: int | None = None, until_unix_ms: int | None = None,
                     reconnect_timeout: float = 60.0,
                     on_replay_completed: Callable[[int], None] | None = None) -> Iterator[pb.LoggedAuditEvent]:
        """`patient`'s audit events from `start_sequence` (1: all; 0: only new ones) in sequence order; with
        `follow`, new events as they are committed, until the caller stops iterating.

        A dropped connection (UNAVAILABLE, a node restart) or an expired session (UNAUTHENTICATED) does not end
        the iteration: the client reconnects, renewing the session, and resumes after the last event it
        yielded, so no event is skipped or repeated. It gives up with the error when the node stays
        unreachable for `reconnect_timeout` seconds. `on_replay_completed(head_sequence)` is called each time
        a (re)connected stream has replayed what was already committed.

        With `verify_proofs` the stream asks for proofs, and each event is checked against its ledger entry, its
        inclusion proof and the signed checkpoint of its block, which is joined to the checkpoint history."""
        request = pb.AuditStreamRequest(patient=parse_principal_id(patient), follow=follow,
                                        emergency_only=emergency_only, actor=parse_principal_id(actor) if actor else "",
                                        outcome=outcome, include_proofs=self.verify_proofs)
        if from_unix_ms is not None:
            request.from_unix_ms = from_unix_ms
        if until_unix_ms is not None:
            request.until_unix_ms = until_unix_ms
        for logged in self._resumable_stream("AuditStream", request, start_sequence, follow,
                                             lambda event: event.event.sequence, reconnect_timeout,
                                             on_replay_completed):
            if self.verify_proofs:
                self._observe_checkpoint(logged.proof.checkpoint, self.verifier.verify_logged_audit_event(logged))
            yield logged

    def research_feed(self, start_sequence: int = 1, follow: bool = False, *, reconnect_timeout: float = 60.0,
                      on_replay_completed: Callable[[int], None] | None = None) -> Iterator[pb.ResearchEvent]:
        """The pseudonymised audit events of the patients who opted in to this researcher's feed, from
        `start_sequence` (1: all; 0: only new ones) in sequence order; with `follow`, new ones as they are
        committed. PermissionDeniedError when this principal is not a registered researcher. Resumes after a
        dropped connection or an expired session like audit_stream."""
        request = pb.ResearchFeedRequest(follow=follow)
        yield from self._resumable_stream("ResearchFeed", request, start_sequence, follow,
                                          lambda event: event.sequence, reconnect_timeout, on_replay_completed)

    def _resumable_stream(self, rpc: str, request: Any, start_sequence: int,
                          follow: bool, sequence_of: Callable[[Any], int], reconnect_timeout: float,
                          on_replay_completed: Callable[[int], None] | None) -> Iterator[Any]:
        """The events of a session-authenticated stream whose responses are an `event` or a `replay_completed`
        and whose requests resume at `start_sequence`: reconnects as audit_stream describes, yielding each event
        once, in order."""
        position = AuditResumePoint(start_sequence=start_sequence)
        failing_since: float | None = None
        renew = False
        while True:
            request.start_sequence = position.next_start_sequence()
            try:
                metadata = self._authorization(renew=renew)
                for item in self._stream(rpc, request, metadata=metadata,
                                         timeout=None if follow else self.timeout):
                    failing_since, renew = None, False
                    if item.WhichOneof("item") == "replay_completed":
                        position.replay_completed(item.replay_completed.head_sequence)
                        if on_replay_completed is not None:
                            on_replay_completed(item.replay_completed.head_sequence)
                    elif item.WhichOneof("item") == "event" and position.admit(sequence_of(item.event)):
                        yield item.event
                return
            except LedgerError as error:
                # A session refused right after a renewal is a real refusal, not an expiry.
                if error.code not in _RESUMABLE_STREAM_CODES or (renew and error.code == grpc.StatusCode.UNAUTHENTICATED):
                    raise
                now = time.monotonic()
                failing_since = now if failing_since is None else failing_since
                if now - failing_since > reconnect_timeout:
                    raise
                renew = error.code == grpc.StatusCode.UNAUTHENTICATED
                if not renew:
                    time.sleep(min(self.retry_backoff * 4, 1.0))


#: Codes that end an audit stream without ending what it reports: the connection, the node or the session
#: went away (a node restarting mid-stream can also reset it, which grpcio reports as INTERNAL).
_RESUMABLE_STREAM_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED,
                           grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL)


def _write_atomically(path: Path, text: str) -> None:
    """Replaces `path` with `text` so that a crash leaves the old file or the new one, never a mix."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _file_size_and_sha256(path: Path) -> tuple[int, bytes]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while piece := file.read(MAX_CHUNK_BYTES):
            digest.update(piece)
            size += len(piece)
    return size, digest.digest()
