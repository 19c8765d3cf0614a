from healthledger.v1 import chain_pb2 as _chain_pb2
from healthledger.v1 import identity_pb2 as _identity_pb2
from healthledger.v1 import policy_pb2 as _policy_pb2
from healthledger.v1 import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GrantState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANT_STATE_UNSPECIFIED: _ClassVar[GrantState]
    GRANT_STATE_PENDING: _ClassVar[GrantState]
    GRANT_STATE_ACTIVE: _ClassVar[GrantState]
    GRANT_STATE_EXPIRED: _ClassVar[GrantState]
    GRANT_STATE_REVOKED: _ClassVar[GrantState]
GRANT_STATE_UNSPECIFIED: GrantState
GRANT_STATE_PENDING: GrantState
GRANT_STATE_ACTIVE: GrantState
GRANT_STATE_EXPIRED: GrantState
GRANT_STATE_REVOKED: GrantState

class GrantRecord(_message.Message):
    __slots__ = ("grant_id", "grant", "author", "created_at_unix_ms", "state", "revoke_transaction_id", "revoked_at_unix_ms", "location", "ledger_entry")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ENTRY_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    grant: _policy_pb2.Grant
    author: str
    created_at_unix_ms: int
    state: GrantState
    revoke_transaction_id: str
    revoked_at_unix_ms: int
    location: _chain_pb2.EntryLocation
    ledger_entry: bytes
    def __init__(self, grant_id: _Optional[str] = ..., grant: _Optional[_Union[_policy_pb2.Grant, _Mapping]] = ..., author: _Optional[str] = ..., created_at_unix_ms: _Optional[int] = ..., state: _Optional[_Union[GrantState, str]] = ..., revoke_transaction_id: _Optional[str] = ..., revoked_at_unix_ms: _Optional[int] = ..., location: _Optional[_Union[_chain_pb2.EntryLocation, _Mapping]] = ..., ledger_entry: _Optional[bytes] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("record_id", "metadata", "author", "created_at_unix_ms", "content_erased", "location", "ledger_entry")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_ERASED_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ENTRY_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    metadata: _records_pb2.RecordMetadata
    author: str
    created_at_unix_ms: int
    content_erased: bool
    location: _chain_pb2.EntryLocation
    ledger_entry: bytes
    def __init__(self, record_id: _Optional[str] = ..., metadata: _Optional[_Union[_records_pb2.RecordMetadata, _Mapping]] = ..., author: _Optional[str] = ..., created_at_unix_ms: _Optional[int] = ..., content_erased: _Optional[bool] = ..., location: _Optional[_Union[_chain_pb2.EntryLocation, _Mapping]] = ..., ledger_entry: _Optional[bytes] = ...) -> None: ...

class KeyRecord(_message.Message):
    __slots__ = ("key_id", "public_key", "added_at_height", "retired_at_height")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ADDED_AT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RETIRED_AT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: _identity_pb2.PublicKey
    added_at_height: int
    retired_at_height: int
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[_Union[_identity_pb2.PublicKey, _Mapping]] = ..., added_at_height: _Optional[int] = ..., retired_at_height: _Optional[int] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ("principal_id", "current_key_id", "keys", "next_sequence")
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    principal_id: str
    current_key_id: str
    keys: _containers.RepeatedCompositeFieldContainer[KeyRecord]
    next_sequence: int
    def __init__(self, principal_id: _Optional[str] = ..., current_key_id: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[KeyRecord, _Mapping]]] = ..., next_sequence: _Optional[int] = ...) -> None: ...
