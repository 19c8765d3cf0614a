"""Typed errors: what the node refused (with its gRPC status code and message), what did not verify, and
bad input caught before anything is sent."""

from __future__ import annotations

import grpc


class HealthLedgerError(Exception):
    """Base of every error this package raises."""


class LedgerError(HealthLedgerError):
    """The node (or the connection to it) ended a call with a non-OK gRPC status.

    `code` is the grpc.StatusCode and `message` the node's text; ledger_service.proto lists what each code
    means per RPC. Subclasses exist for the codes callers act on; others arrive as LedgerError itself."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, code: grpc.StatusCode, message: str, rpc: str = ""):
        self.code = code
        self.message = message
        self.rpc = rpc
        where = f"{rpc}: " if rpc else ""
        super().__init__(f"{where}{code.name}: {message}")


class InvalidArgumentError(LedgerError):
    """INVALID_ARGUMENT: malformed input; the message names the field."""


class UnauthenticatedError(LedgerError):
    """UNAUTHENTICATED: missing or bad credentials, session token or signature."""


class PermissionDeniedError(LedgerError):
    """PERMISSION_DENIED: policy says no (the decision was audited)."""


class NotFoundError(LedgerError):
    """NOT_FOUND: no such grant, record, principal, block or checkpoint (yet)."""


class AlreadyExistsError(LedgerError):
    """ALREADY_EXISTS: this exact transaction is committed already.

    `committed_by_earlier_attempt` is true when this client sent the transaction more than once (its outcome
    was unknown after UNAVAILABLE): the transaction took effect, `transaction_id` names it."""

    transaction_id: str | None = None
    committed_by_earlier_attempt: bool = False


class FailedPreconditionError(LedgerError):
    """FAILED_PRECONDITION: the ledger's state does not allow it (sequence, retired key, chain id, ...)."""


class ResourceExhaustedError(LedgerError):
    """RESOURCE_EXHAUSTED: a size or rate limit was hit; the message says which."""


class UnavailableError(LedgerError):
    """UNAVAILABLE: the node cannot be reached or cannot commit now; retry with backoff."""


class DeadlineExceededError(LedgerError):
    """DEADLINE_EXCEEDED: the call's deadline passed before the node answered."""


class DataLossError(LedgerError):
    """DATA_LOSS: stored content no longer matches its hash."""


class InternalError(LedgerError):
    """INTERNAL: a bug in the node, never an expected condition."""


_BY_CODE: dict[grpc.StatusCode, type[LedgerError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.DATA_LOSS: DataLossError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def ledger_error(code: grpc.StatusCode, message: str, rpc: str = "") -> LedgerError:
    """The LedgerError subclass for `code`."""
    return _BY_CODE.get(code, LedgerError)(code, message, rpc)


def from_rpc_error(error: grpc.RpcError, rpc: str = "") -> LedgerError:
    """The typed error for a grpcio RpcError (which is also a grpc.Call carrying code and details)."""
    call: grpc.Call = error  # type: ignore[assignment]
    return ledger_error(call.code(), call.details() or "", rpc)


class VerificationError(HealthLedgerError):
    """Something the node returned does not verify (a signature, a proof, a content hash); the message says
    what. Never retried: it means the node, or something between it and this client, is not trustworthy."""


class HistoryMismatchError(VerificationError):
    """A signed checkpoint that cannot be part of the history this client saw before: the same tree size with
    another root, a consistency proof that does not join the two, or a node that no longer has a checkpoint it
    signed. It means the node (or whoever holds its key) rewrote or forked the log; the message names both tree
    sizes and the start of both roots."""


class InvalidPrincipalId(HealthLedgerError, ValueError):
    """A principal id that is not the exact lowercase Bech32m form of identity.proto."""

    def __init__(self, text: str, reason: str):
        self.text = text
        self.reason = reason
        super().__init__(f"principal id {text!r}: {reason}")


class InvalidKeyError(HealthLedgerError, ValueError):
    """Key bytes or a signature that are not in the algorithm's format (identity.proto, KeyAlgorithm)."""


class IdentityFileError(HealthLedgerError):
    """An identity file that cannot be used; `kind` is one of KINDS and the message names the file."""

    #: not-found, unsafe-permissions, malformed, already-exists, io: as the command-line tool's exit codes.
    KINDS = ("not-found", "unsafe-permissions", "malformed", "already-exists", "io")

    def __init__(self, kind: str, path: str, detail: str = ""):
        assert kind in self.KINDS, kind
        self.kind = kind
        self.path = path
        self.detail = detail
        super().__init__(self._describe())

    def _describe(self) -> str:
        if self.kind == "not-found":
            return f"no identity file at {self.path}"
        if self.kind == "unsafe-permissions":
            return (f"identity file {self.path} has mode {self.detail}: group or others may access the private "
                    f"key (hint: chmod 600 {self.path})")
        if self.kind == "malformed":
            return f"identity file {self.path} is not usable: {self.detail}"
        if self.kind == "already-exists":
            return f"identity file {self.path} already exists"
        return f"identity file {self.path}: {self.detail}"
