"""The C client against real nodes: a glucose meter, holding its own key, uploads a reading for a patient who
granted it WRITE, over TLS, and the patient (the Python client) reads exactly those bytes back; refusals are one
line on stderr with a documented exit code; TLS trust is checked; receipts and checkpoints are verified, and a
device that keeps its checkpoint file refuses a forked copy of the node. The tool under test is the sanitized
build, so any leak or undefined behaviour in a run fails it too."""

import datetime
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from healthledger import Identity, LedgerClient, PermissionDeniedError, messages as pb
from healthledger.identity import load_identity, save_identity

from conftest import Node

C_CLIENT_ROOT = Path(__file__).resolve().parents[1]
READING = b'{"resourceType":"Observation","code":"glucose","value":5.4,"unit":"mmol/L"}\n'
SANITIZER_ENVIRONMENT = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=97",
                         "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98"}


def device(tool: Path, node, identity_path: Path, *arguments: str, stdin: bytes | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs healthledger-device against `node` as the identity in `identity_path`."""
    environment = {**os.environ, **SANITIZER_ENVIRONMENT}
    result = subprocess.run([str(tool), *node.connection_options(), "--identity", str(identity_path), *arguments],
                            input=stdin, capture_output=True, timeout=timeout, env=environment)
    assert result.returncode not in (97, 98), f"sanitizer report:\n{result.stderr.decode(errors='replace')}"
    return result


def patient_client(node, patient: Identity) -> LedgerClient:
    return LedgerClient(node.target, patient, ca_file=node.ca_file, timeout=20)


def new_device_identity(tool: Path, directory: Path, algorithm: str = "ed25519") -> tuple[Path, str]:
    """An identity file made by the C tool's keygen; its path and principal id."""
    path = directory / f"device-{algorithm}.pem"
    result = subprocess.run([str(tool), "--identity", str(path), "keygen", "--algorithm", algorithm],
                            capture_output=True, text=True, env={**SANITIZER_ENVIRONMENT, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return path, result.stdout.strip()


def test_generated_code_is_current_with_proto(c_build):
    """The drift check: the committed protobuf-c code is what protoc-c makes from proto/ now."""
    result = subprocess.run([str(C_CLIENT_ROOT / "regenerate"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_glucose_meter_writes_a_reading_the_patient_reads_back_exactly(device_tool, tls_node, tmp_path):
    """Given a patient who granted a glucose meter WRITE on labs, when the meter uploads a reading over TLS,
    then the patient's query returns exactly those bytes, written by the meter, with its labels."""
    meter_identity, meter = new_device_identity(device_tool, tmp_path)
    patient = Identity.generate()
    with patient_client(tls_node, patient) as as_patient:
        as_patient.grant(meter, [pb.DATA_CATEGORY_LABS], actions=[pb.ACTION_WRITE])

        written = device(device_tool, tls_node, meter_identity, "write", "--patient", patient.principal_id,
                         "--category", "labs", "--media-type", "application/fhir+json", "--label", "unit=mmol/L",
                         "--label", "device=meter-7", stdin=READING)
        assert written.returncode == 0, written.stderr.decode()
        record_id = written.stdout.decode().strip()
        assert len(record_id) == 64

        result = as_patient.query(patient.principal_id, [pb.DATA_CATEGORY_LABS], prove_inclusion=True)
        (record,) = result.records
        assert record.content == READING
        assert record.record.record_id == record_id and record.record.author == meter
        assert record.record.metadata.media_type == "application/fhir+json"
        assert dict(record.record.metadata.labels) == {"unit": "mmol/L", "device": "meter-7"}

        # The meter's second reading takes its next sequence number (learned from GetPrincipal in a session).
        second = device(device_tool, tls_node, meter_identity, "write", "--patient", patient.principal_id,
                        "--category", "labs", stdin=b"5.9")
        assert second.returncode == 0, second.stderr.decode()
        contents = [r.content for r in as_patient.query(patient.principal_id, [pb.DATA_CATEGORY_LABS]).records]
        assert contents == [READING, b"5.9"]


def test_the_c_client_reads_what_the_policy_lets_it_read(device_tool, tls_node, tmp_path):
    """Given a record the patient wrote with the Python client and a P-256 identity file the Python client saved,
    when the C tool queries as the patient, then it prints the record and writes its exact content."""
    patient = Identity.generate("p256")
    identity_path = save_identity(patient, tmp_path / "patient.pem")
    content = bytes(range(256)) * 5000  # 1.2 MiB: two chunks on the way out
    with patient_client(tls_node, patient) as as_patient:
        written = as_patient.write(patient.principal_id, pb.DATA_CATEGORY_VITALS, content)
    output = tmp_path / "records"
    output.mkdir()
    result = device(device_tool, tls_node, identity_path, "query", "--patient", patient.principal_id,
                    "--category", "vitals", "--purpose", "patient-request", "--output-dir", str(output))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split()[:3] == [written.record_id, "vitals", str(len(content))]
    assert (output / written.record_id).read_bytes() == content


def test_a_device_without_a_grant_is_refused_in_one_line(device_tool, tls_node, tmp_path):
    """Given a device the patient never granted anything, when it writes, then it exits 2 with exactly one
    line on stderr naming PERMISSION_DENIED, and nothing was written."""
    meter_identity, _ = new_device_identity(device_tool, tmp_path, "p256")
    patient = Identity.generate()
    result = device(device_tool, tls_node, meter_identity, "write", "--patient", patient.principal_id,
                    "--category", "labs", stdin=READING)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: Write: PERMISSION_DENIED: "), stderr
    assert result.stdout == b""
    with patient_client(tls_node, patient) as as_patient:
        assert as_patient.query(patient.principal_id, [pb.DATA_CATEGORY_LABS]).records == []
    # A device cannot read what it was never granted either.
    with patient_client(tls_node, load_identity(meter_identity)) as as_device:
        with pytest.raises(PermissionDeniedError):
            as_device.query(patient.principal_id, [pb.DATA_CATEGORY_LABS])


def _foreign_ca(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_a_node_whose_certificate_the_ca_did_not_sign_is_not_trusted(device_tool, tls_node, tmp_path):
    """Given a CA file of another authority, when the device connects, then TLS verification fails: exit 4,
    one line naming the verification error, and no request is sent."""
    meter_identity, _ = new_device_identity(device_tool, tmp_path)
    ca = _foreign_ca(tmp_path / "other-ca.pem")
    result = subprocess.run([str(device_tool), "--server", tls_node.target, "--ca-file", str(ca), "--identity",
                             str(meter_identity), "head"], capture_output=True, text=True, env=SANITIZER_ENVIRONMENT)
    assert result.returncode == 4
    assert result.stderr.count("\n") == 1
    assert "TLS certificate verification failed" in result.stderr and "local issuer" in result.stderr, result.stderr
    # The right CA, but the node's certificate checked against another name.
    wrong_name = subprocess.run([str(device_tool), "--server", tls_node.target, "--ca-file", str(tls_node.ca_file),
                                 "--server-name", "ledger.example.org", "head"], capture_output=True, text=True,
                                env=SANITIZER_ENVIRONMENT)
    assert wrong_name.returncode == 4 and "verification failed" in wrong_name.stderr, wrong_name.stderr


def test_h2c_and_unreachable_nodes(device_tool, plaintext_node, tls_node, tmp_path):
    """Over h2c the chain head arrives; plaintext against a TLS node, or no node at all, exits 4 with a hint."""
    meter_identity, _ = new_device_identity(device_tool, tmp_path)
    head = device(device_tool, plaintext_node, meter_identity, "head")
    assert head.returncode == 0 and b"chain: c-client" in head.stdout, head.stderr
    mismatch = subprocess.run([str(device_tool), "--server", tls_node.target, "--plaintext", "head"],
                              capture_output=True, text=True, env=SANITIZER_ENVIRONMENT)
    assert mismatch.returncode == 4 and "needs --ca-file, not --plaintext" in mismatch.stderr, mismatch.stderr
    nothing = subprocess.run([str(device_tool), "--server", "127.0.0.1:1", "--plaintext", "head"],
                             capture_output=True, text=True, env=SANITIZER_ENVIRONMENT)
    assert nothing.returncode == 4 and "cannot reach the node" in nothing.stderr, nothing.stderr


def test_identity_files_are_shared_with_the_python_client(device_tool, tmp_path):
    """A key made by the C tool loads in Python as the same principal, and a world-readable file is refused."""
    path, principal = new_device_identity(device_tool, tmp_path, "p256")
    assert load_identity(path).principal_id == principal
    whoami = subprocess.run([str(device_tool), "--identity", str(path), "whoami"], capture_output=True, text=True,
                            env=SANITIZER_ENVIRONMENT)
    assert whoami.returncode == 0 and f"principal: {principal}" in whoami.stdout
    path.chmod(0o644)
    refused = subprocess.run([str(device_tool), "--identity", str(path), "whoami"], capture_output=True, text=True,
                             env=SANITIZER_ENVIRONMENT)
    assert refused.returncode == 5 and "chmod 600" in refused.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_a_write_and_a_query_leak_nothing_under_valgrind(c_build, device_tool, tls_node, tmp_path):
    """The optimised tool (no sanitizer) under valgrind --leak-check=full: no leak, no invalid access."""
    meter_identity, meter = new_device_identity(device_tool, tmp_path)
    patient = Identity.generate()
    patient_path = save_identity(patient, tmp_path / "patient.pem")
    with patient_client(tls_node, patient) as as_patient:
        as_patient.grant(meter, [pb.DATA_CATEGORY_LABS], actions=[pb.ACTION_WRITE])
    valgrind = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
                "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99", "-q",
                str(c_build / "healthledger-device"), *tls_node.connection_options(),
                "--checkpoint-file", str(tmp_path / "valgrind.checkpoint")]
    for arguments, stdin in ((["--identity", str(meter_identity), "write", "--patient", patient.principal_id,
                               "--category", "labs"], READING),
                             (["--identity", str(patient_path), "query", "--patient", patient.principal_id,
                               "--category", "labs"], None)):
        result = subprocess.run([*valgrind, *arguments], input=stdin, capture_output=True, timeout=300)
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]


def read_checkpoint_file(path: Path) -> dict[str, list[str]]:
    """The `name: value` lines of a checkpoint file, each name with its values in order."""
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.split(": ", 1)
            values.setdefault(name, []).append(value)
    return values


def test_writes_verify_and_the_checkpoint_file_advances(device_tool, tls_node, tmp_path):
    """Given a meter with a checkpoint file, when it writes twice and queries, then every receipt and the query's
    audit event verify (exit 0), the file pins the node's keys and holds a checkpoint the node signed, and its tree
    size grows with each run."""
    meter_identity, meter = new_device_identity(device_tool, tmp_path)
    patient = Identity.generate()
    checkpoint_file = tmp_path / "meter.checkpoint"
    with patient_client(tls_node, patient) as as_patient:
        as_patient.grant(meter, [pb.DATA_CATEGORY_LABS], actions=[pb.ACTION_WRITE, pb.ACTION_READ])
        sizes = []
        for reading in (b"5.1", b"5.2"):
            written = device(device_tool, tls_node, meter_identity, "--checkpoint-file", str(checkpoint_file),
                             "write", "--patient", patient.principal_id, "--category", "labs", stdin=reading)
            assert written.returncode == 0, written.stderr.decode()
            saved = read_checkpoint_file(checkpoint_file)
            sizes.append(int(saved["tree-size"][0]))
            # The kept checkpoint is the receipt's: it covers the new entry and ends its block or a later one.
            block, entry = re.search(r"committed in block (\d+), log entry (\d+)", written.stderr.decode()).groups()
            assert sizes[-1] > int(entry) and int(saved["block-height"][0]) >= int(block)
        assert sizes[0] < sizes[1]
        assert oct(checkpoint_file.stat().st_mode & 0o777) == "0o600"
        head = as_patient.chain_head()
        assert saved["format"] == ["healthledger.device-checkpoint.v1"] and saved["chain-id"] == [head.chain_id]
        assert saved["node-key"] == [f"ed25519 {key.public_key.key_bytes.hex()}" for key in head.node_keys]
        signed = as_patient.stub.GetCheckpoint(pb.GetCheckpointRequest(tree_size=sizes[1])).checkpoint
        checkpoint = pb.Checkpoint.FromString(signed.checkpoint)
        assert saved["root-hash"] == [checkpoint.root_hash.hex()]
        assert saved["block-height"] == [str(checkpoint.block_height)]

        queried = device(device_tool, tls_node, meter_identity, "--checkpoint-file", str(checkpoint_file), "query",
                         "--patient", patient.principal_id, "--category", "labs", "--purpose", "treatment")
        assert queried.returncode == 0, queried.stderr.decode()
        assert int(read_checkpoint_file(checkpoint_file)["tree-size"][0]) > sizes[1]


def test_a_device_that_kept_its_checkpoint_refuses_a_fork_of_the_node(device_tool, healthledger_binary, tmp_path):
    """Given a node whose data directory was copied while it was stopped, and both copies then running with
    different writes, when a meter that wrote to the original (keeping its checkpoint file) talks to the copy,
    then it is refused before writing: exit 6, one line naming the history mismatch, and the copy holds nothing
    of the meter's."""
    meter_identity, meter = new_device_identity(device_tool, tmp_path)
    patient = Identity.generate()
    (tmp_path / "original").mkdir()
    original = Node(healthledger_binary, tmp_path / "original")
    try:
        with patient_client(original, patient) as as_patient:
            as_patient.grant(meter, [pb.DATA_CATEGORY_LABS], actions=[pb.ACTION_WRITE])
    finally:
        assert original.stop() == 0
    shutil.copytree(tmp_path / "original" / "data", tmp_path / "copy" / "data")
    original = Node(healthledger_binary, tmp_path / "original")
    copy = Node(healthledger_binary, tmp_path / "copy")
    try:
        checkpoint_file = tmp_path / "meter.checkpoint"
        written = device(device_tool, original, meter_identity, "--checkpoint-file", str(checkpoint_file), "write",
                         "--patient", patient.principal_id, "--category", "labs", stdin=b"5.4")
        assert written.returncode == 0, written.stderr.decode()
        kept = checkpoint_file.read_bytes()
        # The copy goes its own way, with more entries than the original, so its log is longer.
        with patient_client(copy, patient) as as_patient:
            for reading in (b"6.1", b"6.2", b"6.3"):
                as_patient.write(patient.principal_id, pb.DATA_CATEGORY_LABS, reading)

        refused = device(device_tool, copy, meter_identity, "--checkpoint-file", str(checkpoint_file), "write",
                         "--patient", patient.principal_id, "--category", "labs", stdin=b"5.5")
        stderr = refused.stderr.decode()
        assert refused.returncode == 6, stderr
        assert stderr.count("\n") == 1 and stderr.startswith("error: GetChainHead: DATA_LOSS: history mismatch"), stderr
        assert f"tree size {read_checkpoint_file(checkpoint_file)['tree-size'][0]}" in stderr, stderr
        assert str(checkpoint_file) in stderr
        assert checkpoint_file.read_bytes() == kept
        with patient_client(copy, patient) as as_patient:
            contents = [r.content for r in as_patient.query(patient.principal_id, [pb.DATA_CATEGORY_LABS]).records]
        assert contents == [b"6.1", b"6.2", b"6.3"]

        # Without the checkpoint file the copy is just another node (trust on first use), and the original still
        # extends what the meter kept.
        fresh = device(device_tool, copy, meter_identity, "head")
        assert fresh.returncode == 0, fresh.stderr.decode()
        again = device(device_tool, original, meter_identity, "--checkpoint-file", str(checkpoint_file), "head")
        assert again.returncode == 0, again.stderr.decode()
    finally:
        original.stop()
        copy.stop()


def test_a_damaged_checkpoint_file_is_refused(device_tool, tls_node, tmp_path):
    """A checkpoint file that does not parse stops the tool before it connects: exit 5, one line."""
    meter_identity, _ = new_device_identity(device_tool, tmp_path)
    checkpoint_file = tmp_path / "meter.checkpoint"
    checkpoint_file.write_text("format: healthledger.device-checkpoint.v1\nchain-id: c-client\ntree-size: x\n")
    result = device(device_tool, tls_node, meter_identity, "--checkpoint-file", str(checkpoint_file), "head")
    stderr = result.stderr.decode()
    assert result.returncode == 5 and stderr.count("\n") == 1 and "is damaged" in stderr, stderr
