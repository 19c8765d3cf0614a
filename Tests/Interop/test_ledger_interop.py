"""An independent client against a real node: python_ledger_client.py (grpcio, Python protobuf and
`cryptography`, written from proto/healthledger/v1 alone) drives `healthledger serve` over h2c and, in one
test, over TLS with the node's development CA.

The client runs in a process of its own (the installed client package's healthledger.v1 modules must not
meet the ones the rest of the suite generates and loads) and prints what it observed as JSON; the tests here assert on those observations.
Every node is stopped with SIGTERM (SIGKILL after a grace period) in its fixture's finalizer, and must have
stayed up and exit 0."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from interop_processes import ServerProcess

CLIENT = Path(__file__).resolve().parent / "python_ledger_client.py"
CLIENT_TIMEOUT = 60.0
MIB = 1_048_576
CHAIN_ID = "interop-python"


@dataclass
class RunningNode:
    """A `healthledger serve` process and how to reach it."""

    server: ServerProcess
    data_dir: Path
    ca_file: Path | None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"


def start_node(executable: Path, directory: Path, tls: bool, request, chain_id: str = CHAIN_ID) -> RunningNode:
    """Starts a node on a fresh data directory (TLS with the development CA unless `tls` is false) and
    stops it when the test or module ends, failing then if it died or exited non-zero."""
    data_dir = directory / "data"
    command = [str(executable), "serve", "--data-dir", str(data_dir), "--chain-id", chain_id,
               "--log-level", "warning"] + ([] if tls else ["--plaintext"])
    # ServerProcess adds "--port 0"; its own TLS flags are interop-server's, so TLS is left to the node.
    server = ServerProcess(command, directory / "node.log", None)

    def stop():
        was_running, death = server.is_running, server.death()
        exit_code = server.stop()
        assert was_running, f"the node died during the tests ({death}); log:\n{server.log_tail()}"
        assert exit_code == 0, f"the node exited with {exit_code} on SIGTERM; log:\n{server.log_tail()}"

    request.addfinalizer(stop)
    ca_file = data_dir / "tls" / "ca.pem" if tls else None
    if ca_file is not None:
        assert ca_file.is_file(), f"the node serves TLS but wrote no development CA at {ca_file}"
    return RunningNode(server, data_dir, ca_file)


@pytest.fixture(scope="module")
def plaintext_node(healthledger, tmp_path_factory, request) -> RunningNode:
    """One h2c node shared by the module's plaintext tests; each scenario uses principals of its own."""
    return start_node(healthledger, tmp_path_factory.mktemp("ledger-node-h2c"), tls=False, request=request)


def run_client(*scenarios: str, node: RunningNode | None = None) -> dict:
    """Runs the client's scenarios in one process; returns each scenario's observations. Fails the test when
    the client cannot run or a scenario stopped at a step that had to succeed."""
    command = [sys.executable, str(CLIENT)]
    for scenario in scenarios:
        command += ["--scenario", scenario]
    if node is not None:
        command += ["--target", node.target]
        if node.ca_file is not None:
            command += ["--ca-file", str(node.ca_file), "--server-name", "localhost"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the client did not finish {scenarios} within {CLIENT_TIMEOUT} s"
                    + (f"; node log:\n{node.server.log_tail()}" if node else ""), pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"the client exited {result.returncode}:\n{result.stderr.strip()[-3000:]}", pytrace=False)
    observed = json.loads(result.stdout.strip().splitlines()[-1])
    for name, scenario in observed.items():
        if "error" in scenario:
            log = f"\nnode log:\n{node.server.log_tail()}" if node else ""
            pytest.fail(f"scenario {name} stopped: {scenario['error']}{log}", pytrace=False)
    if node is not None:
        assert node.server.is_running, f"the node died ({node.server.death()}); log:\n{node.server.log_tail()}"
    return observed


# --------------------------------------------------------------------------------------------------------

def test_client_primitives_match_published_vectors():
    """Given the client's own Bech32m, RFC 9162 verifiers and key handling, they agree with identity.proto's
    worked example, BIP-350's vectors and proofs built here, before any of them is trusted on a node."""
    observed = run_client("vectors")["vectors"]
    assert observed["example_key_id"] == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
    assert observed["example_principal_id"] == "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8"
    assert observed["example_round_trip"]
    assert all(observed["bip350_valid_accepted"]), observed["bip350_valid_accepted"]
    assert all(observed["bech32_rejected"]), observed["bech32_rejected"]
    assert observed["rfc9162_inclusion_verifies"]
    assert observed["rfc9162_consistency_verifies"]
    assert observed["rfc9162_tampered_rejected"]
    ed25519, p256, high_s = observed["signatures"]
    assert (ed25519["public_key_bytes"], ed25519["signature_bytes"]) == (32, 64)
    assert (p256["public_key_bytes"], p256["signature_bytes"]) == (65, 64)
    assert observed["p256_public_key_prefix"] == "04"  # uncompressed SEC1
    for check in (ed25519, p256):
        assert check["verifies"] and check["flipped_rejected"], check
    assert high_s["high_s"] and high_s["verifies"]


def assert_access_story(observed: dict) -> None:
    """The assertions of the access story, whichever transport it ran over."""
    grant_id, record_id = observed["grant_id"], observed["record_id"]
    assert observed["patient_id_length"] == observed["clinician_id_length"] == 41

    # Given the grant and the record, the node names them by their transaction ids.
    grant = observed["grant"]
    assert grant["grant_id"] == grant["expected_grant_id"] == grant["receipt_transaction_id"] == grant_id
    assert observed["write_chunk_sizes"] == [MIB, MIB, MIB // 2]
    write = observed["write"]
    assert write["record_id"] == write["expected_record_id"] == write["receipt_transaction_id"] == record_id

    # When the clinician queries labs, then exactly the written bytes come back, after a QueryStarted.
    assert observed["labs_query_status"] == "OK"
    query = observed["labs_query"]
    kinds = query["kinds"]
    assert kinds[:2] == ["started", "record"] and set(kinds[2:]) == {"chunk"}, kinds
    assert query["started"]["record_count"] == 1
    assert query["started"]["total_content_bytes"] == observed["content_size"] == 5 * MIB // 2
    (record,) = query["records"]
    assert record["record_id"] == record_id
    assert record["metadata_matches"] and not record["content_erased"]
    assert record["ledger_entry_is_the_write"]
    assert (record["entry_index"], record["block_height"]) == (write["entry_index"], write["block_height"])
    assert record["inclusion"] == "ok"
    assert all(1 <= size <= MIB for size in record["chunk_sizes"]), record["chunk_sizes"]
    assert record["offsets_contiguous"]
    assert record["content_size"] == observed["content_size"]
    assert record["content_sha256"] == observed["content_sha256"]

    # But clinical notes are refused, and so are labs once the patient revoked.
    assert observed["notes_query_status"] == "PERMISSION_DENIED"
    assert observed["revoke_receipt_transaction_id_matches"]
    assert observed["labs_after_revoke_status"] == "PERMISSION_DENIED"

    # Then the patient's replay lists the clinician's three decisions in order, each in the log.
    assert observed["audit_replay_completed_count"] == 1
    assert observed["audit_last_item"] == "replay_completed"
    events = observed["audit_events"]
    sequences = [event["sequence"] for event in events]
    assert sequences == sorted(set(sequences)), sequences
    clinician = [event for event in events if event["actor"] == "clinician"]
    assert [(event["action"], event["outcome"], event["categories"], event["basis"]) for event in clinician] == [
        ("ACTION_READ", "OUTCOME_ALLOWED", ["DATA_CATEGORY_LABS"], "DECISION_BASIS_PERMIT_GRANT"),
        ("ACTION_READ", "OUTCOME_DENIED", ["DATA_CATEGORY_CLINICAL_NOTES"], "DECISION_BASIS_NO_PERMIT"),
        ("ACTION_READ", "OUTCOME_DENIED", ["DATA_CATEGORY_LABS"], "DECISION_BASIS_NO_PERMIT"),
    ]
    allowed, notes_denied, labs_denied = clinician
    assert allowed["sequence"] == query["started"]["audit_sequence"]
    assert allowed["deciding_grant_ids"] == [grant_id]
    assert allowed["released_record_ids"] == [record_id]
    assert allowed["released_sha256"] == [observed["content_sha256"]]
    assert notes_denied["released_record_ids"] == labs_denied["released_record_ids"] == []
    assert [event["entry_index"] for event in clinician] == sorted({event["entry_index"] for event in clinician})
    for event in clinician:
        assert event["purpose"] == "PURPOSE_TREATMENT"
        assert event["patient_matches"]
        assert event["ledger_entry_holds_event"] and event["ledger_entry_deterministic"], event
        assert event["salt_bytes"] == 16
        assert event["inclusion"] == "ok", f"audit event {event['sequence']}: {event['inclusion']}"


def test_patient_grants_reads_and_revokes_a_clinicians_access_to_labs(plaintext_node):
    """Given a patient (Ed25519) who grants a clinician (ECDSA P-256) READ on labs for an hour and writes a
    2.5 MiB lab record, when the clinician queries labs, then the exact bytes come back; clinical notes are
    PERMISSION_DENIED, and after the patient revokes so are labs; the patient's audit replay lists the
    clinician's allowed and denied events in order, each with an inclusion proof against a checkpoint signed
    by the node key from GetChainHead."""
    observed = run_client("access-story", node=plaintext_node)["access-story"]
    assert observed["chain_id"] == CHAIN_ID
    assert_access_story(observed)


def test_fhir_content_is_checked_against_its_category_and_read_back_unchanged(plaintext_node):
    """Given a patient, when they write a FHIR Observation as labs (application/fhir+json), then Query returns its
    exact bytes, which fhir.resources (R4) parses as an Observation; a Patient resource as labs and an unclosed
    Observation are INVALID_ARGUMENT naming the element, and the sequence each used is taken by the next write
    (nothing was applied)."""
    from fhir.resources import construct_fhir_element

    observed = run_client("fhir-content", node=plaintext_node)["fhir-content"]
    assert observed["observation_status"] == "OK"
    refusals = observed["refusals"]
    assert refusals["patient_as_labs"]["status"] == "INVALID_ARGUMENT"
    assert refusals["patient_as_labs"]["details"].startswith(
        'content.resourceType: "Patient" does not fit category DATA_CATEGORY_LABS')
    assert refusals["unclosed"]["status"] == "INVALID_ARGUMENT"
    assert refusals["unclosed"]["details"].startswith("content: not JSON at byte ")
    assert observed["next_write_status"] == "OK"
    assert observed["next_write_sequence"] == observed["observation_sequence"] + 1
    assert observed["query_status"] == "OK"
    assert observed["returned_contents"] == observed["written_contents"]
    assert observed["returned_media_types"] == ["application/fhir+json; fhirVersion=4.0", "application/fhir+json"]
    for text, resource_type in zip(observed["returned_contents"], ["Observation", "DiagnosticReport"]):
        resource = json.loads(text)
        assert construct_fhir_element(resource["resourceType"], resource).resource_type == resource_type


def test_node_refuses_replayed_tampered_and_non_deterministic_transactions(plaintext_node):
    """Given signed Grants, when one is sent twice, its signature or body is tampered with, or its body is
    a valid but non-deterministic encoding, then the node answers ALREADY_EXISTS, UNAUTHENTICATED and
    INVALID_ARGUMENT, and none of the refusals uses up the author's sequence number. Also: malformed principal
    ids, session challenges signed under another context or used twice, and the high-S twin of an ECDSA
    signature (a valid signature of an already committed body)."""
    observed = run_client("rejections", node=plaintext_node)["rejections"]
    assert observed["first_grant"] == "OK"
    assert observed["replayed_grant"] == "ALREADY_EXISTS"
    assert observed["tampered_signature"] == "UNAUTHENTICATED"
    assert observed["tampered_body"] == "UNAUTHENTICATED"
    assert observed["second_grant_after_tampering"] == "OK"

    assert observed["reordered_differs"] and observed["reordered_decodes_to_same"]
    assert observed["reordered_first_field"] == 3  # sequence before chain_id
    assert observed["non_deterministic_body"] == "INVALID_ARGUMENT"
    assert observed["deterministic_body_same_sequence"] == "OK"

    assert observed["grantee_typo"] == "INVALID_ARGUMENT"
    assert observed["grantee_uppercase"] == "INVALID_ARGUMENT"
    assert observed["grantee_bech32_not_bech32m"] == "INVALID_ARGUMENT"
    assert observed["grantee_after_bad_ids"] == "OK"

    assert observed["session_wrong_context"] == "UNAUTHENTICATED"
    assert observed["session_first_use"] == "OK"
    assert observed["session_challenge_reused"] == "UNAUTHENTICATED"
    assert observed["query_without_token"] == "UNAUTHENTICATED"

    assert observed["p256_grant"] == "OK"
    assert observed["p256_high_s_twin"] == "ALREADY_EXISTS"  # both S forms verify; the id hashes only the body


def test_block_headers_link_and_checkpoints_stay_consistent(plaintext_node):
    """Given a node with committed blocks, when GetBlocks streams from height 1, then every header's
    signature verifies under the node key, links to the SHA-256 of the previous header and continues its log
    indexes, every block end has a signed checkpoint with the header's root, and the consistency proofs from
    the first non-empty checkpoint (and every later one) to the latest verify (RFC 9162 2.1.4.2)."""
    observed = run_client("chain", node=plaintext_node)["chain"]
    head = observed["head"]
    assert head["height"] == head["header_height"] == head["checkpoint_block_height"] == observed["block_count"]
    assert head["tree_size"] == head["checkpoint_tree_size"]
    assert head["roots_agree"]
    assert observed["block_count"] >= 4  # genesis and the scenario's three grants at least
    assert observed["last_block_is_head"]
    assert observed["block_problems"] == []
    sizes = observed["checkpoint_sizes"]
    assert sizes and sizes[-1] == head["tree_size"]
    consistency = observed["consistency"]
    assert [proof["first"] for proof in consistency] == sizes
    assert consistency[0]["second"] == head["tree_size"]
    assert [proof["verdict"] for proof in consistency] == ["ok"] * len(sizes), \
        [proof for proof in consistency if proof["verdict"] != "ok"]


LEDGER_METHODS = {
    "CreateSessionChallenge": (False, False), "CreateSession": (False, False), "DeleteSession": (False, False),
    "Grant": (False, False), "Revoke": (False, False), "Write": (True, False), "Query": (False, True),
    "AuditStream": (False, True), "RotateKey": (False, False), "Erase": (False, False),
    "OpenEmergencyAccess": (False, False), "ListGrants": (False, False), "GetPrincipal": (False, False),
    "GetChainHead": (False, False), "GetBlocks": (False, True), "GetCheckpoint": (False, False),
    "GetInclusionProof": (False, False), "GetConsistencyProof": (False, False), "ResearchFeed": (False, True),
    "ExportFhirBundle": (False, True), "ProposeGrantsFromConsent": (False, False),
}


def assert_reflection_and_health(observed: dict) -> None:
    assert "healthledger.v1.Ledger" in observed["services"], observed["services"]
    assert "grpc.health.v1.Health" in observed["services"], observed["services"]
    assert observed["ledger_file"] == "healthledger/v1/ledger_service.proto"
    methods = observed["ledger_methods"]
    assert {name: (method["client_streaming"], method["server_streaming"]) for name, method in methods.items()} \
        == LEDGER_METHODS
    assert methods["Write"]["input"] == "healthledger.v1.WriteRequest"
    assert methods["Query"]["output"] == "healthledger.v1.QueryResponse"
    assert observed["transaction_body_fields"]["sequence"] == 3
    assert observed["health"] == {"": "SERVING", "healthledger.v1.Ledger": "SERVING"}


def test_reflection_lists_the_ledger_and_health_says_serving(plaintext_node):
    """Given the node, when grpcio-reflection's descriptor database asks it, then it lists
    healthledger.v1.Ledger with all twenty-one methods and their streaming kinds, and grpc.health.v1 Check
    says SERVING for the server and for "healthledger.v1.Ledger"."""
    observed = run_client("reflection", node=plaintext_node)["reflection"]
    assert_reflection_and_health(observed)


def test_access_story_over_tls_with_the_development_ca(healthledger, tmp_path, request):
    """Given a node started without --plaintext, which makes a development CA in <data-dir>/tls, when the
    client trusts that CA alone (server name "localhost"), then the whole access story, chunked upload and
    download included, and reflection and health work over TLS as over h2c."""
    node = start_node(healthledger, tmp_path, tls=True, request=request)
    ca_pem = node.ca_file.read_text()
    assert "BEGIN CERTIFICATE" in ca_pem
    observed = run_client("access-story", "reflection", node=node)
    assert observed["access-story"]["chain_id"] == CHAIN_ID
    assert_access_story(observed["access-story"])
    assert_reflection_and_health(observed["reflection"])


def test_sigterm_the_instant_the_node_listens_stops_it_gracefully(healthledger, tmp_path):
    """Given a node that has just printed its port line, when SIGTERM arrives at once (a supervisor stopping a
    node it just started), then the node still drains and exits 0 — ten times in a row, each on a fresh directory."""
    for attempt in range(10):
        directory = tmp_path / f"node-{attempt}"
        directory.mkdir()
        server = ServerProcess([str(healthledger), "serve", "--data-dir", str(directory / "data"), "--plaintext",
                                "--log-level", "warning"], directory / "node.log", None)
        exit_code = server.stop()
        assert exit_code == 0, (f"attempt {attempt}: the node ended with {server.death()} on an immediate SIGTERM; "
                                f"log:\n{server.log_tail()}")
