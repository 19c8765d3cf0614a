from healthledger.v1 import policy_pb2 as _policy_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_ALLOWED: _ClassVar[Outcome]
    OUTCOME_DENIED: _ClassVar[Outcome]

class DecisionBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_BASIS_UNSPECIFIED: _ClassVar[DecisionBasis]
    DECISION_BASIS_PATIENT_SELF: _ClassVar[DecisionBasis]
    DECISION_BASIS_PERMIT_GRANT: _ClassVar[DecisionBasis]
    DECISION_BASIS_EMERGENCY_ACCESS: _ClassVar[DecisionBasis]
    DECISION_BASIS_DENY_GRANT: _ClassVar[DecisionBasis]
    DECISION_BASIS_NO_PERMIT: _ClassVar[DecisionBasis]
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_ALLOWED: Outcome
OUTCOME_DENIED: Outcome
DECISION_BASIS_UNSPECIFIED: DecisionBasis
DECISION_BASIS_PATIENT_SELF: DecisionBasis
DECISION_BASIS_PERMIT_GRANT: DecisionBasis
DECISION_BASIS_EMERGENCY_ACCESS: DecisionBasis
DECISION_BASIS_DENY_GRANT: DecisionBasis
DECISION_BASIS_NO_PERMIT: DecisionBasis

class ReleasedRecord(_message.Message):
    __slots__ = ("record_id", "content_sha256", "category")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    content_sha256: bytes
    category: _policy_pb2.DataCategory
    def __init__(self, record_id: _Optional[str] = ..., content_sha256: _Optional[bytes] = ..., category: _Optional[_Union[_policy_pb2.DataCategory, str]] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("sequence", "time_unix_ms", "actor", "patient", "action", "categories", "purpose", "released_records", "outcome", "basis", "reason", "deciding_grant_ids", "emergency", "emergency_access_id", "block_height", "entry_index")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    RELEASED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDING_GRANT_IDS_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_ACCESS_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time_unix_ms: int
    actor: str
    patient: str
    action: _policy_pb2.Action
    categories: _containers.RepeatedScalarFieldContainer[_policy_pb2.DataCategory]
    purpose: _policy_pb2.Purpose
    released_records: _containers.RepeatedCompositeFieldContainer[ReleasedRecord]
    outcome: Outcome
    basis: DecisionBasis
    reason: str
    deciding_grant_ids: _containers.RepeatedScalarFieldContainer[str]
    emergency: bool
    emergency_access_id: str
    block_height: int
    entry_index: int
    def __init__(self, sequence: _Optional[int] = ..., time_unix_ms: _Optional[int] = ..., actor: _Optional[str] = ..., patient: _Optional[str] = ..., action: _Optional[_Union[_policy_pb2.Action, str]] = ..., categories: _Optional[_Iterable[_Union[_policy_pb2.DataCategory, str]]] = ..., purpose: _Optional[_Union[_policy_pb2.Purpose, str]] = ..., released_records: _Optional[_Iterable[_Union[ReleasedRecord, _Mapping]]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., basis: _Optional[_Union[DecisionBasis, str]] = ..., reason: _Optional[str] = ..., deciding_grant_ids: _Optional[_Iterable[str]] = ..., emergency: _Optional[bool] = ..., emergency_access_id: _Optional[str] = ..., block_height: _Optional[int] = ..., entry_index: _Optional[int] = ...) -> None: ...
