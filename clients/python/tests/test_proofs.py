"""Proof-carrying answers, checked by default: receipts, a query's own audit event and audit stream events are
proved in the log under checkpoints signed by a pinned node key, and every checkpoint is proved consistent
with the ones seen before, so a node that tampers with a proof, signs with another key, or forks its history
is caught. The history rules are also tested without sockets."""

import json
import shutil

import pytest

from conftest import Node
from healthledger import (CheckpointHistory, HistoryMismatchError, Identity, LedgerClient, PermissionDeniedError,
                          VerificationError, messages as pb)
from healthledger.keys import Ed25519SigningKey
from healthledger.merkle import consistency_proof, merkle_tree_hash
from healthledger.signing import CHECKPOINT_CONTEXT, context_labelled


def client(node, identity=None, **options) -> LedgerClient:
    return LedgerClient(node.target, identity, plaintext=True, timeout=20, **options)


def grant_sent_and_answered(as_patient: LedgerClient, grantee: str, tamper=lambda response: response):
    """Commits a grant through submit(), keeping the signed transaction sent; `tamper` changes the answer on
    its way back, as a dishonest node would."""
    sent: list[pb.SignedTransaction] = []

    def send(signed: pb.SignedTransaction) -> pb.GrantResponse:
        sent.append(signed)
        return tamper(as_patient.stub.Grant(pb.GrantRequest(transaction=signed), timeout=20))

    grant = pb.Grant(patient=as_patient.identity.principal_id, grantee=grantee, actions=[pb.ACTION_READ],
                     categories=[pb.DATA_CATEGORY_LABS], purposes=[pb.PURPOSE_TREATMENT], effect=pb.EFFECT_PERMIT)
    return as_patient.submit(grant, send), sent[0]


def resigned_by_another_key(signed: pb.SignedCheckpoint) -> pb.SignedCheckpoint:
    forger = Ed25519SigningKey()
    return pb.SignedCheckpoint(checkpoint=signed.checkpoint,
                               signature=forger.sign(context_labelled(CHECKPOINT_CONTEXT, signed.checkpoint)),
                               node_key_id=forger.key_id)


def test_receipts_query_and_audit_events_are_proved_in_one_signed_history(node, tmp_path):
    """Given a patient who grants labs and writes a lab result, and a clinician who reads it, then every
    receipt, the query's own audit event and each audit stream event came with a proof that verified, and the
    patient's client remembers (and saved) the largest checkpoint it proved consistent."""
    patient, clinician = Identity.generate(), Identity.generate("p256")
    saved = tmp_path / "checkpoints.json"
    with client(node, patient, checkpoint_file=saved) as as_patient, client(node, clinician) as as_clinician:
        granted = as_patient.grant(clinician.principal_id, [pb.DATA_CATEGORY_LABS])
        written = as_patient.write(patient.principal_id, pb.DATA_CATEGORY_LABS, b'{"hb": 13.2}', "application/json")
        for receipt in (granted.receipt, written.receipt):
            assert receipt.ledger_entry and receipt.proof.inclusion.tree_size > receipt.entry_index
        result = as_clinician.query(patient.principal_id, [pb.DATA_CATEGORY_LABS])
        assert result.audit_event.event.sequence == result.audit_sequence
        assert result.audit_event.event.actor == clinician.principal_id
        events = list(as_patient.audit_stream(patient.principal_id))
        assert [logged.event.sequence for logged in events] == [result.audit_sequence]
        assert events[0].proof.inclusion.leaf_index == events[0].event.entry_index
        latest = as_patient.latest_checkpoint
        assert latest is not None and as_patient.history.latest_size >= events[0].event.entry_index + 1
        # The receipts' checkpoints were older than the one the stream ended on; all of them are remembered.
        assert granted.receipt.proof.inclusion.tree_size in as_patient.history.roots
    stored = json.loads(saved.read_text())
    assert stored["chain_id"] == "python-client" and stored["node_keys"]
    assert pb.SignedCheckpoint.FromString(bytes.fromhex(stored["latest_checkpoint"])) == latest
    with client(node, patient, checkpoint_file=saved) as again:
        head = again.chain_head()
        assert again.history.latest_size >= pb.Checkpoint.FromString(latest.checkpoint).tree_size
        assert pb.Checkpoint.FromString(head.checkpoint.checkpoint).tree_size == again.history.latest_size


def test_a_receipt_with_a_tampered_proof_or_entry_raises(node):
    """Given a node whose answer to a Grant was altered on the way (a proof hash flipped, another entry, a
    checkpoint signed by a key that is not the node's), then the client raises instead of returning it."""
    patient, grantee = Identity.generate(), Identity.generate()

    def flip_path(response):
        path = response.receipt.proof.inclusion.audit_path
        if not path:
            response.receipt.proof.inclusion.leaf_index += 1
        else:
            path[0] = bytes([path[0][0] ^ 1]) + path[0][1:]
        return response

    def other_entry(response):
        entry = pb.LedgerEntry.FromString(response.receipt.ledger_entry)
        entry.salt = bytes(16)
        response.receipt.ledger_entry = entry.SerializeToString(deterministic=True)
        return response

    def other_key(response):
        response.receipt.proof.checkpoint.CopyFrom(resigned_by_another_key(response.receipt.proof.checkpoint))
        return response

    with client(node, patient) as as_patient:
        honest, _ = grant_sent_and_answered(as_patient, grantee.principal_id)
        assert honest.receipt.proof.checkpoint.node_key_id in as_patient.verifier.node_keys
        with pytest.raises(VerificationError, match="does not lead to the signed root|proof is for leaf"):
            grant_sent_and_answered(as_patient, grantee.principal_id, flip_path)
        with pytest.raises(VerificationError, match="does not lead to the signed root"):
            grant_sent_and_answered(as_patient, grantee.principal_id, other_entry)
        with pytest.raises(VerificationError, match="not a node key from GetChainHead"):
            grant_sent_and_answered(as_patient, grantee.principal_id, other_key)
        # Each of them did commit: the client moved on to the next sequence number and keeps working.
        assert as_patient.grant(grantee.principal_id, [pb.DATA_CATEGORY_VITALS]).receipt.proof.checkpoint


def test_a_client_pinned_to_another_node_key_refuses_the_nodes_checkpoints(node):
    forger = Ed25519SigningKey()
    pinned = pb.NodeKey(key_id=forger.key_id, public_key=pb.PublicKey(algorithm=1, key_bytes=forger.public_key_bytes))
    with client(node, Identity.generate(), node_keys=[pinned]) as misled:
        with pytest.raises(VerificationError, match="not a node key"):
            misled.chain_head()


def commit_some(target_node: Node, count: int) -> None:
    """`count` grants by a new patient, each in a block of its own or shared, as the node batches them."""
    patient = Identity.generate()
    with client(target_node, patient) as as_patient:
        for _ in range(count):
            as_patient.grant(Identity.generate().principal_id, [pb.DATA_CATEGORY_LABS])


def test_a_forked_history_is_caught_by_a_client_that_saw_the_other_branch(healthledger_binary, tmp_path):
    """Given a node's data directory copied while it was stopped, and both copies run (same node key, same
    chain id) taking different transactions, when a client that followed one copy's audit stream talks to the
    other (through its saved checkpoint file, or the same in-memory history), then it raises
    HistoryMismatchError naming the tree sizes; the copy it followed still verifies."""
    original = Node(healthledger_binary, tmp_path / "original")
    patient = Identity.generate()
    try:
        with client(original, patient) as as_patient:
            as_patient.grant(Identity.generate().principal_id, [pb.DATA_CATEGORY_LABS])
    finally:
        assert original.stop() == 0
    (tmp_path / "fork").mkdir()
    shutil.copytree(original.data_dir, tmp_path / "fork" / "data")
    original.start()
    fork = Node(healthledger_binary, tmp_path / "fork")
    saved = tmp_path / "checkpoints.json"
    try:
        commit_some(original, 2)
        commit_some(fork, 4)
        with client(original, patient, checkpoint_file=saved) as follower:
            reader = Identity.generate()
            follower.grant(reader.principal_id, [pb.DATA_CATEGORY_LABS], actions=[pb.ACTION_READ])
            with client(original, reader) as as_reader:
                as_reader.query(patient.principal_id, [pb.DATA_CATEGORY_LABS])
            assert len(list(follower.audit_stream(patient.principal_id))) == 1
            seen = follower.history.latest_size
        with client(fork, patient, checkpoint_file=saved) as misled, pytest.raises(HistoryMismatchError) as caught:
            misled.chain_head()
        assert f"tree size {seen}" in str(caught.value) and "\n" not in str(caught.value)
        with client(fork, patient, checkpoint_history=follower.history) as shared:
            with pytest.raises(HistoryMismatchError):
                list(shared.audit_stream(patient.principal_id))
        with client(original, patient, checkpoint_file=saved) as honest:
            assert honest.chain_head() and honest.history.latest_size >= seen
    finally:
        fork.stop()
        original.stop()


def checkpoint(entries: list[bytes]) -> pb.Checkpoint:
    return pb.Checkpoint(chain_id="c", tree_size=len(entries), root_hash=merkle_tree_hash(entries))


def test_the_history_asks_for_proofs_only_for_new_sizes_and_rejects_another_branch():
    """Given a history that holds the log of 3 entries, then 5 entries extending it join with a proof from 3,
    2 entries join with a proof to 5, a size seen again needs nothing, and another branch of 5 or 6 is refused."""
    log = [bytes([i]) * 8 for i in range(8)]
    other = log[:4] + [b"rewritten"] + log[5:]
    history = CheckpointHistory("c")
    assert history.proof_needed(checkpoint(log[:3])) is None and history.accept(pb.SignedCheckpoint(),
                                                                                checkpoint(log[:3]))
    assert history.proof_needed(checkpoint(log[:5])) == (3, 5)
    assert history.accept(pb.SignedCheckpoint(), checkpoint(log[:5]),
                          (checkpoint(log[:3]), checkpoint(log[:5]), consistency_proof(3, log[:5])))
    assert history.proof_needed(checkpoint(log[:2])) == (2, 5)
    assert not history.accept(pb.SignedCheckpoint(), checkpoint(log[:2]),
                              (checkpoint(log[:2]), checkpoint(log[:5]), consistency_proof(2, log[:5])))
    assert history.proof_needed(checkpoint(log[:5])) is None and history.latest_size == 5
    with pytest.raises(HistoryMismatchError, match="tree size 5 has root .* now, .* before"):
        history.proof_needed(checkpoint(other[:5]))
    with pytest.raises(HistoryMismatchError, match="tree size 5 has root"):
        # A proof that is valid for the other branch still names a size-5 root this history never saw.
        history.accept(pb.SignedCheckpoint(), checkpoint(other[:6]),
                       (checkpoint(other[:5]), checkpoint(other[:6]), consistency_proof(5, other[:6])))
    with pytest.raises(HistoryMismatchError, match="is not a prefix of tree size 6"):
        history.accept(pb.SignedCheckpoint(), checkpoint(other[:6]),
                       (checkpoint(log[:5]), checkpoint(other[:6]), consistency_proof(5, log[:6])))
    assert history.latest_size == 5 and sorted(history.roots) == [2, 3, 5]


def test_a_registered_researcher_reads_pseudonymised_events_of_opted_in_patients(healthledger_binary, tmp_path):
    """Given a node that registered a researcher, and a patient who opted in (AUDIT_READ for research) and was
    read by a clinician, when the researcher reads the feed, then it gets that read with pseudonyms instead of
    principal ids; a principal that is not registered is refused."""
    researcher, patient, clinician = Identity.generate(), Identity.generate(), Identity.generate()
    node = Node(healthledger_binary, tmp_path / "research", ("--researcher", researcher.principal_id))
    try:
        with client(node, patient) as as_patient, client(node, clinician) as as_clinician:
            as_patient.grant(researcher.principal_id, [pb.DATA_CATEGORY_LABS], actions=[pb.ACTION_AUDIT_READ],
                             purposes=[pb.PURPOSE_RESEARCH])
            as_patient.grant(clinician.principal_id, [pb.DATA_CATEGORY_LABS])
            queried = as_clinician.query(patient.principal_id, [pb.DATA_CATEGORY_LABS])
        with client(node, researcher) as as_researcher:
            completed: list[int] = []
            events = list(as_researcher.research_feed(on_replay_completed=completed.append))
            assert completed and completed[0] >= queried.audit_sequence
            read = next(event for event in events if event.sequence == queried.audit_sequence)
            assert read.action == pb.ACTION_READ and read.outcome == pb.OUTCOME_ALLOWED
            for pseudonym in (read.actor_pseudonym, read.patient_pseudonym):
                assert pseudonym.startswith("ps-") and len(pseudonym) == 35
            assert read.patient_pseudonym != read.actor_pseudonym
            resumed = list(as_researcher.research_feed(start_sequence=read.sequence))
            assert resumed and resumed[0].sequence >= read.sequence
        with client(node, clinician) as not_registered, pytest.raises(PermissionDeniedError):
            list(not_registered.research_feed())
    finally:
        node.stop()
