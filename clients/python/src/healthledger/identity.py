"""Identities and identity files: the same text format as the command-line tool (docs/CLI.md), so a key made
with `healthledger keygen` signs in Python and one saved here works with the command-line tool.

    # HealthLedger identity. Keep this file secret: it signs for the principal below.
    principal: hl1...
    algorithm: ed25519
    key-id: 64 lowercase hex characters
    -----BEGIN PRIVATE KEY-----
    (PKCS#8, base64)
    -----END PRIVATE KEY-----
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import IdentityFileError, InvalidKeyError, InvalidPrincipalId
from .keys import ED25519, SigningKey, generate_key, signing_key_from_pem
from .principal import parse_principal_id, principal_id

FILE_COMMENT = "# HealthLedger identity. Keep this file secret: it signs for the principal below."
MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Identity:
    """Who signs: a principal id and the key that currently signs for it (the first key, or a later one after
    a key rotation, when the id no longer derives from the key)."""

    principal_id: str
    key: SigningKey

    @classmethod
    def from_first_key(cls, key: SigningKey) -> Identity:
        """The identity of a principal whose first key is `key` (its id derives from the key)."""
        return cls(principal_id(key.public_key_bytes), key)

    @classmethod
    def generate(cls, algorithm: str = ED25519) -> Identity:
        """A new principal with a fresh key of `algorithm` ("ed25519" or "p256")."""
        return cls.from_first_key(generate_key(algorithm))

    @property
    def key_id(self) -> str:
        """The key id of the signing key."""
        return self.key.key_id


def default_identity_path(environment: dict[str, str] | None = None) -> Path:
    """$HEALTHLEDGER_IDENTITY, else $XDG_CONFIG_HOME/healthledger/identity.pem, else
    ~/.config/healthledger/identity.pem: where the command-line tool looks too."""
    environment = dict(os.environ) if environment is None else environment
    if environment.get("HEALTHLEDGER_IDENTITY"):
        return Path(environment["HEALTHLEDGER_IDENTITY"])
    if environment.get("XDG_CONFIG_HOME"):
        return Path(environment["XDG_CONFIG_HOME"]) / "healthledger" / "identity.pem"
    return Path(environment.get("HOME", ".")) / ".config" / "healthledger" / "identity.pem"


def encode_identity(identity: Identity) -> str:
    """The identity file text for `identity`."""
    return (f"{FILE_COMMENT}\n"
            f"principal: {identity.principal_id}\n"
            f"algorithm: {identity.key.algorithm}\n"
            f"key-id: {identity.key.key_id}\n") + identity.key.private_key_pem().decode("ascii")


def decode_identity(text: str, path: str = "<identity>") -> Identity:
    """The identity in identity file text; `path` only names the file in errors (IdentityFileError "malformed")."""
    pem_start = text.find("-----BEGIN ")
    if pem_start < 0:
        raise IdentityFileError("malformed", path, "no PEM private key block")
    headers: dict[str, str] = {}
    for line in text[:pem_start].splitlines():
        trimmed = line.strip()
        if not trimmed or trimmed.startswith("#"):
            continue
        name, colon, value = trimmed.partition(":")
        if not colon:
            raise IdentityFileError("malformed", path, f'header line "{trimmed}" is not `name: value`')
        headers[name.strip().lower()] = value.strip()
    try:
        key = signing_key_from_pem(text[pem_start:].encode("utf-8"))
    except InvalidKeyError as error:
        raise IdentityFileError("malformed", path, str(error)) from None
    algorithm = headers.get("algorithm")
    if algorithm is not None and algorithm != key.algorithm:
        raise IdentityFileError("malformed", path, f"header says algorithm {algorithm} but the key is {key.algorithm}")
    header_key_id = headers.get("key-id")
    if header_key_id is not None and header_key_id != key.key_id:
        raise IdentityFileError("malformed", path, "header key-id does not match the key")
    principal_text = headers.get("principal")
    if principal_text is None:
        return Identity.from_first_key(key)
    try:
        return Identity(parse_principal_id(principal_text), key)
    except InvalidPrincipalId as error:
        raise IdentityFileError("malformed", path, f"principal {principal_text}: {error.reason}") from None


def load_identity(path: str | os.PathLike[str] | None = None) -> Identity:
    """The identity in the file at `path` (default: default_identity_path()); refuses a file that group or
    others may read or write, as the command-line tool does."""
    path = Path(path) if path is not None else default_identity_path()
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise IdentityFileError("not-found", str(path)) from None
    except OSError as error:
        raise IdentityFileError("io", str(path), f"cannot open: {error.strerror}") from None
    try:
        status = os.fstat(descriptor)
        permissions = stat.S_IMODE(status.st_mode)
        if permissions & 0o077:
            raise IdentityFileError("unsafe-permissions", str(path), format(permissions, "o"))
        if status.st_size > MAX_FILE_BYTES:
            raise IdentityFileError("malformed", str(path), "larger than 64 KiB")
        data = bytearray()
        while chunk := os.read(descriptor, MAX_FILE_BYTES + 1 - len(data)):
            data += chunk
            if len(data) > MAX_FILE_BYTES:
                raise IdentityFileError("malformed", str(path), "larger than 64 KiB")
    finally:
        os.close(descriptor)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise IdentityFileError("malformed", str(path), "not UTF-8 text") from None
    return decode_identity(text, str(path))


def save_identity(identity: Identity, path: str | os.PathLike[str] | None = None, overwrite: bool = False) -> Path:
    """Writes `identity` to `path` (default: default_identity_path()) atomically with mode 0600, creating
    missing directories with mode 0700; replaces an existing file only when `overwrite` is set. Returns the path."""
    path = Path(path) if path is not None else default_identity_path()
    directory = path.parent
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise IdentityFileError("io", str(path), f"cannot create directory {directory}: {error.strerror}") from None
    if not overwrite and os.path.lexists(path):
        raise IdentityFileError("already-exists", str(path))
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise IdentityFileError("io", str(path), f"cannot create: {error.strerror}") from None
    try:
        try:
            data = memoryview(encode_identity(identity).encode("utf-8"))
            while data:
                data = data[os.write(descriptor, data):]
            os.fchmod(descriptor, 0o600)  # whatever the umask made of the creation mode
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if overwrite:
            os.replace(temporary, path)
        else:
            # link() refuses an existing target, so two concurrent saves cannot overwrite each other.
            os.link(temporary, path)
    except FileExistsError:
        raise IdentityFileError("already-exists", str(path)) from None
    except OSError as error:
        raise IdentityFileError("io", str(path), f"cannot write: {error.strerror}") from None
    finally:
        if temporary.exists():
            temporary.unlink()
    _sync_directory(directory)
    return path


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
