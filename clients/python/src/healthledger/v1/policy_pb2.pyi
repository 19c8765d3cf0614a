from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_READ: _ClassVar[Action]
    ACTION_WRITE: _ClassVar[Action]
    ACTION_AUDIT_READ: _ClassVar[Action]
    ACTION_DELEGATE: _ClassVar[Action]

class DataCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_CATEGORY_UNSPECIFIED: _ClassVar[DataCategory]
    DATA_CATEGORY_DEMOGRAPHICS: _ClassVar[DataCategory]
    DATA_CATEGORY_CONDITIONS: _ClassVar[DataCategory]
    DATA_CATEGORY_MEDICATIONS: _ClassVar[DataCategory]
    DATA_CATEGORY_ALLERGIES: _ClassVar[DataCategory]
    DATA_CATEGORY_LABS: _ClassVar[DataCategory]
    DATA_CATEGORY_IMAGING: _ClassVar[DataCategory]
    DATA_CATEGORY_VITALS: _ClassVar[DataCategory]
    DATA_CATEGORY_IMMUNIZATIONS: _ClassVar[DataCategory]
    DATA_CATEGORY_PROCEDURES: _ClassVar[DataCategory]
    DATA_CATEGORY_CLINICAL_NOTES: _ClassVar[DataCategory]
    DATA_CATEGORY_MENTAL_HEALTH: _ClassVar[DataCategory]
    DATA_CATEGORY_SEXUAL_HEALTH: _ClassVar[DataCategory]
    DATA_CATEGORY_SUBSTANCE_USE: _ClassVar[DataCategory]
    DATA_CATEGORY_GENOMICS: _ClassVar[DataCategory]
    DATA_CATEGORY_ALL: _ClassVar[DataCategory]

class Purpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_UNSPECIFIED: _ClassVar[Purpose]
    PURPOSE_TREATMENT: _ClassVar[Purpose]
    PURPOSE_EMERGENCY: _ClassVar[Purpose]
    PURPOSE_RESEARCH: _ClassVar[Purpose]
    PURPOSE_PAYMENT: _ClassVar[Purpose]
    PURPOSE_OPERATIONS: _ClassVar[Purpose]
    PURPOSE_PATIENT_REQUEST: _ClassVar[Purpose]

class Effect(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EFFECT_UNSPECIFIED: _ClassVar[Effect]
    EFFECT_PERMIT: _ClassVar[Effect]
    EFFECT_DENY: _ClassVar[Effect]
ACTION_UNSPECIFIED: Action
ACTION_READ: Action
ACTION_WRITE: Action
ACTION_AUDIT_READ: Action
ACTION_DELEGATE: Action
DATA_CATEGORY_UNSPECIFIED: DataCategory
DATA_CATEGORY_DEMOGRAPHICS: DataCategory
DATA_CATEGORY_CONDITIONS: DataCategory
DATA_CATEGORY_MEDICATIONS: DataCategory
DATA_CATEGORY_ALLERGIES: DataCategory
DATA_CATEGORY_LABS: DataCategory
DATA_CATEGORY_IMAGING: DataCategory
DATA_CATEGORY_VITALS: DataCategory
DATA_CATEGORY_IMMUNIZATIONS: DataCategory
DATA_CATEGORY_PROCEDURES: DataCategory
DATA_CATEGORY_CLINICAL_NOTES: DataCategory
DATA_CATEGORY_MENTAL_HEALTH: DataCategory
DATA_CATEGORY_SEXUAL_HEALTH: DataCategory
DATA_CATEGORY_SUBSTANCE_USE: DataCategory
DATA_CATEGORY_GENOMICS: DataCategory
DATA_CATEGORY_ALL: DataCategory
PURPOSE_UNSPECIFIED: Purpose
PURPOSE_TREATMENT: Purpose
PURPOSE_EMERGENCY: Purpose
PURPOSE_RESEARCH: Purpose
PURPOSE_PAYMENT: Purpose
PURPOSE_OPERATIONS: Purpose
PURPOSE_PATIENT_REQUEST: Purpose
EFFECT_UNSPECIFIED: Effect
EFFECT_PERMIT: Effect
EFFECT_DENY: Effect

class RecordDateRange(_message.Message):
    __slots__ = ("from_unix_ms", "until_unix_ms")
    FROM_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    from_unix_ms: int
    until_unix_ms: int
    def __init__(self, from_unix_ms: _Optional[int] = ..., until_unix_ms: _Optional[int] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("patient", "grantee", "actions", "categories", "purposes", "valid_from_unix_ms", "valid_until_unix_ms", "record_date_range", "effect", "delegation_grant_id", "note")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    RECORD_DATE_RANGE_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    DELEGATION_GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    patient: str
    grantee: str
    actions: _containers.RepeatedScalarFieldContainer[Action]
    categories: _containers.RepeatedScalarFieldContainer[DataCategory]
    purposes: _containers.RepeatedScalarFieldContainer[Purpose]
    valid_from_unix_ms: int
    valid_until_unix_ms: int
    record_date_range: RecordDateRange
    effect: Effect
    delegation_grant_id: str
    note: str
    def __init__(self, patient: _Optional[str] = ..., grantee: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[Action, str]]] = ..., categories: _Optional[_Iterable[_Union[DataCategory, str]]] = ..., purposes: _Optional[_Iterable[_Union[Purpose, str]]] = ..., valid_from_unix_ms: _Optional[int] = ..., valid_until_unix_ms: _Optional[int] = ..., record_date_range: _Optional[_Union[RecordDateRange, _Mapping]] = ..., effect: _Optional[_Union[Effect, str]] = ..., delegation_grant_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Revoke(_message.Message):
    __slots__ = ("grant_id", "delegation_grant_id")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    DELEGATION_GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    delegation_grant_id: str
    def __init__(self, grant_id: _Optional[str] = ..., delegation_grant_id: _Optional[str] = ...) -> None: ...

class EmergencyAccess(_message.Message):
    __slots__ = ("patient", "categories", "reason", "duration_ms")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    patient: str
    categories: _containers.RepeatedScalarFieldContainer[DataCategory]
    reason: str
    duration_ms: int
    def __init__(self, patient: _Optional[str] = ..., categories: _Optional[_Iterable[_Union[DataCategory, str]]] = ..., reason: _Optional[str] = ..., duration_ms: _Optional[int] = ...) -> None: ...
