from healthledger.v1 import policy_pb2 as _policy_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordMetadata(_message.Message):
    __slots__ = ("patient", "category", "content_sha256", "size_bytes", "media_type", "amends_record_id", "effective_at_unix_ms", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    AMENDS_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    patient: str
    category: _policy_pb2.DataCategory
    content_sha256: bytes
    size_bytes: int
    media_type: str
    amends_record_id: str
    effective_at_unix_ms: int
    labels: _containers.ScalarMap[str, str]
    def __init__(self, patient: _Optional[str] = ..., category: _Optional[_Union[_policy_pb2.DataCategory, str]] = ..., content_sha256: _Optional[bytes] = ..., size_bytes: _Optional[int] = ..., media_type: _Optional[str] = ..., amends_record_id: _Optional[str] = ..., effective_at_unix_ms: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ContentChunk(_message.Message):
    __slots__ = ("data", "offset_bytes")
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_BYTES_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset_bytes: int
    def __init__(self, data: _Optional[bytes] = ..., offset_bytes: _Optional[int] = ...) -> None: ...

class RecordIdList(_message.Message):
    __slots__ = ("record_ids",)
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, record_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ErasureRequest(_message.Message):
    __slots__ = ("records", "all_records", "reason")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    ALL_RECORDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    records: RecordIdList
    all_records: bool
    reason: str
    def __init__(self, records: _Optional[_Union[RecordIdList, _Mapping]] = ..., all_records: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...
