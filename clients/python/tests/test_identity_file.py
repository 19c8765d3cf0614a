"""Identity files: the command-line tool's format both ways (a key made by `healthledger keygen` signs in
Python, one saved here is the same principal to `healthledger whoami`), mode 0600, and specific refusals."""

import json
import os
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from healthledger import Identity, IdentityFileError, decode_identity, encode_identity, load_identity, save_identity
from healthledger.keys import P256SigningKey


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_saved_identity_is_private_and_loads_as_itself(tmp_path, algorithm):
    identity = Identity.generate(algorithm)
    path = save_identity(identity, tmp_path / "dir" / "me.pem")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    loaded = load_identity(path)
    assert (loaded.principal_id, loaded.key_id, loaded.key.algorithm) == \
        (identity.principal_id, identity.key_id, algorithm)
    with pytest.raises(IdentityFileError) as refused:
        save_identity(Identity.generate(), path)
    assert refused.value.kind == "already-exists"
    save_identity(Identity.generate(), path, overwrite=True)
    assert load_identity(path).principal_id != identity.principal_id


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_identity_readable_by_others_is_refused_with_the_chmod_hint(tmp_path, mode):
    path = save_identity(Identity.generate(), tmp_path / "me.pem")
    path.chmod(mode)
    with pytest.raises(IdentityFileError, match=f"has mode {mode:o}.*chmod 600") as refused:
        load_identity(path)
    assert refused.value.kind == "unsafe-permissions"


def test_missing_and_malformed_identity_files_say_what_is_wrong(tmp_path):
    with pytest.raises(IdentityFileError) as missing:
        load_identity(tmp_path / "absent.pem")
    assert missing.value.kind == "not-found"
    identity = Identity.generate()
    text = encode_identity(identity)
    other = Identity.generate()
    cases = {
        "no PEM": "principal: x\n",
        "is not `name: value`": text.replace("algorithm: ed25519", "algorithm ed25519"),
        "header says algorithm p256": text.replace("algorithm: ed25519", "algorithm: p256"),
        "key-id does not match": text.replace(identity.key_id, other.key_id),
        "bad checksum": text.replace(identity.principal_id, identity.principal_id[:-1] +
                                     ("q" if identity.principal_id[-1] != "q" else "p")),
        "not a PEM private key": text.split("-----BEGIN")[0] + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    }
    for reason, broken in cases.items():
        with pytest.raises(IdentityFileError, match=reason):
            decode_identity(broken, "x.pem")


def test_other_key_kinds_are_refused_and_sec1_p256_is_accepted():
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(IdentityFileError, match="only Ed25519 and ECDSA P-256"):
        decode_identity(rsa_pem)
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(IdentityFileError, match="secp384r1"):
        decode_identity(p384)
    key = ec.generate_private_key(ec.SECP256R1())
    sec1 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()
    assert "EC PRIVATE KEY" in sec1
    assert decode_identity(sec1).principal_id == Identity.from_first_key(P256SigningKey(key)).principal_id
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"pw")).decode()
    with pytest.raises(IdentityFileError, match="encrypted"):
        decode_identity(encrypted)


def test_a_rotated_principal_keeps_its_id_from_the_header():
    first, later = Identity.generate(), Identity.generate()
    rotated = Identity(first.principal_id, later.key)
    assert decode_identity(encode_identity(rotated)).principal_id == first.principal_id
    without_header = "\n".join(line for line in encode_identity(rotated).splitlines() if not line.startswith("principal"))
    assert decode_identity(without_header).principal_id == later.principal_id


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_keys_cross_between_the_command_line_tool_and_python(healthledger_binary, tmp_path, algorithm):
    """Given a key made by `healthledger keygen`, Python loads the same principal; given one saved by Python,
    `healthledger whoami` reports the same principal, key id and algorithm."""
    made_by_tool = tmp_path / "tool.pem"
    keygen = subprocess.run([str(healthledger_binary), "keygen", "--algorithm", algorithm, "--identity",
                             str(made_by_tool), "--json"], capture_output=True, text=True, check=True)
    reported = json.loads(keygen.stdout)
    loaded = load_identity(made_by_tool)
    assert (loaded.principal_id, loaded.key_id, loaded.key.algorithm) == \
        (reported["principal_id"], reported["key_id"], algorithm)

    made_by_python = save_identity(Identity.generate(algorithm), tmp_path / "python.pem")
    whoami = subprocess.run([str(healthledger_binary), "whoami", "--identity", str(made_by_python), "--json"],
                            capture_output=True, text=True)
    assert whoami.returncode == 0, whoami.stderr
    identity = load_identity(made_by_python)
    assert json.loads(whoami.stdout)["principal_id"] == identity.principal_id
    assert json.loads(whoami.stdout)["key_id"] == identity.key_id
    os.chmod(made_by_python, 0o644)
    refused = subprocess.run([str(healthledger_binary), "whoami", "--identity", str(made_by_python)],
                             capture_output=True, text=True)
    assert refused.returncode == 5
