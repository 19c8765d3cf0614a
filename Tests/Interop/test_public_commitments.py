"""Public by commitments: anyone, without credentials, can fetch block headers, checkpoints and proofs and
verify the chain, and nothing they get says who accessed whose data.

A real node (h2c, metrics on, one registered emergency clinician) runs a story with credentials: a patient grants
a clinician labs and mental health, a writer labs, an auditor AUDIT_READ; records are written (one refused);
the clinician reads and is refused, a stranger is refused, break-glass is opened and used, a grant is revoked,
audit trails are read. public_commitments_client.py then calls every public RPC over the whole chain without
credentials (GetChainHead, GetBlocks, every checkpoint, every inclusion proof, every consistency proof,
CreateSessionChallenge, reflection, health) and reads the metrics page, and looks in all of it for every private
byte string the story produced: principal ids and keys in text and binary form, grant and record ids,
signatures, session tokens, content and its hashes, and any 16-byte run of any ledger entry (so category and
purpose values, notes, labels and times inside an entry are covered). The design's claims are in
docs/THREAT_MODEL.md, which points here."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from interop_processes import ServerProcess

CLIENT = Path(__file__).resolve().parent / "public_commitments_client.py"
CLIENT_TIMEOUT = 120.0
CHAIN_ID = "commitments"  # shorter than the 16-byte runs looked for, so the public chain id cannot match one


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_client(*arguments: str) -> str:
    result = subprocess.run([sys.executable, str(CLIENT), *arguments], capture_output=True, text=True,
                            timeout=CLIENT_TIMEOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        pytest.fail(f"the client exited {result.returncode}:\n{result.stderr.strip()[-3000:]}", pytrace=False)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def observed(healthledger, tmp_path_factory, request) -> dict:
    """The story run once against a fresh node, and what the public side saw."""
    executable = healthledger
    directory = tmp_path_factory.mktemp("public-commitments")
    emergency_key = directory / "emergency.pem"
    emergency_clinician = run_client("--make-key", str(emergency_key))
    metrics_port = free_port()
    # The story reads every public answer of the whole chain from one address, far above the per-address rate
    # limit by design; what a limit refuses is the rate-limit tests' concern, not this one's.
    command = [str(executable), "serve", "--data-dir", str(directory / "data"), "--chain-id", CHAIN_ID,
               "--plaintext", "--log-level", "warning", "--emergency-clinician", emergency_clinician,
               "--emergency-category", "allergies", "--metrics-port", str(metrics_port),
               "--address-rate-limit", "off", "--rate-limit", "off"]
    server = ServerProcess(command, directory / "node.log", None)

    def stop():
        was_running, death = server.is_running, server.death()
        exit_code = server.stop()
        assert was_running, f"the node died during the test ({death}); log:\n{server.log_tail()}"
        assert exit_code == 0, f"the node exited with {exit_code} on SIGTERM; log:\n{server.log_tail()}"

    request.addfinalizer(stop)
    line = run_client("--target", f"127.0.0.1:{server.port}", "--emergency-key", str(emergency_key),
                      "--metrics-url", f"http://127.0.0.1:{metrics_port}/metrics")
    return json.loads(line)


def test_the_story_happened_as_told(observed):
    """Given the story's steps, each allowed one succeeded and each refused one was refused, so the log holds
    allowed and denied reads, refused writes, break-glass, a revoke and audit-trail reads to look for."""
    statuses = observed["statuses"]
    for step in ("clinician grant", "writer grant", "auditor grant", "other patient grant", "patient labs",
                 "patient mental health", "writer labs", "clinician reads labs and mental health",
                 "patient reads own labs", "break-glass", "emergency read", "revoke"):
        assert statuses[step] == "OK", (step, statuses[step])
    for step in ("refused imaging", "clinician refused notes", "stranger refused labs",
                 "stranger refused other patient", "clinician refused after revoke"):
        assert statuses[step] == "PERMISSION_DENIED", (step, statuses[step])
    # The auditor sees the whole trail (it holds AUDIT_READ); the stranger only its own refused read.
    assert statuses["audit events of patient seen by auditor"] == statuses["audit events of patient seen by patient"]
    assert int(statuses["audit events of patient seen by patient"]) >= 8
    assert statuses["audit events of other_patient seen by stranger"] == "1"


def test_every_public_rpc_answers_without_credentials(observed):
    """When an observer without credentials walks the whole chain, every public RPC answers."""
    public = observed["public"]
    assert public["head_status"] == public["blocks_status"] == "OK"
    assert public["proof_statuses"] == ["OK"]
    assert public["inclusion_proofs"] >= public["tree_size"] > 0
    assert public["fresh_challenge"] == "OK"
    assert public["reflection"].startswith("OK")
    assert public["health"] == "OK"
    assert observed["metrics_bytes"] > 0


def test_no_public_answer_reveals_who_accessed_whose_data(observed):
    """Then no principal id, key, grant or record id, signature, token, content or content hash of the story,
    and no 16-byte run of any of its ledger entries, appears in any public answer or on the metrics page."""
    scan = observed["scan"]
    # The story's private side saw every entry of the log, so every leaf is covered by the search.
    assert scan["entries_known"] == observed["public"]["tree_size"], scan
    assert scan["secrets"] > 50 and scan["public_answers"] > 100, scan
    assert scan["leaks"] == [], json.dumps(scan["leaks"], indent=1)


def test_proofs_show_salted_leaf_hashes_that_confirm_no_guess(observed):
    """Inclusion proofs do show other entries' leaf hashes; each entry carries its own 16 random bytes of salt,
    so an observer who knows everything in an entry but its salt builds a leaf hash that appears nowhere."""
    scan = observed["scan"]
    assert scan["leaf_hashes_seen_in_proofs"] > 0, "the search would not see a leaf hash where one is"
    assert scan["salt_lengths"] == [16]
    assert scan["distinct_salts"] == scan["entries_known"]
    assert scan["unsalted_leaf_hashes_found"] == []


def test_private_rpcs_without_a_session_are_unauthenticated(observed):
    """A caller with no token, or a made-up one, gets UNAUTHENTICATED from every private read and learns
    nothing else (the scan above covers their status texts too)."""
    statuses = observed["unauthenticated"]
    assert set(statuses) == {f"{method} {how}" for method in ("Query", "AuditStream", "ResearchFeed", "ListGrants",
                                                              "GetPrincipal", "DeleteSession", "ExportFhirBundle",
                                                              "ProposeGrantsFromConsent")
                             for how in ("without a token", "with a made-up token")}
    assert set(statuses.values()) == {"UNAUTHENTICATED"}, statuses


def test_session_challenge_does_not_tell_who_is_on_the_ledger(observed):
    """Given a patient on the ledger and a principal that never signed anything, when an observer without their keys
    goes through the session handshake for each in the same ways, then every answer is the same, and no attempt
    gets a session."""
    answers = observed["session_challenge"]
    assert answers["on the ledger"] == answers["not on the ledger"], answers
    steps = answers["on the ledger"]
    assert all(status == "OK" for step, status in steps.items() if step.endswith("challenge")), steps
    assert all(status.startswith("UNAUTHENTICATED") for step, status in steps.items() if step.endswith("session")), steps
