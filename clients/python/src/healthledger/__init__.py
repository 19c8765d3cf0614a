"""HealthLedger's Python client: identity files, principal ids, transaction signing, sessions, proof
verification and a LedgerClient for a node's gRPC API (proto/healthledger/v1).

    from healthledger import LedgerClient, load_identity, messages as pb

    with LedgerClient("127.0.0.1:7443", load_identity("me.pem"), ca_file="ca.pem") as client:
        client.grant(clinician_id, [pb.DATA_CATEGORY_LABS])
"""

from . import messages
from .audit import AuditResumePoint
from .client import FhirExport, LedgerClient, QueriedRecord, QueryResult
from .errors import (AlreadyExistsError, DataLossError, DeadlineExceededError, FailedPreconditionError,
                     HealthLedgerError, HistoryMismatchError, IdentityFileError, InternalError, InvalidArgumentError,
                     InvalidKeyError, InvalidPrincipalId, LedgerError, NotFoundError, PermissionDeniedError,
                     ResourceExhaustedError, UnauthenticatedError, UnavailableError, VerificationError)
from .identity import (Identity, decode_identity, default_identity_path, encode_identity, load_identity,
                       save_identity)
from .keys import ECDSA_P256, ED25519, Ed25519SigningKey, P256SigningKey, SigningKey, generate_key, verify_signature
from .principal import key_id, parse_principal_id, principal_id
from .signing import TransactionSigner, transaction_id
from .verification import ChainVerifier, CheckpointHistory

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError", "AuditResumePoint", "ChainVerifier", "CheckpointHistory", "DataLossError",
    "DeadlineExceededError", "ECDSA_P256", "ED25519", "Ed25519SigningKey", "FailedPreconditionError", "FhirExport",
    "HealthLedgerError", "HistoryMismatchError", "Identity", "IdentityFileError", "InternalError",
    "InvalidArgumentError", "InvalidKeyError", "InvalidPrincipalId", "LedgerClient", "LedgerError", "NotFoundError",
    "P256SigningKey", "PermissionDeniedError", "QueriedRecord", "QueryResult", "ResourceExhaustedError",
    "SigningKey", "TransactionSigner", "UnauthenticatedError", "UnavailableError", "VerificationError",
    "decode_identity", "default_identity_path", "encode_identity", "generate_key", "key_id", "load_identity",
    "messages", "parse_principal_id", "principal_id", "save_identity", "transaction_id", "verify_signature",
]
