from healthledger.v1 import audit_pb2 as _audit_pb2
from healthledger.v1 import identity_pb2 as _identity_pb2
from healthledger.v1 import transaction_pb2 as _transaction_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LedgerEntry(_message.Message):
    __slots__ = ("salt", "transaction", "audit_event")
    SALT_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_FIELD_NUMBER: _ClassVar[int]
    salt: bytes
    transaction: _transaction_pb2.SignedTransaction
    audit_event: _audit_pb2.AuditEvent
    def __init__(self, salt: _Optional[bytes] = ..., transaction: _Optional[_Union[_transaction_pb2.SignedTransaction, _Mapping]] = ..., audit_event: _Optional[_Union[_audit_pb2.AuditEvent, _Mapping]] = ...) -> None: ...

class EntryLocation(_message.Message):
    __slots__ = ("block_height", "entry_index")
    BLOCK_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    block_height: int
    entry_index: int
    def __init__(self, block_height: _Optional[int] = ..., entry_index: _Optional[int] = ...) -> None: ...

class BlockHeader(_message.Message):
    __slots__ = ("chain_id", "height", "previous_block_hash", "time_unix_ms", "entries_root_hash", "entry_count", "first_entry_index", "tree_root_hash")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    height: int
    previous_block_hash: bytes
    time_unix_ms: int
    entries_root_hash: bytes
    entry_count: int
    first_entry_index: int
    tree_root_hash: bytes
    def __init__(self, chain_id: _Optional[str] = ..., height: _Optional[int] = ..., previous_block_hash: _Optional[bytes] = ..., time_unix_ms: _Optional[int] = ..., entries_root_hash: _Optional[bytes] = ..., entry_count: _Optional[int] = ..., first_entry_index: _Optional[int] = ..., tree_root_hash: _Optional[bytes] = ...) -> None: ...

class SignedBlockHeader(_message.Message):
    __slots__ = ("header", "signature", "node_key_id")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    NODE_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    signature: bytes
    node_key_id: str
    def __init__(self, header: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., node_key_id: _Optional[str] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("chain_id", "tree_size", "root_hash", "time_unix_ms", "block_height")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    tree_size: int
    root_hash: bytes
    time_unix_ms: int
    block_height: int
    def __init__(self, chain_id: _Optional[str] = ..., tree_size: _Optional[int] = ..., root_hash: _Optional[bytes] = ..., time_unix_ms: _Optional[int] = ..., block_height: _Optional[int] = ...) -> None: ...

class SignedCheckpoint(_message.Message):
    __slots__ = ("checkpoint", "signature", "node_key_id")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    NODE_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    checkpoint: bytes
    signature: bytes
    node_key_id: str
    def __init__(self, checkpoint: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., node_key_id: _Optional[str] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("leaf_index", "tree_size", "audit_path")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    AUDIT_PATH_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    tree_size: int
    audit_path: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ..., audit_path: _Optional[_Iterable[bytes]] = ...) -> None: ...

class EntryProof(_message.Message):
    __slots__ = ("inclusion", "checkpoint")
    INCLUSION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    inclusion: InclusionProof
    checkpoint: SignedCheckpoint
    def __init__(self, inclusion: _Optional[_Union[InclusionProof, _Mapping]] = ..., checkpoint: _Optional[_Union[SignedCheckpoint, _Mapping]] = ...) -> None: ...

class ConsistencyProof(_message.Message):
    __slots__ = ("first_tree_size", "second_tree_size", "consistency_path")
    FIRST_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_PATH_FIELD_NUMBER: _ClassVar[int]
    first_tree_size: int
    second_tree_size: int
    consistency_path: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, first_tree_size: _Optional[int] = ..., second_tree_size: _Optional[int] = ..., consistency_path: _Optional[_Iterable[bytes]] = ...) -> None: ...

class NodeKey(_message.Message):
    __slots__ = ("key_id", "public_key", "valid_from_height", "valid_until_height")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: _identity_pb2.PublicKey
    valid_from_height: int
    valid_until_height: int
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[_Union[_identity_pb2.PublicKey, _Mapping]] = ..., valid_from_height: _Optional[int] = ..., valid_until_height: _Optional[int] = ...) -> None: ...
