#!/usr/bin/env python3
"""Prints the test vectors of docs/MOBILE.md, computed with the Python client (package `healthledger`), so a
mobile team can check its own ids, signing messages, encodings and signature conversion against them:

    .venv/bin/python clients/c/tests/mobile_test_vectors.py

Every value is deterministic (Ed25519 signatures are; ECDSA ones are not, so P-256 gets a conversion vector
instead of a signature). test_mobile_guide.py checks that docs/MOBILE.md quotes each line exactly."""

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from healthledger import messages as pb
from healthledger.keys import Ed25519SigningKey, der_to_raw_p256
from healthledger.principal import key_id, principal_id
from healthledger.signing import key_possession_message, session_message, transaction_id

RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
P256_SCALAR = int.from_bytes(hashlib.sha256(b"healthledger mobile test vector").digest(), "big")
CHAIN_ID = "healthledger-local"
CHALLENGE = bytes(range(32))


def vectors() -> list[tuple[str, str]]:
    """(name, lowercase hex or text) pairs, in the order MOBILE.md lists them."""
    ed_key = Ed25519SigningKey(ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET))
    ed_principal = principal_id(ed_key.public_key_bytes)
    p256_private = ec.derive_private_key(P256_SCALAR, ec.SECP256R1())
    p256_public = p256_private.public_key().public_bytes(serialization.Encoding.X962,
                                                         serialization.PublicFormat.UncompressedPoint)
    p256_principal = principal_id(p256_public)
    session = session_message(CHAIN_ID, ed_principal, CHALLENGE)
    possession = key_possession_message(CHAIN_ID, ed_principal)

    content = b'{"resourceType":"Observation","code":"glucose","value":5.4}'
    metadata = pb.RecordMetadata(patient=p256_principal, category=pb.DATA_CATEGORY_LABS,
                                 content_sha256=hashlib.sha256(content).digest(), size_bytes=len(content),
                                 media_type="application/fhir+json", effective_at_unix_ms=1767225600000,
                                 labels={"unit": "mmol/L", "device": "meter-7"})
    body = pb.TransactionBody(chain_id=CHAIN_ID, author=ed_principal, sequence=1, created_at_unix_ms=1767225600123)
    body.write_record.CopyFrom(metadata)
    body_bytes = body.SerializeToString(deterministic=True)
    grant = pb.Grant(patient=p256_principal, grantee=ed_principal, actions=[pb.ACTION_WRITE],
                     categories=[pb.DATA_CATEGORY_LABS, pb.DATA_CATEGORY_VITALS], purposes=[pb.PURPOSE_TREATMENT],
                     effect=pb.EFFECT_PERMIT, valid_until_unix_ms=0)
    grant_body = pb.TransactionBody(chain_id=CHAIN_ID, author=p256_principal, sequence=2,
                                    created_at_unix_ms=1767225600456)
    grant_body.grant.CopyFrom(grant)
    grant_bytes = grant_body.SerializeToString(deterministic=True)

    # A DER signature whose r needs a leading 0x00 (high bit set) and whose s is shorter than 32 bytes.
    r = int("f" + "1" * 63, 16)
    s = 0x1234
    der = encode_dss_signature(r, s)
    return [
        ("ed25519.public_key", ed_key.public_key_bytes.hex()),
        ("ed25519.key_id", key_id(ed_key.public_key_bytes)),
        ("ed25519.principal_id", ed_principal),
        ("p256.private_scalar", format(P256_SCALAR, "064x")),
        ("p256.public_key", p256_public.hex()),
        ("p256.key_id", key_id(p256_public)),
        ("p256.principal_id", p256_principal),
        ("session.message", session.hex()),
        ("session.ed25519_signature", ed_key.sign(session).hex()),
        ("key_possession.message", possession.hex()),
        ("write.body", body_bytes.hex()),
        ("write.transaction_id", transaction_id(body_bytes)),
        ("write.ed25519_signature", ed_key.sign(body_bytes).hex()),
        ("grant.body", grant_bytes.hex()),
        ("der.signature", der.hex()),
        ("der.raw_r_s", der_to_raw_p256(der).hex()),
    ]


if __name__ == "__main__":
    for name, value in vectors():
        print(f"{name} = {value}")
