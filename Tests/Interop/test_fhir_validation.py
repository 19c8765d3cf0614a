"""Every FHIR resource HealthLedger produces or ships, validated by an independent implementation.

The golden files of the mapping's tests (Tests/FHIRMappingTests/Golden, every .json at any depth) and the
example resources (Examples/fhir) are parsed by fhir.resources, whose FHIR R4 (4.0.1) models refuse unknown
elements, missing required ones and malformed primitives. fhir.resources does not check codes against value
sets, so the codes the Consent mapping writes or reads are checked here against the R4 value sets they are
bound to (required bindings) and against the v3 PurposeOfUse codes."""

import json
from pathlib import Path

import pytest
from fhir.resources import construct_fhir_element

from interop_paths import REPO_ROOT

GOLDEN_DIR = REPO_ROOT / "Tests" / "FHIRMappingTests" / "Golden"
EXAMPLES_DIR = REPO_ROOT / "Examples" / "fhir"
FHIR_FILES = sorted([*GOLDEN_DIR.rglob("*.json"), *EXAMPLES_DIR.rglob("*.json")])

# http://hl7.org/fhir/R4/valueset-consent-state-codes.html (required binding of Consent.status).
CONSENT_STATUS = {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_SCOPES = {"adr", "research", "patient-privacy", "treatment"}
# http://hl7.org/fhir/R4/valueset-consent-provision-type.html (required binding of provision.type).
PROVISION_TYPES = {"deny", "permit"}
CONSENT_ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
CONSENT_ACTIONS = {"collect", "access", "use", "disclose", "correct"}
PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# The v3 PurposeOfUse codes HealthLedger's purposes map to.
PURPOSES_OF_USE = {"TREAT", "ETREAT", "HRESCH", "HPAYMT", "HOPERAT", "PATRQT"}
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
POLICY_RULES = {"OPTIN", "OPTOUT"}
SENSITIVITY_LABELS = {"PSY", "SEX", "ETH", "GDIS"}
RESOURCE_TYPES_SYSTEM = "http://hl7.org/fhir/resource-types"


def relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def resources_in(value):
    """Every JSON object with a resourceType in `value`, at any depth (a Bundle's entries, contained ones)."""
    if isinstance(value, dict):
        if "resourceType" in value:
            yield value
        for member in value.values():
            yield from resources_in(member)
    elif isinstance(value, list):
        for element in value:
            yield from resources_in(element)


def codes(concept, system):
    """The codes of a CodeableConcept's codings in `system`."""
    return [coding["code"] for coding in concept.get("coding", []) if coding.get("system") == system]


def provisions(provision, path="Consent.provision"):
    """A provision and its nested ones, with their FHIR paths."""
    yield path, provision
    for index, nested in enumerate(provision.get("provision", [])):
        yield from provisions(nested, f"{path}.provision[{index}]")


def consent_code_errors(consent):
    """What is wrong with a Consent's codes; empty when nothing is."""
    errors = []
    if consent.get("status") not in CONSENT_STATUS:
        errors.append(f"Consent.status {consent.get('status')!r} is not in the R4 consent-state-codes value set")
    scopes = codes(consent.get("scope", {}), CONSENT_SCOPE_SYSTEM)
    if not scopes or any(code not in CONSENT_SCOPES for code in scopes):
        errors.append(f"Consent.scope {scopes!r} is not a consentscope code")
    if "patient-privacy" in scopes and "patient" not in consent:
        errors.append("Consent.patient is required with a privacy scope (ppc-2)")
    if "policy" not in consent and "policyRule" not in consent:
        errors.append("Consent needs a policy or a policyRule (ppc-1)")
    rules = codes(consent.get("policyRule", {}), ACT_CODE_SYSTEM)
    if "policyRule" in consent and not set(rules) & POLICY_RULES:
        errors.append(f"Consent.policyRule {rules!r} is neither OPTIN nor OPTOUT")
    for path, provision in provisions(consent.get("provision", {})):
        if "type" in provision and provision["type"] not in PROVISION_TYPES:
            errors.append(f"{path}.type {provision['type']!r} is not permit or deny")
        for index, action in enumerate(provision.get("action", [])):
            for code in codes(action, CONSENT_ACTION_SYSTEM):
                if code not in CONSENT_ACTIONS:
                    errors.append(f"{path}.action[{index}] {code!r} is not a consentaction code")
        for index, purpose in enumerate(provision.get("purpose", [])):
            if purpose.get("system") != PURPOSE_SYSTEM or purpose.get("code") not in PURPOSES_OF_USE:
                errors.append(f"{path}.purpose[{index}] {purpose!r} is not a v3 PurposeOfUse code")
        for index, label in enumerate(provision.get("securityLabel", [])):
            if label.get("system") == ACT_CODE_SYSTEM and label.get("code") not in SENSITIVITY_LABELS:
                errors.append(f"{path}.securityLabel[{index}] {label!r} is not a sensitivity label the mapping knows")
        for index, resource_class in enumerate(provision.get("class", [])):
            if resource_class.get("system") == RESOURCE_TYPES_SYSTEM and not resource_class.get("code", "")[:1].isupper():
                errors.append(f"{path}.class[{index}] {resource_class!r} is not a resource type name")
    return errors


def test_the_mapping_has_golden_files_and_examples_to_validate():
    names = {path.name for path in FHIR_FILES}
    assert {"consent-permit-labs-clinician.json", "consent-labs-vitals-treatment.json"} <= names, names


@pytest.mark.parametrize("path", FHIR_FILES, ids=relative)
def test_fhir_resources_parses_the_file_by_its_resource_type(path):
    resource = json.loads(path.read_text(encoding="utf-8"))
    element = construct_fhir_element(resource["resourceType"], resource)
    assert element.resource_type == resource["resourceType"]


@pytest.mark.parametrize("path", FHIR_FILES, ids=relative)
def test_consent_codes_are_in_their_value_sets(path):
    consents = [value for value in resources_in(json.loads(path.read_text(encoding="utf-8")))
                if value["resourceType"] == "Consent"]
    for consent in consents:
        assert consent_code_errors(consent) == []


def test_the_code_checks_can_fail():
    consent = json.loads((GOLDEN_DIR / "consent-permit-labs-clinician.json").read_text(encoding="utf-8"))
    consent["status"] = "revoked"
    consent["provision"]["purpose"][0]["code"] = "MARKT"
    consent["provision"]["type"] = "allow"
    errors = consent_code_errors(consent)
    assert len(errors) == 3, errors
    with pytest.raises(Exception):
        construct_fhir_element("Consent", {**consent, "note": "Consent has no note element"})
