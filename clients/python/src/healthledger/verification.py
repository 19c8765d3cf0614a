"""Checks of what a node returns, so a client verifies rather than trusts (chain.proto): node signatures of
block headers and checkpoints under the node keys pinned from GetChainHead, RFC 9162 inclusion and
consistency proofs against signed checkpoints, and record content against its SHA-256. No I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from google.protobuf.message import DecodeError, Message

from . import messages as pb
from .errors import HistoryMismatchError, InvalidKeyError, VerificationError
from .keys import algorithm_from_proto, verify_signature
from .merkle import EMPTY_ROOT, leaf_hash, verify_consistency, verify_inclusion
from .principal import key_id
from .signing import BLOCK_HEADER_CONTEXT, CHECKPOINT_CONTEXT, context_labelled, transaction_id

#: Format name of a checkpoint history saved as JSON (CheckpointHistory.to_json).
CHECKPOINT_HISTORY_FORMAT = "healthledger.checkpoint-history.v1"


class ChainVerifier:
    """The node keys and chain id a client trusts (pinned as first seen in GetChainHead, as chain.proto
    allows), and the checks of signed headers, checkpoints and proofs against them."""

    def __init__(self, chain_id: str, node_keys: Iterable[pb.NodeKey]):
        self.chain_id = chain_id
        self.node_keys: dict[str, tuple[str, bytes]] = {}
        for node_key in node_keys:
            if node_key.key_id != key_id(node_key.public_key.key_bytes):
                raise VerificationError(f"node key id {node_key.key_id} is not SHA-256 of its key bytes")
            try:
                algorithm = algorithm_from_proto(node_key.public_key.algorithm)
            except InvalidKeyError as error:
                raise VerificationError(f"node key {node_key.key_id}: {error}") from None
            self.node_keys[node_key.key_id] = (algorithm, node_key.public_key.key_bytes)

    @classmethod
    def from_chain_head(cls, head: pb.GetChainHeadResponse) -> ChainVerifier:
        """The verifier of the chain and node keys a GetChainHead response names."""
        return cls(head.chain_id, head.node_keys)

    def _node_key(self, node_key_id: str) -> tuple[str, bytes]:
        if node_key_id not in self.node_keys:
            raise VerificationError(f"signed by {node_key_id}, not a node key from GetChainHead "
                                    f"({', '.join(sorted(self.node_keys))})")
        return self.node_keys[node_key_id]

    def _check_signature(self, context: str, signed_bytes: bytes, signature: bytes, node_key_id: str,
                         what: str) -> None:
        algorithm, key_bytes = self._node_key(node_key_id)
        if not verify_signature(algorithm, key_bytes, context_labelled(context, signed_bytes), signature):
            raise VerificationError(f"{what} signature does not verify under node key {node_key_id}")

    def verify_checkpoint(self, signed: pb.SignedCheckpoint) -> pb.Checkpoint:
        """The Checkpoint in `signed` once its node signature, encoding and chain id check out."""
        self._check_signature(CHECKPOINT_CONTEXT, signed.checkpoint, signed.signature, signed.node_key_id,
                              "checkpoint")
        checkpoint = decode_deterministic(pb.Checkpoint, signed.checkpoint, "checkpoint")
        if checkpoint.chain_id != self.chain_id:
            raise VerificationError(f"checkpoint of chain {checkpoint.chain_id!r}, expected {self.chain_id!r}")
        return checkpoint

    def verify_block_header(self, signed: pb.SignedBlockHeader) -> pb.BlockHeader:
        """The BlockHeader in `signed` once its node signature, encoding and chain id check out."""
        self._check_signature(BLOCK_HEADER_CONTEXT, signed.header, signed.signature, signed.node_key_id,
                              "block header")
        header = decode_deterministic(pb.BlockHeader, signed.header, "block header")
        if header.chain_id != self.chain_id:
            raise VerificationError(f"block header of chain {header.chain_id!r}, expected {self.chain_id!r}")
        return header

    def verify_inclusion_response(self, entry: bytes, entry_index: int,
                                  response: pb.GetInclusionProofResponse) -> pb.Checkpoint:
        """Checks that a GetInclusionProof response proves the log entry `entry` at `entry_index` under its
        signed checkpoint; returns that checkpoint."""
        checkpoint = self.verify_checkpoint(response.checkpoint)
        proof = response.proof
        if proof.leaf_index != entry_index:
            raise VerificationError(f"proof is for leaf {proof.leaf_index}, asked {entry_index}")
        if proof.tree_size != checkpoint.tree_size:
            raise VerificationError(f"proof tree size {proof.tree_size}, checkpoint tree size {checkpoint.tree_size}")
        if not verify_inclusion(proof.leaf_index, proof.tree_size, leaf_hash(entry), list(proof.audit_path),
                                checkpoint.root_hash):
            raise VerificationError(f"inclusion proof of leaf {entry_index} in tree size {proof.tree_size} "
                                    f"({len(proof.audit_path)} hashes) does not lead to the checkpoint root")
        return checkpoint

    def verify_consistency_response(self, response: pb.GetConsistencyProofResponse
                                    ) -> tuple[pb.Checkpoint, pb.Checkpoint]:
        """Checks that a GetConsistencyProof response proves its first checkpoint's log a prefix of its
        second's; returns both checkpoints."""
        older = self.verify_checkpoint(response.first_checkpoint)
        newer = self.verify_checkpoint(response.second_checkpoint)
        proof = response.proof
        if (proof.first_tree_size, proof.second_tree_size) != (older.tree_size, newer.tree_size):
            raise VerificationError(f"proof sizes {proof.first_tree_size}->{proof.second_tree_size}, checkpoints "
                                    f"{older.tree_size}->{newer.tree_size}")
        if not verify_consistency(older.tree_size, newer.tree_size, older.root_hash, newer.root_hash,
                                  list(proof.consistency_path)):
            raise VerificationError(f"consistency proof {older.tree_size}->{newer.tree_size} "
                                    f"({len(proof.consistency_path)} hashes) does not verify")
        return older, newer

    def verify_entry_proof(self, entry: bytes, entry_index: int, block_height: int,
                           proof: pb.EntryProof) -> pb.Checkpoint:
        """Checks that `proof` proves the log entry `entry` at `entry_index` under a signed checkpoint at or after
        the end of block `block_height` (a receipt's own block, or the node's latest for a replayed audit event);
        returns that checkpoint."""
        checkpoint = self.verify_checkpoint(proof.checkpoint)
        inclusion = proof.inclusion
        if checkpoint.block_height < block_height:
            raise VerificationError(f"entry {entry_index} is said to be in block {block_height}, its proof's "
                                    f"checkpoint ends earlier block {checkpoint.block_height}")
        if inclusion.leaf_index != entry_index:
            raise VerificationError(f"proof is for leaf {inclusion.leaf_index}, the entry is {entry_index}")
        if inclusion.tree_size != checkpoint.tree_size:
            raise VerificationError(f"proof tree size {inclusion.tree_size}, checkpoint tree size "
                                    f"{checkpoint.tree_size}")
        if not verify_inclusion(inclusion.leaf_index, inclusion.tree_size, leaf_hash(entry),
                                list(inclusion.audit_path), checkpoint.root_hash):
            raise VerificationError(f"inclusion proof of entry {entry_index} in tree size {inclusion.tree_size} "
                                    f"({len(inclusion.audit_path)} hashes) does not lead to the signed root "
                                    f"{short_hash(checkpoint.root_hash)}")
        return checkpoint

    def verify_receipt(self, receipt: pb.TransactionReceipt, sent: pb.SignedTransaction) -> pb.Checkpoint:
        """Checks that a receipt is evidence that `sent` was committed: its ledger entry holds exactly the signed
        transaction sent, and its EntryProof puts that entry in the log under a signed checkpoint; returns the
        checkpoint."""
        if not receipt.HasField("proof"):
            raise VerificationError(f"receipt of transaction {receipt.transaction_id} carries no proof")
        if receipt.transaction_id != transaction_id(sent.body):
            raise VerificationError(f"receipt names transaction {receipt.transaction_id}, sent "
                                    f"{transaction_id(sent.body)}")
        entry = decode_deterministic(pb.LedgerEntry, receipt.ledger_entry, "receipt's ledger entry")
        if entry.WhichOneof("entry") != "transaction" or \
                entry.transaction.SerializeToString(deterministic=True) != sent.SerializeToString(deterministic=True):
            raise VerificationError(f"receipt's ledger entry for {receipt.transaction_id} does not hold the "
                                    f"signed transaction that was sent")
        return self.verify_entry_proof(receipt.ledger_entry, receipt.entry_index, receipt.block_height,
                                       receipt.proof)

    def verify_logged_audit_event(self, logged: pb.LoggedAuditEvent) -> pb.Checkpoint:
        """Checks that a LoggedAuditEvent's entry holds its event and that its EntryProof puts the entry in the
        log under a signed checkpoint; returns the checkpoint."""
        sequence = logged.event.sequence
        if not logged.HasField("proof"):
            raise VerificationError(f"audit event {sequence} carries no proof")
        entry = decode_deterministic(pb.LedgerEntry, logged.ledger_entry, f"audit event {sequence}'s ledger entry")
        if entry.WhichOneof("entry") != "audit_event" or entry.audit_event != logged.event:
            raise VerificationError(f"audit event {sequence}'s ledger entry does not hold the event sent with it")
        return self.verify_entry_proof(logged.ledger_entry, logged.event.entry_index, logged.event.block_height,
                                       logged.proof)


class CheckpointHistory:
    """The signed checkpoints a client has seen, all proved to be prefixes of one log (RFC 9162 consistency):
    the root of each tree size seen, and the largest signed checkpoint, which every later one must extend.

    Pure: `proof_needed` says which GetConsistencyProof joins a new checkpoint to the history, and `accept`
    checks what came back. A checkpoint already seen (same size, same root) needs no proof."""

    def __init__(self, chain_id: str | None = None):
        self.chain_id = chain_id
        self.node_keys: list[pb.NodeKey] = []
        self.roots: dict[int, bytes] = {}
        self.latest: pb.SignedCheckpoint | None = None
        self.latest_size = 0

    def proof_needed(self, checkpoint: pb.Checkpoint) -> tuple[int, int] | None:
        """The (first, second) tree sizes of the consistency proof that joins `checkpoint` to the history; None
        when it needs none (the first checkpoint, an empty log, or a size already seen with the same root).
        HistoryMismatchError for a size seen before with another root."""
        size, root = checkpoint.tree_size, checkpoint.root_hash
        if size == 0:
            if root != EMPTY_ROOT:
                raise HistoryMismatchError(f"history mismatch: checkpoint of tree size 0 has root "
                                           f"{short_hash(root)}, not the empty log's")
            return None
        known = self.roots.get(size)
        if known is not None:
            if known != root:
                raise HistoryMismatchError(f"history mismatch: tree size {size} has root {short_hash(root)} now, "
                                           f"{short_hash(known)} before")
            return None
        if self.latest_size == 0:
            return None
        return (self.latest_size, size) if size > self.latest_size else (size, self.latest_size)

    def accept(self, signed: pb.SignedCheckpoint, checkpoint: pb.Checkpoint,
               consistency: tuple[pb.Checkpoint, pb.Checkpoint, list[bytes]] | None = None) -> bool:
        """Adds a verified checkpoint to the history, given the verified checkpoints and path of the consistency
        proof `proof_needed` asked for (None when it asked for none). Returns whether the largest checkpoint
        changed. HistoryMismatchError when the proof's checkpoints are not the ones seen or its path does not
        join them."""
        needed = self.proof_needed(checkpoint)
        if needed is not None:
            if consistency is None:
                raise VerificationError(f"checkpoint of tree size {checkpoint.tree_size} needs a consistency "
                                        f"proof {needed[0]}->{needed[1]}")
            older, newer, path = consistency
            for served in (older, newer):
                expected = checkpoint.root_hash if served.tree_size == checkpoint.tree_size \
                    else self.roots.get(served.tree_size)
                if served.tree_size not in needed or expected is None:
                    raise VerificationError(f"consistency proof of {older.tree_size}->{newer.tree_size}, asked "
                                            f"{needed[0]}->{needed[1]}")
                if served.root_hash != expected:
                    raise HistoryMismatchError(f"history mismatch: tree size {served.tree_size} has root "
                                               f"{short_hash(served.root_hash)} now, {short_hash(expected)} before")
            if not verify_consistency(older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, path):
                raise HistoryMismatchError(f"history mismatch: tree size {older.tree_size} (root "
                                           f"{short_hash(older.root_hash)}) is not a prefix of tree size "
                                           f"{newer.tree_size} (root {short_hash(newer.root_hash)})")
        if checkpoint.tree_size == 0:
            return False
        self.roots[checkpoint.tree_size] = checkpoint.root_hash
        if checkpoint.tree_size > self.latest_size:
            self.latest, self.latest_size = signed, checkpoint.tree_size
            return True
        return False

    def missing_checkpoint(self, tree_size: int, detail: str) -> HistoryMismatchError:
        """The error for a node that has no checkpoint of `tree_size`, which the history holds signed."""
        return HistoryMismatchError(f"history mismatch: the node has no checkpoint of tree size {tree_size} "
                                    f"(root {short_hash(self.roots[tree_size])} seen signed before): {detail}")

    def to_json(self) -> dict[str, object]:
        """The history as JSON values: chain id, pinned node keys and the largest signed checkpoint (protobuf
        bytes, hex), enough to carry the checks over to a later run."""
        return {"format": CHECKPOINT_HISTORY_FORMAT, "chain_id": self.chain_id,
                "node_keys": [key.SerializeToString(deterministic=True).hex() for key in self.node_keys],
                "latest_checkpoint": self.latest.SerializeToString(deterministic=True).hex() if self.latest else None}

    @staticmethod
    def parse_json(value: object) -> tuple[str | None, list[pb.NodeKey], pb.SignedCheckpoint | None]:
        """Chain id, node keys and largest signed checkpoint of a history saved by to_json (not yet verified)."""
        try:
            assert isinstance(value, dict) and value.get("format") == CHECKPOINT_HISTORY_FORMAT
            keys = [pb.NodeKey.FromString(bytes.fromhex(text)) for text in value.get("node_keys") or []]
            latest = value.get("latest_checkpoint")
            signed = pb.SignedCheckpoint.FromString(bytes.fromhex(latest)) if latest else None
            chain_id = value.get("chain_id")
            assert chain_id is None or isinstance(chain_id, str)
            return chain_id, keys, signed
        except (AssertionError, ValueError, TypeError, AttributeError, DecodeError) as error:
            raise VerificationError(f"not a saved checkpoint history ({CHECKPOINT_HISTORY_FORMAT}): "
                                    f"{error or 'wrong format'}") from None


def short_hash(digest: bytes) -> str:
    """The first 8 hex digits of a hash, for messages."""
    return digest[:4].hex()


def decode_deterministic(message_class: type[Message], data: bytes, what: str) -> Message:
    """`data` decoded as `message_class`, refusing bytes that are not the deterministic encoding of what they
    decode to (signed bytes must have exactly one form)."""
    try:
        message = message_class.FromString(data)
    except DecodeError as error:
        raise VerificationError(f"{what} bytes do not decode: {error}") from None
    if message.SerializeToString(deterministic=True) != data:
        raise VerificationError(f"{what} bytes are not the deterministic encoding of what they decode to")
    return message


def verify_content(metadata: pb.RecordMetadata, content: bytes) -> None:
    """Checks released content against the size and SHA-256 its record's signed metadata commits to."""
    if len(content) != metadata.size_bytes:
        raise VerificationError(f"content is {len(content)} bytes, the record says {metadata.size_bytes}")
    if hashlib.sha256(content).digest() != metadata.content_sha256:
        raise VerificationError("content does not hash to the record's content_sha256")
