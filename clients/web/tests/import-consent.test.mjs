// The consent import's own check before anything is shown for signing: every proposed grant must be about the
// patient who signs.
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { proposalProblem } from "../src/screens/import-consent.js";
import { recordDatesPhrase } from "../src/vocabulary.js";

const PATIENT = "hl1patient";

test("proposals about this patient pass; one about anyone else, or none at all, is refused in one sentence", () => {
  assert.equal(proposalProblem([{ patient: PATIENT }, { patient: PATIENT }], PATIENT), null);
  assert.equal(
    proposalProblem([{ patient: PATIENT }, { patient: "hl1someoneelse" }], PATIENT),
    "This consent is for another patient (hl1someoneelse), not you; import only a consent made out to you.",
  );
  assert.match(proposalProblem([], PATIENT), /states no access/);
});

test("a grant's record dates read as a range, open ends included", () => {
  assert.equal(recordDatesPhrase(undefined), "Any date");
  assert.equal(recordDatesPhrase({}), "Any date");
  assert.match(recordDatesPhrase({ fromUnixMs: 1767225600000n }), /^From /);
  assert.match(recordDatesPhrase({ untilUnixMs: 1767225600000n }), /^Before /);
  assert.match(recordDatesPhrase({ fromUnixMs: 0n, untilUnixMs: 1767225600000n }), /^From .*, before /);
});
