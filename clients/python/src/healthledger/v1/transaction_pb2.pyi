from healthledger.v1 import identity_pb2 as _identity_pb2
from healthledger.v1 import policy_pb2 as _policy_pb2
from healthledger.v1 import records_pb2 as _records_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedTransaction(_message.Message):
    __slots__ = ("body", "signature", "key_id", "public_key")
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    signature: bytes
    key_id: str
    public_key: _identity_pb2.PublicKey
    def __init__(self, body: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ..., public_key: _Optional[_Union[_identity_pb2.PublicKey, _Mapping]] = ...) -> None: ...

class TransactionBody(_message.Message):
    __slots__ = ("chain_id", "author", "sequence", "created_at_unix_ms", "expires_at_unix_ms", "grant", "revoke", "write_record", "rotate_key", "erasure_request", "emergency_access")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    REVOKE_FIELD_NUMBER: _ClassVar[int]
    WRITE_RECORD_FIELD_NUMBER: _ClassVar[int]
    ROTATE_KEY_FIELD_NUMBER: _ClassVar[int]
    ERASURE_REQUEST_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_ACCESS_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    author: str
    sequence: int
    created_at_unix_ms: int
    expires_at_unix_ms: int
    grant: _policy_pb2.Grant
    revoke: _policy_pb2.Revoke
    write_record: _records_pb2.RecordMetadata
    rotate_key: _identity_pb2.RotateKey
    erasure_request: _records_pb2.ErasureRequest
    emergency_access: _policy_pb2.EmergencyAccess
    def __init__(self, chain_id: _Optional[str] = ..., author: _Optional[str] = ..., sequence: _Optional[int] = ..., created_at_unix_ms: _Optional[int] = ..., expires_at_unix_ms: _Optional[int] = ..., grant: _Optional[_Union[_policy_pb2.Grant, _Mapping]] = ..., revoke: _Optional[_Union[_policy_pb2.Revoke, _Mapping]] = ..., write_record: _Optional[_Union[_records_pb2.RecordMetadata, _Mapping]] = ..., rotate_key: _Optional[_Union[_identity_pb2.RotateKey, _Mapping]] = ..., erasure_request: _Optional[_Union[_records_pb2.ErasureRequest, _Mapping]] = ..., emergency_access: _Optional[_Union[_policy_pb2.EmergencyAccess, _Mapping]] = ...) -> None: ...
