#!/usr/bin/env python3
"""A hospital's lab system writing results to HealthLedger: for each lab result in a JSON-lines file, it
writes a FHIR Observation record for the patient, if the patient granted the hospital WRITE on labs.
Results of patients who did not are skipped (and never sent, so the patients' audit trails show no
refused writes). One JSON line per result goes to stdout.

    hospital_backend.py --identity hospital.pem results.jsonl [--server HOST:PORT] [--plaintext | --ca-file CA]

Each input line: {"patient": "hl1...", "loinc": "718-7", "test": "Hemoglobin", "value": 13.2, "unit": "g/dL",
"effective_at_unix_ms": 1767225600000}. Output lines: {"line": 1, "patient": ..., "record_id": ...} or
{"line": 2, "patient": ..., "skipped": "no active WRITE grant on labs"}.

Before the first run, make the hospital's identity (`healthledger keygen --identity hospital.pem`, or this
script's --create-identity) and give its principal id to patients, who grant it with e.g.
`healthledger grant <hospital id> --categories labs --actions write`."""

import argparse
import json
import sys
from pathlib import Path

from healthledger import (AlreadyExistsError, Identity, IdentityFileError, LedgerClient, LedgerError,
                          PermissionDeniedError, messages as pb, parse_principal_id, save_identity)
from healthledger.command_line import add_connection_arguments, client_from_arguments, identity_from_arguments
from healthledger.errors import InvalidPrincipalId


def writable_patients(client: LedgerClient) -> set[str]:
    """Patients with an active PERMIT grant to this hospital (or to everyone) for WRITE on labs."""
    me = client.identity.principal_id
    patients = set()
    for record in client.list_grants(grantee=me):
        grant = record.grant
        if (record.state == pb.GRANT_STATE_ACTIVE and grant.effect == pb.EFFECT_PERMIT
                and grant.grantee in (me, "*") and pb.ACTION_WRITE in grant.actions
                and {pb.DATA_CATEGORY_LABS, pb.DATA_CATEGORY_ALL} & set(grant.categories)):
            patients.add(grant.patient)
    return patients


def observation(result: dict) -> bytes:
    """The lab result as a FHIR R4 Observation (JSON)."""
    resource = {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                   "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": result["loinc"], "display": result["test"]}]},
        "valueQuantity": {"value": result["value"], "unit": result["unit"]},
    }
    return json.dumps(resource, sort_keys=True).encode()


def write_results(client: LedgerClient, lines: list[str]) -> int:
    """Writes every result a grant allows; returns how many lines could not be processed."""
    allowed = writable_patients(client)
    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result = json.loads(line)
            patient = parse_principal_id(result["patient"])
            if patient not in allowed:
                print(json.dumps({"line": number, "patient": patient, "skipped": "no active WRITE grant on labs"}))
                continue
            response = client.write(patient, pb.DATA_CATEGORY_LABS, observation(result), "application/fhir+json",
                                    effective_at_unix_ms=int(result.get("effective_at_unix_ms", 0)),
                                    labels={"fhir.resource": "Observation", "loinc": result["loinc"]})
            print(json.dumps({"line": number, "patient": patient, "record_id": response.record_id,
                              "block_height": response.receipt.block_height}))
        except AlreadyExistsError as error:
            # Sent again after an unknown outcome, and the first attempt had committed: written.
            print(json.dumps({"line": number, "patient": patient, "record_id": error.transaction_id}))
        except PermissionDeniedError:
            # The grant was revoked (or expired) after the list was fetched.
            print(json.dumps({"line": number, "patient": patient, "skipped": "WRITE no longer granted"}))
        except (ValueError, KeyError, TypeError, InvalidPrincipalId) as error:
            failures += 1
            print(json.dumps({"line": number, "error": f"bad input: {error}"}))
        except LedgerError as error:
            failures += 1
            print(json.dumps({"line": number, "error": f"{error.code.name}: {error.message}"}))
    return failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_connection_arguments(parser)
    parser.add_argument("results", type=Path, help="JSON-lines file of lab results ('-' for stdin)")
    parser.add_argument("--create-identity", action="store_true",
                        help="make the --identity file (Ed25519) when it does not exist yet")
    args = parser.parse_args(argv)
    try:
        if args.create_identity and args.identity is not None and not args.identity.exists():
            save_identity(Identity.generate(), args.identity)
        identity = identity_from_arguments(args)
    except IdentityFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 5
    lines = sys.stdin.read().splitlines() if str(args.results) == "-" else args.results.read_text().splitlines()
    print(f"hospital {identity.principal_id}", file=sys.stderr)
    try:
        with client_from_arguments(args, identity) as client:
            return 1 if write_results(client, lines) else 0
    except LedgerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 4 if error.code.name in ("UNAVAILABLE", "DEADLINE_EXCEEDED") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
