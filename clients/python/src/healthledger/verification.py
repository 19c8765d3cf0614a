"""Checks of what a node returns, so a client verifies rather than trusts (chain.proto): node signatures of
block headers and checkpoints under the node keys pinned from GetChainHead, RFC 9162 inclusion and
consistency proofs against signed checkpoints, and record content against its SHA-256. No I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from google.protobuf.message import DecodeError, Message

from . import messages as pb
from .errors import InvalidKeyError, VerificationError
from .keys import algorithm_from_proto, verify_signature
from .merkle import leaf_hash, verify_consistency, verify_inclusion
from .principal import key_id
from .signing import BLOCK_HEADER_CONTEXT, CHECKPOINT_CONTEXT, context_labelled


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
