from healthledger.v1 import audit_pb2 as _audit_pb2
from healthledger.v1 import chain_pb2 as _chain_pb2
from healthledger.v1 import identity_pb2 as _identity_pb2
from healthledger.v1 import policy_pb2 as _policy_pb2
from healthledger.v1 import records_pb2 as _records_pb2
from healthledger.v1 import state_pb2 as _state_pb2
from healthledger.v1 import transaction_pb2 as _transaction_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransactionReceipt(_message.Message):
    __slots__ = ("transaction_id", "block_height", "entry_index", "committed_at_unix_ms", "ledger_entry", "proof")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ENTRY_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    block_height: int
    entry_index: int
    committed_at_unix_ms: int
    ledger_entry: bytes
    proof: _chain_pb2.EntryProof
    def __init__(self, transaction_id: _Optional[str] = ..., block_height: _Optional[int] = ..., entry_index: _Optional[int] = ..., committed_at_unix_ms: _Optional[int] = ..., ledger_entry: _Optional[bytes] = ..., proof: _Optional[_Union[_chain_pb2.EntryProof, _Mapping]] = ...) -> None: ...

class LoggedAuditEvent(_message.Message):
    __slots__ = ("event", "ledger_entry", "proof")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ENTRY_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    event: _audit_pb2.AuditEvent
    ledger_entry: bytes
    proof: _chain_pb2.EntryProof
    def __init__(self, event: _Optional[_Union[_audit_pb2.AuditEvent, _Mapping]] = ..., ledger_entry: _Optional[bytes] = ..., proof: _Optional[_Union[_chain_pb2.EntryProof, _Mapping]] = ...) -> None: ...

class CreateSessionChallengeRequest(_message.Message):
    __slots__ = ("principal_id", "key_id", "public_key")
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    principal_id: str
    key_id: str
    public_key: _identity_pb2.PublicKey
    def __init__(self, principal_id: _Optional[str] = ..., key_id: _Optional[str] = ..., public_key: _Optional[_Union[_identity_pb2.PublicKey, _Mapping]] = ...) -> None: ...

class CreateSessionChallengeResponse(_message.Message):
    __slots__ = ("challenge", "expires_at_unix_ms", "chain_id")
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    challenge: bytes
    expires_at_unix_ms: int
    chain_id: str
    def __init__(self, challenge: _Optional[bytes] = ..., expires_at_unix_ms: _Optional[int] = ..., chain_id: _Optional[str] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("principal_id", "key_id", "public_key", "challenge", "signature", "requested_ttl_ms")
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    principal_id: str
    key_id: str
    public_key: _identity_pb2.PublicKey
    challenge: bytes
    signature: bytes
    requested_ttl_ms: int
    def __init__(self, principal_id: _Optional[str] = ..., key_id: _Optional[str] = ..., public_key: _Optional[_Union[_identity_pb2.PublicKey, _Mapping]] = ..., challenge: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., requested_ttl_ms: _Optional[int] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("token", "expires_at_unix_ms")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at_unix_ms: int
    def __init__(self, token: _Optional[str] = ..., expires_at_unix_ms: _Optional[int] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GrantRequest(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: _transaction_pb2.SignedTransaction
    def __init__(self, transaction: _Optional[_Union[_transaction_pb2.SignedTransaction, _Mapping]] = ...) -> None: ...

class GrantResponse(_message.Message):
    __slots__ = ("grant_id", "receipt")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    receipt: TransactionReceipt
    def __init__(self, grant_id: _Optional[str] = ..., receipt: _Optional[_Union[TransactionReceipt, _Mapping]] = ...) -> None: ...

class RevokeRequest(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: _transaction_pb2.SignedTransaction
    def __init__(self, transaction: _Optional[_Union[_transaction_pb2.SignedTransaction, _Mapping]] = ...) -> None: ...

class RevokeResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: TransactionReceipt
    def __init__(self, receipt: _Optional[_Union[TransactionReceipt, _Mapping]] = ...) -> None: ...

class WriteRequest(_message.Message):
    __slots__ = ("transaction", "chunk")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    transaction: _transaction_pb2.SignedTransaction
    chunk: _records_pb2.ContentChunk
    def __init__(self, transaction: _Optional[_Union[_transaction_pb2.SignedTransaction, _Mapping]] = ..., chunk: _Optional[_Union[_records_pb2.ContentChunk, _Mapping]] = ...) -> None: ...

class WriteResponse(_message.Message):
    __slots__ = ("record_id", "receipt")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    receipt: TransactionReceipt
    def __init__(self, record_id: _Optional[str] = ..., receipt: _Optional[_Union[TransactionReceipt, _Mapping]] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("patient", "categories", "purpose", "record_date_range", "record_ids", "include_content", "max_records")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    RECORD_DATE_RANGE_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    MAX_RECORDS_FIELD_NUMBER: _ClassVar[int]
    patient: str
    categories: _containers.RepeatedScalarFieldContainer[_policy_pb2.DataCategory]
    purpose: _policy_pb2.Purpose
    record_date_range: _policy_pb2.RecordDateRange
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    include_content: bool
    max_records: int
    def __init__(self, patient: _Optional[str] = ..., categories: _Optional[_Iterable[_Union[_policy_pb2.DataCategory, str]]] = ..., purpose: _Optional[_Union[_policy_pb2.Purpose, str]] = ..., record_date_range: _Optional[_Union[_policy_pb2.RecordDateRange, _Mapping]] = ..., record_ids: _Optional[_Iterable[str]] = ..., include_content: _Optional[bool] = ..., max_records: _Optional[int] = ...) -> None: ...

class QueryStarted(_message.Message):
    __slots__ = ("audit_sequence", "record_count", "total_content_bytes", "audit_event")
    AUDIT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CONTENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_FIELD_NUMBER: _ClassVar[int]
    audit_sequence: int
    record_count: int
    total_content_bytes: int
    audit_event: LoggedAuditEvent
    def __init__(self, audit_sequence: _Optional[int] = ..., record_count: _Optional[int] = ..., total_content_bytes: _Optional[int] = ..., audit_event: _Optional[_Union[LoggedAuditEvent, _Mapping]] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("started", "record", "chunk")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    started: QueryStarted
    record: _state_pb2.Record
    chunk: _records_pb2.ContentChunk
    def __init__(self, started: _Optional[_Union[QueryStarted, _Mapping]] = ..., record: _Optional[_Union[_state_pb2.Record, _Mapping]] = ..., chunk: _Optional[_Union[_records_pb2.ContentChunk, _Mapping]] = ...) -> None: ...

class AuditStreamRequest(_message.Message):
    __slots__ = ("patient", "start_sequence", "follow", "emergency_only", "actor", "outcome", "from_unix_ms", "until_unix_ms", "include_proofs")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    START_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_ONLY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FROM_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PROOFS_FIELD_NUMBER: _ClassVar[int]
    patient: str
    start_sequence: int
    follow: bool
    emergency_only: bool
    actor: str
    outcome: _audit_pb2.Outcome
    from_unix_ms: int
    until_unix_ms: int
    include_proofs: bool
    def __init__(self, patient: _Optional[str] = ..., start_sequence: _Optional[int] = ..., follow: _Optional[bool] = ..., emergency_only: _Optional[bool] = ..., actor: _Optional[str] = ..., outcome: _Optional[_Union[_audit_pb2.Outcome, str]] = ..., from_unix_ms: _Optional[int] = ..., until_unix_ms: _Optional[int] = ..., include_proofs: _Optional[bool] = ...) -> None: ...

class AuditReplayCompleted(_message.Message):
    __slots__ = ("head_sequence",)
    HEAD_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    head_sequence: int
    def __init__(self, head_sequence: _Optional[int] = ...) -> None: ...

class AuditStreamResponse(_message.Message):
    __slots__ = ("event", "replay_completed")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REPLAY_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    event: LoggedAuditEvent
    replay_completed: AuditReplayCompleted
    def __init__(self, event: _Optional[_Union[LoggedAuditEvent, _Mapping]] = ..., replay_completed: _Optional[_Union[AuditReplayCompleted, _Mapping]] = ...) -> None: ...

class ExportFhirBundleRequest(_message.Message):
    __slots__ = ("patient",)
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    patient: str
    def __init__(self, patient: _Optional[str] = ...) -> None: ...

class ExportFhirBundleStarted(_message.Message):
    __slots__ = ("record_count", "consent_count", "audit_event_count", "audit_events")
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONSENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    record_count: int
    consent_count: int
    audit_event_count: int
    audit_events: _containers.RepeatedCompositeFieldContainer[LoggedAuditEvent]
    def __init__(self, record_count: _Optional[int] = ..., consent_count: _Optional[int] = ..., audit_event_count: _Optional[int] = ..., audit_events: _Optional[_Iterable[_Union[LoggedAuditEvent, _Mapping]]] = ...) -> None: ...

class ExportFhirBundleResponse(_message.Message):
    __slots__ = ("started", "bundle_chunk")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_CHUNK_FIELD_NUMBER: _ClassVar[int]
    started: ExportFhirBundleStarted
    bundle_chunk: bytes
    def __init__(self, started: _Optional[_Union[ExportFhirBundleStarted, _Mapping]] = ..., bundle_chunk: _Optional[bytes] = ...) -> None: ...

class RotateKeyRequest(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: _transaction_pb2.SignedTransaction
    def __init__(self, transaction: _Optional[_Union[_transaction_pb2.SignedTransaction, _Mapping]] = ...) -> None: ...

class RotateKeyResponse(_message.Message):
    __slots__ = ("new_key_id", "receipt")
    NEW_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    new_key_id: str
    receipt: TransactionReceipt
    def __init__(self, new_key_id: _Optional[str] = ..., receipt: _Optional[_Union[TransactionReceipt, _Mapping]] = ...) -> None: ...

class EraseRequest(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: _transaction_pb2.SignedTransaction
    def __init__(self, transaction: _Optional[_Union[_transaction_pb2.SignedTransaction, _Mapping]] = ...) -> None: ...

class EraseResponse(_message.Message):
    __slots__ = ("erased_record_count", "receipt")
    ERASED_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    erased_record_count: int
    receipt: TransactionReceipt
    def __init__(self, erased_record_count: _Optional[int] = ..., receipt: _Optional[_Union[TransactionReceipt, _Mapping]] = ...) -> None: ...

class OpenEmergencyAccessRequest(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: _transaction_pb2.SignedTransaction
    def __init__(self, transaction: _Optional[_Union[_transaction_pb2.SignedTransaction, _Mapping]] = ...) -> None: ...

class OpenEmergencyAccessResponse(_message.Message):
    __slots__ = ("emergency_access_id", "expires_at_unix_ms", "receipt")
    EMERGENCY_ACCESS_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    emergency_access_id: str
    expires_at_unix_ms: int
    receipt: TransactionReceipt
    def __init__(self, emergency_access_id: _Optional[str] = ..., expires_at_unix_ms: _Optional[int] = ..., receipt: _Optional[_Union[TransactionReceipt, _Mapping]] = ...) -> None: ...

class ListGrantsRequest(_message.Message):
    __slots__ = ("patient", "grantee", "include_inactive", "page_size", "page_token")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    patient: str
    grantee: str
    include_inactive: bool
    page_size: int
    page_token: str
    def __init__(self, patient: _Optional[str] = ..., grantee: _Optional[str] = ..., include_inactive: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGrantsResponse(_message.Message):
    __slots__ = ("grants", "next_page_token")
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    grants: _containers.RepeatedCompositeFieldContainer[_state_pb2.GrantRecord]
    next_page_token: str
    def __init__(self, grants: _Optional[_Iterable[_Union[_state_pb2.GrantRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ProposeGrantsFromConsentRequest(_message.Message):
    __slots__ = ("consent_json",)
    CONSENT_JSON_FIELD_NUMBER: _ClassVar[int]
    consent_json: bytes
    def __init__(self, consent_json: _Optional[bytes] = ...) -> None: ...

class ProposeGrantsFromConsentResponse(_message.Message):
    __slots__ = ("grants",)
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    grants: _containers.RepeatedCompositeFieldContainer[_policy_pb2.Grant]
    def __init__(self, grants: _Optional[_Iterable[_Union[_policy_pb2.Grant, _Mapping]]] = ...) -> None: ...

class GetPrincipalRequest(_message.Message):
    __slots__ = ("principal_id",)
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    principal_id: str
    def __init__(self, principal_id: _Optional[str] = ...) -> None: ...

class GetPrincipalResponse(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _state_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_state_pb2.Principal, _Mapping]] = ...) -> None: ...

class GetChainHeadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetChainHeadResponse(_message.Message):
    __slots__ = ("chain_id", "head", "checkpoint", "node_keys", "server_time_unix_ms", "height", "tree_size")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    NODE_KEYS_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    head: _chain_pb2.SignedBlockHeader
    checkpoint: _chain_pb2.SignedCheckpoint
    node_keys: _containers.RepeatedCompositeFieldContainer[_chain_pb2.NodeKey]
    server_time_unix_ms: int
    height: int
    tree_size: int
    def __init__(self, chain_id: _Optional[str] = ..., head: _Optional[_Union[_chain_pb2.SignedBlockHeader, _Mapping]] = ..., checkpoint: _Optional[_Union[_chain_pb2.SignedCheckpoint, _Mapping]] = ..., node_keys: _Optional[_Iterable[_Union[_chain_pb2.NodeKey, _Mapping]]] = ..., server_time_unix_ms: _Optional[int] = ..., height: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetBlocksRequest(_message.Message):
    __slots__ = ("start_height", "end_height", "follow")
    START_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    END_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    start_height: int
    end_height: int
    follow: bool
    def __init__(self, start_height: _Optional[int] = ..., end_height: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class GetBlocksResponse(_message.Message):
    __slots__ = ("block",)
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    block: _chain_pb2.SignedBlockHeader
    def __init__(self, block: _Optional[_Union[_chain_pb2.SignedBlockHeader, _Mapping]] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ("tree_size",)
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tree_size: int
    def __init__(self, tree_size: _Optional[int] = ...) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: _chain_pb2.SignedCheckpoint
    def __init__(self, checkpoint: _Optional[_Union[_chain_pb2.SignedCheckpoint, _Mapping]] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("leaf_index", "tree_size")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    tree_size: int
    def __init__(self, leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetInclusionProofResponse(_message.Message):
    __slots__ = ("proof", "checkpoint")
    PROOF_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    proof: _chain_pb2.InclusionProof
    checkpoint: _chain_pb2.SignedCheckpoint
    def __init__(self, proof: _Optional[_Union[_chain_pb2.InclusionProof, _Mapping]] = ..., checkpoint: _Optional[_Union[_chain_pb2.SignedCheckpoint, _Mapping]] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("first_tree_size", "second_tree_size")
    FIRST_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    first_tree_size: int
    second_tree_size: int
    def __init__(self, first_tree_size: _Optional[int] = ..., second_tree_size: _Optional[int] = ...) -> None: ...

class GetConsistencyProofResponse(_message.Message):
    __slots__ = ("proof", "first_checkpoint", "second_checkpoint")
    PROOF_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    SECOND_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    proof: _chain_pb2.ConsistencyProof
    first_checkpoint: _chain_pb2.SignedCheckpoint
    second_checkpoint: _chain_pb2.SignedCheckpoint
    def __init__(self, proof: _Optional[_Union[_chain_pb2.ConsistencyProof, _Mapping]] = ..., first_checkpoint: _Optional[_Union[_chain_pb2.SignedCheckpoint, _Mapping]] = ..., second_checkpoint: _Optional[_Union[_chain_pb2.SignedCheckpoint, _Mapping]] = ...) -> None: ...

class ResearchFeedRequest(_message.Message):
    __slots__ = ("start_sequence", "follow")
    START_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    start_sequence: int
    follow: bool
    def __init__(self, start_sequence: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class ResearchEvent(_message.Message):
    __slots__ = ("sequence", "time_unix_ms", "actor_pseudonym", "patient_pseudonym", "action", "categories", "purpose", "outcome", "basis", "emergency", "released_record_count")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    PATIENT_PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_FIELD_NUMBER: _ClassVar[int]
    RELEASED_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time_unix_ms: int
    actor_pseudonym: str
    patient_pseudonym: str
    action: _policy_pb2.Action
    categories: _containers.RepeatedScalarFieldContainer[_policy_pb2.DataCategory]
    purpose: _policy_pb2.Purpose
    outcome: _audit_pb2.Outcome
    basis: _audit_pb2.DecisionBasis
    emergency: bool
    released_record_count: int
    def __init__(self, sequence: _Optional[int] = ..., time_unix_ms: _Optional[int] = ..., actor_pseudonym: _Optional[str] = ..., patient_pseudonym: _Optional[str] = ..., action: _Optional[_Union[_policy_pb2.Action, str]] = ..., categories: _Optional[_Iterable[_Union[_policy_pb2.DataCategory, str]]] = ..., purpose: _Optional[_Union[_policy_pb2.Purpose, str]] = ..., outcome: _Optional[_Union[_audit_pb2.Outcome, str]] = ..., basis: _Optional[_Union[_audit_pb2.DecisionBasis, str]] = ..., emergency: _Optional[bool] = ..., released_record_count: _Optional[int] = ...) -> None: ...

class ResearchFeedResponse(_message.Message):
    __slots__ = ("event", "replay_completed")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REPLAY_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    event: ResearchEvent
    replay_completed: AuditReplayCompleted
    def __init__(self, event: _Optional[_Union[ResearchEvent, _Mapping]] = ..., replay_completed: _Optional[_Union[AuditReplayCompleted, _Mapping]] = ...) -> None: ...
