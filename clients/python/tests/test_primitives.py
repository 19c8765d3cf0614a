"""The client's primitives against published vectors and trees built here, before any is trusted on a node:
principal and key ids (identity.proto's worked example, BIP-350), raw signatures, transaction bodies, and the
RFC 9162 verifiers."""

import hashlib

import pytest

from healthledger import (Ed25519SigningKey, Identity, InvalidPrincipalId, P256SigningKey, TransactionSigner,
                          key_id, messages as pb, parse_principal_id, principal_id, transaction_id, verify_signature)
from healthledger.keys import ECDSA_P256, ED25519, P256_ORDER
from healthledger.merkle import (consistency_proof, inclusion_path, leaf_hash, merkle_tree_hash, verify_consistency,
                                 verify_inclusion)
from healthledger.principal import BECH32_CONSTANT, PRINCIPAL_HRP, bech32m_decode_values, bech32m_encode
from healthledger.signing import context_labelled, session_message

RFC8032_KEY = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def test_identity_proto_worked_example():
    assert key_id(RFC8032_KEY) == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
    assert principal_id(RFC8032_KEY) == "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8"
    assert parse_principal_id("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8") == "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8"


@pytest.mark.parametrize("text", ["A1LQFN3A", "a1lqfn3a", "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
                                  "11" + "l" * 83 + "udsr8", "?1v759aa",
                                  "split1checkupstagehandshakeupstreamerranterredcaperredlc445v"])
def test_bip350_valid_strings_decode(text):
    bech32m_decode_values(text)


@pytest.mark.parametrize("text", ["A12UEL5L", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                                  "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"])
def test_bech32_strings_are_not_bech32m(text):
    with pytest.raises(ValueError, match="checksum"):
        bech32m_decode_values(text)


def test_principal_ids_the_node_would_refuse_are_refused_with_the_reason():
    good = principal_id(RFC8032_KEY)
    payload = hashlib.sha256(RFC8032_KEY).digest()[:20]
    cases = {good[:-1] + ("q" if good[-1] != "q" else "p"): "bad checksum",
             good.upper(): "must be lowercase",
             bech32m_encode(PRINCIPAL_HRP, payload, constant=BECH32_CONSTANT): "bad checksum",
             good[:-2]: "has 39 characters",
             bech32m_encode("xy", payload): 'human-readable part "xy"'}
    for text, reason in cases.items():
        with pytest.raises(InvalidPrincipalId, match=reason):
            parse_principal_id(text)


@pytest.mark.parametrize("key_class, algorithm, public_bytes", [(Ed25519SigningKey, ED25519, 32),
                                                                 (P256SigningKey, ECDSA_P256, 65)])
def test_signatures_are_raw_64_bytes_and_a_flipped_bit_fails(key_class, algorithm, public_bytes):
    key = key_class()
    signature = key.sign(b"message")
    assert (len(key.public_key_bytes), len(signature)) == (public_bytes, 64)
    assert verify_signature(algorithm, key.public_key_bytes, b"message", signature)
    assert not verify_signature(algorithm, key.public_key_bytes, b"message", bytes([signature[0] ^ 1]) + signature[1:])
    assert not verify_signature(algorithm, key.public_key_bytes, b"other", signature)


def test_p256_high_s_twin_verifies_too():
    key = P256SigningKey()
    raw = key.sign(b"m")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    twin = r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big")
    assert key.public_key_bytes[0] == 0x04
    assert verify_signature(ECDSA_P256, key.public_key_bytes, b"m", twin)


def test_signed_transaction_is_over_the_deterministic_body_and_named_by_its_hash():
    identity = Identity.generate()
    signer = TransactionSigner(identity, "chain-1")
    grant = pb.Grant(patient=identity.principal_id, grantee=principal_id(RFC8032_KEY), actions=[pb.ACTION_READ],
                     categories=[pb.DATA_CATEGORY_LABS], purposes=[pb.PURPOSE_TREATMENT], effect=pb.EFFECT_PERMIT)
    first = signer.sign(grant, sequence=1, created_at_unix_ms=1_000)
    body = pb.TransactionBody.FromString(first.body)
    assert body.SerializeToString(deterministic=True) == first.body
    assert (body.chain_id, body.author, body.sequence, body.created_at_unix_ms) == \
        ("chain-1", identity.principal_id, 1, 1_000)
    assert body.WhichOneof("operation") == "grant" and body.grant == grant
    assert first.key_id == identity.key_id and first.public_key.key_bytes == identity.key.public_key_bytes
    assert verify_signature(ED25519, identity.key.public_key_bytes, first.body, first.signature)
    assert transaction_id(first.body) == hashlib.sha256(first.body).hexdigest()
    later = signer.sign(pb.Revoke(grant_id=transaction_id(first.body)), sequence=2)
    assert not later.HasField("public_key")
    with pytest.raises(TypeError, match="not a transaction operation"):
        signer.sign(pb.QueryRequest(), sequence=3)


def test_session_message_is_context_labelled():
    assert context_labelled("ctx", b"p") == b"\x00ctx\x00p"
    assert session_message("c", "hl1x", b"\x01\x02") == b"\x00healthledger.v1.session\x00c\x00hl1x\x00\x01\x02"


def test_rfc9162_verifiers_accept_proofs_of_trees_of_1_to_20_entries_and_reject_tampering():
    for size in range(1, 21):
        entries = [f"entry {i}".encode() for i in range(size)]
        root = merkle_tree_hash(entries)
        for index in range(size):
            path = inclusion_path(index, entries)
            assert verify_inclusion(index, size, leaf_hash(entries[index]), path, root)
            assert not verify_inclusion(index, size, leaf_hash(b"other"), path, root)
            if path:
                bad = [bytes([path[0][0] ^ 1]) + path[0][1:]] + path[1:]
                assert not verify_inclusion(index, size, leaf_hash(entries[index]), bad, root)
        for first in range(1, size + 1):
            first_root = merkle_tree_hash(entries[:first])
            proof = consistency_proof(first, entries)
            assert verify_consistency(first, size, first_root, root, proof)
            if first < size:
                assert not verify_consistency(first, size, first_root, hashlib.sha256(b"x").digest(), proof)
                assert not verify_consistency(first, size, hashlib.sha256(b"x").digest(), root, proof)
