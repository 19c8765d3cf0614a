"""What a principal signs (identity.proto, transaction.proto): transactions over the deterministic encoding
of their body, and context-labelled messages for sessions and key rotation. No I/O: a TransactionSigner
needs only the identity and the chain id."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from google.protobuf.message import Message

from . import messages as pb
from .identity import Identity
from .keys import PROTO_KEY_ALGORITHM, SigningKey

SESSION_CONTEXT = "healthledger.v1.session"
KEY_POSSESSION_CONTEXT = "healthledger.v1.key-possession"
BLOCK_HEADER_CONTEXT = "healthledger.v1.block-header"
CHECKPOINT_CONTEXT = "healthledger.v1.checkpoint"
MAX_BODY_BYTES = 65_536

#: The TransactionBody oneof field each operation message goes in.
OPERATION_FIELDS = {"Grant": "grant", "Revoke": "revoke", "RecordMetadata": "write_record",
                    "RotateKey": "rotate_key", "ErasureRequest": "erasure_request",
                    "EmergencyAccess": "emergency_access"}


def now_unix_ms() -> int:
    """Milliseconds since the Unix epoch (UTC), the unit of every *_unix_ms field."""
    return time.time_ns() // 1_000_000


def context_labelled(context: str, payload: bytes) -> bytes:
    """0x00 || ASCII(context) || 0x00 || payload: what every signature other than a transaction's covers."""
    return b"\x00" + context.encode("ascii") + b"\x00" + payload


def session_message(chain_id: str, principal_id: str, challenge: bytes) -> bytes:
    """The message a CreateSession signature covers."""
    return context_labelled(SESSION_CONTEXT, chain_id.encode() + b"\x00" + principal_id.encode() + b"\x00" + challenge)


def key_possession_message(chain_id: str, principal_id: str) -> bytes:
    """The message the new key signs in RotateKey.new_key_proof."""
    return context_labelled(KEY_POSSESSION_CONTEXT, chain_id.encode() + b"\x00" + principal_id.encode())


def transaction_id(body: bytes) -> str:
    """Lowercase hex SHA-256 of the body bytes: the id of the transaction and of what it creates."""
    return hashlib.sha256(body).hexdigest()


def public_key_message(key: SigningKey) -> pb.PublicKey:
    """The PublicKey message of `key`."""
    return pb.PublicKey(algorithm=PROTO_KEY_ALGORITHM[key.algorithm], key_bytes=key.public_key_bytes)


def operation_field(operation: Message) -> str:
    """The TransactionBody field an operation message goes in; TypeError for anything else."""
    name = type(operation).DESCRIPTOR.name
    if name not in OPERATION_FIELDS:
        raise TypeError(f"a {name} is not a transaction operation (one of {', '.join(OPERATION_FIELDS)})")
    return OPERATION_FIELDS[name]


@dataclass(frozen=True)
class TransactionSigner:
    """Signs transactions and session challenges as `identity` for the chain `chain_id`."""

    identity: Identity
    chain_id: str

    def body(self, operation: Message, sequence: int, created_at_unix_ms: int | None = None,
             expires_at_unix_ms: int | None = None) -> pb.TransactionBody:
        """The TransactionBody of `operation` (a Grant, Revoke, RecordMetadata, ...) at `sequence`."""
        if sequence < 1:
            raise ValueError(f"sequence {sequence}: an author's first transaction has sequence 1")
        body = pb.TransactionBody(chain_id=self.chain_id, author=self.identity.principal_id, sequence=sequence,
                                  created_at_unix_ms=now_unix_ms() if created_at_unix_ms is None
                                  else created_at_unix_ms)
        if expires_at_unix_ms is not None:
            body.expires_at_unix_ms = expires_at_unix_ms
        getattr(body, operation_field(operation)).CopyFrom(operation)
        return body

    def sign_body_bytes(self, body: bytes, attach_public_key: bool) -> pb.SignedTransaction:
        """A SignedTransaction over exactly `body`; the public key goes along when the ledger knows no key of
        the author yet (its first transaction)."""
        transaction = pb.SignedTransaction(body=body, signature=self.identity.key.sign(body),
                                           key_id=self.identity.key_id)
        if attach_public_key:
            transaction.public_key.CopyFrom(public_key_message(self.identity.key))
        return transaction

    def sign(self, operation: Message, sequence: int, attach_public_key: bool | None = None,
             created_at_unix_ms: int | None = None, expires_at_unix_ms: int | None = None) -> pb.SignedTransaction:
        """Signs the deterministic encoding of `operation`'s body at `sequence`; the public key is attached
        to sequence 1 unless `attach_public_key` says otherwise."""
        body = self.body(operation, sequence, created_at_unix_ms, expires_at_unix_ms)
        body_bytes = body.SerializeToString(deterministic=True)
        if len(body_bytes) > MAX_BODY_BYTES:
            raise ValueError(f"the transaction body is {len(body_bytes)} bytes; the node takes at most {MAX_BODY_BYTES}")
        return self.sign_body_bytes(body_bytes, sequence == 1 if attach_public_key is None else attach_public_key)

    def session_signature(self, challenge: bytes) -> bytes:
        """The CreateSession signature over `challenge`."""
        return self.identity.key.sign(session_message(self.chain_id, self.identity.principal_id, challenge))

    def rotate_key(self, new_key: SigningKey) -> pb.RotateKey:
        """A RotateKey operation to `new_key`, with the new key's proof of possession."""
        proof = new_key.sign(key_possession_message(self.chain_id, self.identity.principal_id))
        return pb.RotateKey(new_public_key=public_key_message(new_key), new_key_proof=proof)
