"""The patient's FHIR export against the real binary: `healthledger serve` and `healthledger export --fhir`, with the
Bundle and every resource in it validated by an independent FHIR implementation, the PyPI package fhir.resources
(R4 models), and the codes it does not check (value sets) checked here."""

import json

import pytest
from fhir.resources import construct_fhir_element

from cli_story import CommandLineStory, told_story

REST_INTERACTIONS = {"read", "search-type", "create", "update", "delete"}
PURPOSES = {"TREAT", "ETREAT", "HRESCH", "HPAYMT", "HOPERAT", "PATRQT"}

OBSERVATION = """{
  "resourceType": "Observation",
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3", "display": "Potassium"}]},
  "valueQuantity": {"value": 4.10, "unit": "mmol/L"}
}
"""


@pytest.fixture
def story(healthledger, tmp_path):
    yield from told_story(CommandLineStory(healthledger, tmp_path))


def check_audit_event(event: dict, patient: str) -> None:
    """The codes fhir.resources does not check: BALP's type and subtype, action, outcome, purposes, roles."""
    assert event["type"] == {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
                             "display": "Restful Operation"}
    interaction = event["subtype"][0]
    assert interaction["system"] == "http://hl7.org/fhir/restful-interaction"
    assert interaction["code"] in REST_INTERACTIONS
    assert event["action"] in {"C", "R", "U", "D", "E"}
    assert event["outcome"] in {"0", "4"}
    for concept in event.get("purposeOfEvent", []):
        assert concept["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActReason"
        assert concept["coding"][0]["code"] in PURPOSES
    assert [agent["requestor"] for agent in event["agent"]] == [True, False]
    assert event["source"]["type"][0]["code"] == "4"
    first = event["entity"][0]
    assert first["role"] == {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1",
                             "display": "Patient"}
    assert first["what"]["identifier"]["value"] == patient


def test_patient_export_is_a_bundle_fhir_resources_validates_with_records_consents_and_audit_events(story):
    """Given a patient with a FHIR lab result, a text note (erased since), a grant to a clinician who read labs and
    was refused genomics: `healthledger export --fhir` writes a Bundle that fhir.resources validates whole and
    entry by entry, holding the FHIR record byte for byte, the others as DocumentReferences, and every audit event
    of the patient (the export's own last); a clinician's export is refused, audited, and leaves no file."""
    for name in ["patient", "clinician"]:
        story.keygen(name)
    ids = story.ids
    story.start()

    (story.workspace / "potassium.json").write_text(OBSERVATION)
    (story.workspace / "note.txt").write_text("follow-up in two weeks\n")
    fhir_record = json.loads(story.run("patient", "write", "--category", "labs", "--media-type",
                                       "application/fhir+json", "potassium.json", "--json").stdout)["record_id"]
    note_record = json.loads(story.run("patient", "write", "--category", "clinical-notes", "--media-type",
                                       "text/plain", "note.txt", "--json").stdout)["record_id"]
    story.run("patient", "grant", ids["clinician"], "--categories", "labs", "--actions", "read", "--json")
    story.run("clinician", "query", "--patient", ids["patient"], "--categories", "labs", "--json")
    denied = story.run("clinician", "query", "--patient", ids["patient"], "--categories", "genomics", "--json",
                       check=False)
    assert denied.returncode == 2, denied.stderr
    story.run("patient", "erase", "--record", note_record, "--reason", "wrong patient", "--yes", "--json")

    out = story.workspace / "export" / "bundle.json"
    out.parent.mkdir()
    summary = json.loads(story.run("patient", "export", "--fhir", "--out", str(out), "--json").stdout)
    assert summary["records"] == 2 and summary["file"] == str(out)
    assert [path.name for path in out.parent.iterdir()] == ["bundle.json"], "no temporary file is left behind"
    text = out.read_text()
    assert OBSERVATION in text, "the FHIR record is in the Bundle byte for byte"
    assert summary["size_bytes"] == len(text.encode())

    bundle = json.loads(text)
    construct_fhir_element("Bundle", bundle)
    assert bundle["type"] == "collection"
    resources = [entry["resource"] for entry in bundle["entry"]]
    for resource in resources:
        construct_fhir_element(resource["resourceType"], resource)
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)

    assert len(by_type["Observation"]) == 1
    [note] = by_type["DocumentReference"]
    assert note["id"] == note_record and note["status"] == "current" and "erased" in note["description"]
    assert note["content"][0]["attachment"] == {"contentType": "text/plain", "size": len("follow-up in two weeks\n")}
    assert fhir_record not in [document["id"] for document in by_type["DocumentReference"]]
    [consent] = by_type["Consent"]
    assert summary["consents"] == 1
    assert consent["status"] == "active" and consent["provision"]["type"] == "permit"
    assert consent["patient"]["identifier"]["value"] == ids["patient"]
    assert consent["provision"]["actor"][0]["reference"]["identifier"]["value"] == ids["clinician"]
    assert [coding["code"] for coding in consent["provision"]["code"][0]["coding"]][0] == "labs"

    audit_events = by_type["AuditEvent"]
    assert len(audit_events) == summary["audit_events"]
    for event in audit_events:
        check_audit_event(event, ids["patient"])
    kinds = [(event["subtype"][0]["code"], event["outcome"]) for event in audit_events]
    assert ("search-type", "0") in kinds and ("search-type", "4") in kinds and ("delete", "0") in kinds
    own = audit_events[-1]
    assert own["id"] == f"audit-{summary['audit_sequences'][-1]}"
    assert own["purposeOfEvent"][0]["coding"][0]["code"] == "PATRQT"
    released = [entity["what"]["identifier"]["value"] for entity in own["entity"] if entity["role"]["code"] == "4"]
    assert sorted(released) == sorted([fhir_record, note_record])

    refused_out = story.workspace / "export" / "theirs.json"
    refused = story.run("clinician", "export", "--fhir", "--patient", ids["patient"], "--out", str(refused_out),
                        check=False)
    assert refused.returncode == 2, refused.stderr
    assert [path.name for path in out.parent.iterdir()] == ["bundle.json"], "a refused export leaves no file"
    trail = [json.loads(line) for line in story.run("patient", "audit", "--json").stdout.splitlines() if line.strip()]
    assert any(event.get("actor") == ids["clinician"] and "export" in event.get("reason", "") for event in trail)
