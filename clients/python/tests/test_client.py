"""LedgerClient against a real node: typed errors with the node's status and message, bad input refused
before anything is sent, verified reads, and a resubmitted transaction whose first attempt had committed."""

import json

import grpc
import pytest

from healthledger import (AlreadyExistsError, Identity, InvalidArgumentError, InvalidPrincipalId, LedgerClient,
                          NotFoundError, PermissionDeniedError, UnavailableError, messages as pb)
from healthledger.errors import FailedPreconditionError


def client(node, identity=None) -> LedgerClient:
    return LedgerClient(node.target, identity, plaintext=True, timeout=20)


def test_refusals_arrive_as_typed_errors_with_the_status_and_the_nodes_message(node):
    patient, stranger = Identity.generate(), Identity.generate("p256")
    with client(node, patient) as as_patient, client(node, stranger) as as_stranger:
        with pytest.raises(NotFoundError) as unknown:
            as_patient.revoke("ab" * 32)
        assert unknown.value.code.name == "NOT_FOUND" and "grant_id" in unknown.value.message
        assert unknown.value.rpc == "Revoke"
        with pytest.raises(PermissionDeniedError):
            as_stranger.query(patient.principal_id, [pb.DATA_CATEGORY_LABS])
        with pytest.raises(InvalidPrincipalId, match="must be lowercase"):
            as_patient.grant(stranger.principal_id.upper(), [pb.DATA_CATEGORY_LABS])
        granted = as_patient.grant(stranger.principal_id, [pb.DATA_CATEGORY_LABS], note="labs")
        as_patient.revoke(granted.grant_id)
        with pytest.raises(FailedPreconditionError):
            as_patient.revoke(granted.grant_id)  # already revoked
        # The refused Revoke used no sequence number: the next transaction still commits.
        assert as_patient.grant(stranger.principal_id, [pb.DATA_CATEGORY_VITALS]).grant_id


def test_an_unreachable_node_is_unavailable(node):
    with LedgerClient("127.0.0.1:1", Identity.generate(), plaintext=True, timeout=2) as unreachable:
        with pytest.raises(UnavailableError):
            unreachable.chain_head()


def test_a_write_is_read_back_verified_and_proved_in_the_log(node):
    patient, clinician = Identity.generate(), Identity.generate("p256")
    content = bytes(range(256)) * 9000  # 2.2 MiB: three chunks
    with client(node, patient) as as_patient, client(node, clinician) as as_clinician:
        as_patient.grant(clinician.principal_id, [pb.DATA_CATEGORY_LABS])
        written = as_patient.write(patient.principal_id, pb.DATA_CATEGORY_LABS, content, "application/octet-stream")
        result = as_clinician.query(patient.principal_id, [pb.DATA_CATEGORY_LABS], prove_inclusion=True)
        (record,) = result.records
        assert record.record.record_id == written.record_id and record.content == content
        events = list(as_patient.audit_stream(patient.principal_id))
        assert [event.event.sequence for event in events] == [result.audit_sequence]
        as_patient.prove_inclusion(events[0].ledger_entry, events[0].event.entry_index)
        headers = list(as_patient.blocks())
        assert headers[-1].height >= written.receipt.block_height
        first, latest = as_patient.prove_consistency(1)
        assert first.tree_size == 1 and latest.tree_size >= written.receipt.entry_index + 1


def test_a_transaction_resent_after_a_lost_answer_is_reported_committed(node):
    """Given a Grant whose answer is lost (the node committed it, the client saw UNAVAILABLE), when the client
    resends the very same signed bytes, then the node says ALREADY_EXISTS, the client reports it as committed
    by the earlier attempt, and its next transaction takes the next sequence number."""
    patient, grantee = Identity.generate(), Identity.generate()
    with client(node, patient) as as_patient:
        sent: list[bytes] = []

        def lose_first_answer(signed):
            sent.append(signed.SerializeToString())
            response = as_patient.stub.Grant(pb.GrantRequest(transaction=signed), timeout=20)
            if len(sent) == 1:
                raise UnavailableError(grpc.StatusCode.UNAVAILABLE, "answer lost", "Grant")
            return response

        grant = pb.Grant(patient=patient.principal_id, grantee=grantee.principal_id, actions=[pb.ACTION_READ],
                         categories=[pb.DATA_CATEGORY_LABS], purposes=[pb.PURPOSE_TREATMENT], effect=pb.EFFECT_PERMIT)
        with pytest.raises(AlreadyExistsError) as committed:
            as_patient.submit(grant, lose_first_answer)
        assert len(sent) == 2 and sent[0] == sent[1]
        assert committed.value.committed_by_earlier_attempt
        assert committed.value.transaction_id
        assert as_patient.revoke(committed.value.transaction_id).receipt.transaction_id


def test_a_patient_exports_their_fhir_bundle_and_reads_a_consent_as_the_grants_it_states(node, tmp_path):
    """Given a patient with a record and a grant to a clinician, when they export, then the Bundle holds the
    record, the grant as a Consent and the audit trail, and its audit event was checked as their own read; a
    clinician's export holds nothing of the patient's; and a FHIR Consent reads back as the grant it states, committed only when signed."""
    patient, clinician = Identity.generate(), Identity.generate("p256")
    with client(node, patient) as as_patient, client(node, clinician) as as_clinician:
        granted = as_patient.grant(clinician.principal_id, [pb.DATA_CATEGORY_LABS])
        as_patient.write(patient.principal_id, pb.DATA_CATEGORY_VITALS, b"bp 120/80", "text/plain")
        as_clinician.query(patient.principal_id, [pb.DATA_CATEGORY_LABS])

        exported = as_patient.export_fhir_bundle()
        assert exported.started.record_count == 1 and exported.started.consent_count == 1
        assert exported.size_bytes == len(exported.bundle)
        bundle = json.loads(exported.bundle)
        resources = [entry["resource"] for entry in bundle["entry"]]
        assert [resource["resourceType"] for resource in resources[:2]] == ["DocumentReference", "Consent"]
        [consent] = [resource for resource in resources if resource["resourceType"] == "Consent"]
        assert consent["id"] == granted.grant_id
        own = exported.started.audit_events[-1].event
        assert resources[-1]["id"] == f"audit-{own.sequence}"

        with open(tmp_path / "bundle.json", "wb") as out:
            written = as_patient.export_fhir_bundle(out)
        assert written.bundle == b"" and (tmp_path / "bundle.json").stat().st_size == written.size_bytes

        # A clinician's export is of their own data: nothing of the patient's.
        theirs = as_clinician.export_fhir_bundle()
        assert theirs.started.record_count == 0 and theirs.started.consent_count == 0
        assert patient.principal_id.encode() not in theirs.bundle

        [proposed] = as_patient.propose_grants_from_consent(json.dumps(consent))
        assert proposed.grantee == clinician.principal_id
        assert list(proposed.categories) == [pb.DATA_CATEGORY_LABS] and proposed.effect == pb.EFFECT_PERMIT
        signed = as_patient.submit_grant(proposed)
        assert {grant.grant_id for grant in as_patient.list_grants(patient=patient.principal_id)} == {
            granted.grant_id, signed.grant_id}
        with pytest.raises(InvalidArgumentError, match="Consent.patient"):
            as_patient.propose_grants_from_consent(json.dumps({**consent, "patient": None}))
