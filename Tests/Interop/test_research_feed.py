"""The research feed against the real binary: `healthledger serve --researcher` and the `healthledger` CLI,
with every pseudonym recomputed here from its definition (ledger_service.proto, ResearchFeedRequest) with
Python's hmac and the node secret read from the data directory, so the Swift HMAC and the Python one must agree."""

import hashlib
import hmac
import json
import os
import re
import subprocess

import pytest

from cli_story import CommandLineStory, told_story

CLI_TIMEOUT = 60.0
CONTEXT = b"healthledger.v1.research-pseudonym"


def pseudonym(secret: bytes, researcher: str, principal: str) -> str:
    """The pseudonym `researcher` sees for `principal`, straight from the definition."""
    researcher_key = hmac.new(secret, CONTEXT + b"\x00" + researcher.encode(), hashlib.sha256).digest()
    return "ps-" + hmac.new(researcher_key, principal.encode(), hashlib.sha256).digest()[:16].hex()


def test_pseudonym_definition_matches_the_published_vector():
    """The vector docs/LEDGER.md publishes (and the Swift tests check), computed independently here."""
    secret = bytes(range(32))
    key = hmac.new(secret, CONTEXT + b"\x00" + b"hl1researcheralpha", hashlib.sha256).hexdigest()
    assert key == "4ca1d5cbad9108a5d5e6dac1a745cb9c924c4f8ce37b8cbd5ada19e576be52d4"
    assert pseudonym(secret, "hl1researcheralpha", "hl1patientone") == "ps-a91a19eceb1030d966424ce5f1be6134"
    assert pseudonym(secret, "hl1researcherbeta", "hl1patientone") == "ps-8882affcf32d5d26ad447a6ff2cd7c9c"


class Story(CommandLineStory):
    """A command-line story whose node has registered researchers."""

    def start_with_researchers(self, researchers: list[str]) -> None:
        self.start(*[argument for researcher in researchers for argument in ("--researcher", researcher)])

    def feed(self, who: str) -> tuple[str, list[dict]]:
        output = self.run(who, "research-feed", "--from", "1", "--json").stdout
        return output, [json.loads(line) for line in output.splitlines() if line.strip()]

    @property
    def secret(self) -> bytes:
        secret = (self.data_dir / "research-pseudonym.key").read_bytes()
        assert len(secret) == 32
        return secret


@pytest.fixture
def story(healthledger, tmp_path):
    yield from told_story(Story(healthledger, tmp_path))


def test_research_feed_shows_stable_per_researcher_pseudonyms_of_opted_in_patients_only(story):
    """Given two registered researchers, a patient who opted in to both, one who did not, a clinician who read
    both and a stranger: the stranger is refused, each researcher sees only the opted-in patient's events under
    the pseudonyms recomputed here, the same on a second call and after a restart, different between the two,
    and no principal or record id appears in the output; the patient's trail shows each researcher's read."""
    for name in ["alpha", "beta", "stranger", "opted_in", "opted_out", "clinician"]:
        story.keygen(name)
    ids = story.ids
    story.start_with_researchers([ids["alpha"], ids["beta"]])
    mode = os.stat(story.data_dir / "research-pseudonym.key").st_mode & 0o777
    assert mode == 0o600, oct(mode)

    (story.workspace / "labs.txt").write_text("hba1c 5.4%\n")
    record_ids = []
    for patient in ["opted_in", "opted_out"]:
        written = story.run(patient, "write", "--category", "labs", "--media-type", "text/plain",
                            str(story.workspace / "labs.txt"), "--json").stdout
        record_ids.append(json.loads(written)["record_id"])
        story.run(patient, "grant", ids["clinician"], "--categories", "labs", "--actions", "read", "--json")
    for researcher in ["alpha", "beta"]:
        story.run("opted_in", "grant", ids[researcher], "--categories", "all", "--actions", "audit-read",
                  "--purpose", "research", "--json")
    for patient in ["opted_in", "opted_out"]:
        story.run("clinician", "query", "--patient", ids[patient], "--categories", "labs", "--json")

    refused = story.run("stranger", "research-feed", "--json", check=False)
    assert refused.returncode == 2, (refused.returncode, refused.stderr)
    assert len(refused.stderr.strip().splitlines()) == 1 and "researcher" in refused.stderr

    secret = story.secret
    alpha_output, alpha_events = story.feed("alpha")
    assert alpha_events, "the opted-in patient's events did not reach the researcher"
    expected_patient = pseudonym(secret, ids["alpha"], ids["opted_in"])
    assert {event["patient_pseudonym"] for event in alpha_events} == {expected_patient}
    reads = [event for event in alpha_events if event["action"] == "read"]
    assert any(event["actor_pseudonym"] == pseudonym(secret, ids["alpha"], ids["clinician"])
               and event["released_record_count"] == 1 for event in reads), reads
    assert all(event["time_unix_ms"] % 60_000 == 0 for event in alpha_events)
    assert set(alpha_events[0]) == {"sequence", "time_unix_ms", "actor_pseudonym", "patient_pseudonym", "action",
                                    "outcome", "purpose", "basis", "emergency", "categories",
                                    "released_record_count"}
    for identifier in list(ids.values()) + record_ids:
        assert identifier not in alpha_output, f"{identifier} leaked into the research feed"
    assert not re.search(r"[0-9a-z]{33,}", alpha_output), "a long id-like string is in the research feed"

    # The researcher's read is in the patient's trail (the patient sees it identified).
    trail = [json.loads(line) for line in story.run("opted_in", "audit", "--json").stdout.splitlines()]
    research_reads = [event for event in trail
                      if event["actor"] == ids["alpha"] and event["action"] == "audit-read"
                      and event["purpose"] == "research"]
    assert len(research_reads) == 1, trail
    assert any(event["sequence"] == research_reads[0]["sequence"]
               and event["actor_pseudonym"] == pseudonym(secret, ids["alpha"], ids["alpha"])
               for event in alpha_events)
    # A research-only opt-in does not open the identified trail to the researcher.
    seen_by_alpha = [json.loads(line) for line in
                     story.run("alpha", "audit", "--patient", ids["opted_in"], "--json").stdout.splitlines()]
    assert seen_by_alpha and all(event["actor"] == ids["alpha"] for event in seen_by_alpha), seen_by_alpha

    _, again = story.feed("alpha")
    assert again[:len(alpha_events)] == alpha_events
    _, beta_events = story.feed("beta")
    beta_patient = pseudonym(secret, ids["beta"], ids["opted_in"])
    assert beta_patient != expected_patient
    assert beta_events and {event["patient_pseudonym"] for event in beta_events} == {beta_patient}

    story.stop()
    story.start_with_researchers([ids["alpha"], ids["beta"]])
    assert story.secret == secret
    _, after_restart = story.feed("alpha")
    assert after_restart[:len(alpha_events)] == alpha_events


def test_serve_refuses_a_researcher_that_is_not_a_principal_id(healthledger, tmp_path):
    """A bad --researcher stops serve with one line naming it, before anything is created."""
    result = subprocess.run([str(healthledger), "serve", "--data-dir", str(tmp_path / "data"), "--plaintext",
                             "--port", "0", "--researcher", "not-an-id"],
                            capture_output=True, text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "--researcher not-an-id" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "data").exists()
