"""Signing keys in the contract's byte formats (identity.proto, KeyAlgorithm): Ed25519 with 32-byte public
keys and R || S signatures, ECDSA P-256 with SHA-256, 65-byte uncompressed SEC1 public keys and raw r || s
signatures (`cryptography` signs in ASN.1 DER, which the contract refuses, so signatures are converted)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .errors import InvalidKeyError
from .principal import key_id

#: Algorithm names, as identity files and the command-line tool spell them.
ED25519 = "ed25519"
ECDSA_P256 = "p256"
ALGORITHMS = (ED25519, ECDSA_P256)

#: KeyAlgorithm enum values of identity.proto, by algorithm name.
PROTO_KEY_ALGORITHM = {ED25519: 1, ECDSA_P256: 2}

#: The order n of the P-256 group; s above n/2 is the "high-S" form of a signature.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SIGNATURE_BYTES = 64


class SigningKey:
    """A private key that signs for a principal: its algorithm, raw public key bytes and key id."""

    algorithm: str
    public_key_bytes: bytes

    @property
    def key_id(self) -> str:
        """Lowercase hex SHA-256 of the raw public key bytes."""
        return key_id(self.public_key_bytes)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte raw signature over `message`."""
        raise NotImplementedError

    def private_key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)."""
        return self._private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())

    _private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class Ed25519SigningKey(SigningKey):
    """An Ed25519 key pair (RFC 8032, pure): 32-byte raw public key, 64-byte R || S signatures."""

    algorithm = ED25519

    def __init__(self, private_key: ed25519.Ed25519PrivateKey | None = None):
        self._private_key = private_key or ed25519.Ed25519PrivateKey.generate()
        self.public_key_bytes = self._private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                             serialization.PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte R || S signature over `message`."""
        return self._private_key.sign(message)


class P256SigningKey(SigningKey):
    """An ECDSA P-256 key pair with SHA-256: 65-byte uncompressed SEC1 public key, 64-byte r || s signatures."""

    algorithm = ECDSA_P256

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | None = None):
        private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise InvalidKeyError(f"an ECDSA key on {private_key.curve.name}; only P-256 (secp256r1) is supported")
        self._private_key = private_key
        self.public_key_bytes = private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                                      serialization.PublicFormat.UncompressedPoint)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte r || s signature (IEEE P1363) over SHA-256 of `message`."""
        return der_to_raw_p256(self._private_key.sign(message, ec.ECDSA(hashes.SHA256())))


def generate_key(algorithm: str = ED25519) -> SigningKey:
    """A fresh key pair of `algorithm` ("ed25519" or "p256")."""
    if algorithm == ED25519:
        return Ed25519SigningKey()
    if algorithm == ECDSA_P256:
        return P256SigningKey()
    raise InvalidKeyError(f'unknown algorithm "{algorithm}" (expected one of {", ".join(ALGORITHMS)})')


def signing_key_from_pem(pem: bytes) -> SigningKey:
    """The key in an unencrypted PEM: PKCS#8 Ed25519 or P-256, or SEC1 `EC PRIVATE KEY` P-256."""
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise InvalidKeyError("the PEM private key is encrypted; identity files hold unencrypted keys") from None
    except (ValueError, UnsupportedAlgorithm) as error:
        raise InvalidKeyError(f"not a PEM private key: {error}") from None
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return Ed25519SigningKey(private_key)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return P256SigningKey(private_key)
    raise InvalidKeyError(f"a {type(private_key).__name__}; only Ed25519 and ECDSA P-256 keys sign for principals")


def der_to_raw_p256(der: bytes) -> bytes:
    """An ASN.1 DER ECDSA signature as r || s, each 32 bytes big-endian, left-padded with zeros."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def raw_to_der_p256(raw: bytes) -> bytes:
    """A raw r || s signature as ASN.1 DER, the form `cryptography` verifies."""
    if len(raw) != SIGNATURE_BYTES:
        raise InvalidKeyError(f"a P-256 signature is {SIGNATURE_BYTES} bytes r || s, not {len(raw)}")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def verify_signature(algorithm: str, key_bytes: bytes, message: bytes, signature: bytes) -> bool:
    """Whether the raw 64-byte `signature` by the public key `key_bytes` of `algorithm` is valid over `message`;
    False for a malformed key or signature as for a wrong one."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        if algorithm == ED25519:
            ed25519.Ed25519PublicKey.from_public_bytes(key_bytes).verify(signature, message)
        elif algorithm == ECDSA_P256:
            if len(key_bytes) != 65:
                return False
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
            public_key.verify(raw_to_der_p256(signature), message, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError, InvalidKeyError):
        return False
    return True


def algorithm_from_proto(value: int) -> str:
    """The algorithm name of a KeyAlgorithm enum value; InvalidKeyError for UNSPECIFIED or unknown values."""
    for name, number in PROTO_KEY_ALGORITHM.items():
        if number == value:
            return name
    raise InvalidKeyError(f"KeyAlgorithm value {value} is not Ed25519 (1) or ECDSA P-256 (2)")
