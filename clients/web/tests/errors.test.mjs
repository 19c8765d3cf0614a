// What the page says when a call fails: one line naming the problem and what to do, and which failures leave a
// transaction's outcome unknown (so the same signed bytes are sent again).
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeConsentError, describeError, describeTrustFailure, outcomeUnknown } from "../src/errors.js";
import { LogVerificationError } from "../src/proofs.js";

function grpcError(codeName, message) {
  return Object.assign(new Error(message), { codeName, code: 0 });
}

test("a denial names the problem and the node's reason in one sentence", () => {
  assert.equal(
    describeError(grpcError("PERMISSION_DENIED", "no PERMIT for DATA_CATEGORY_LABS")),
    "Not allowed: no PERMIT for DATA_CATEGORY_LABS.",
  );
  assert.match(describeError(grpcError("UNAVAILABLE", "")), /^The node is not reachable right now; check your connection and try again\.$/);
  assert.equal(describeError(new TypeError("Failed to fetch")), "Cannot reach the node; check your connection and try again.");
  assert.equal(describeError(new Error("The two passphrases differ")), "The two passphrases differ.");
});

test("only unavailability, deadlines and network failures leave a transaction's outcome unknown", () => {
  assert.ok(outcomeUnknown(grpcError("UNAVAILABLE", "")));
  assert.ok(outcomeUnknown(grpcError("DEADLINE_EXCEEDED", "")));
  assert.ok(outcomeUnknown(new TypeError("Failed to fetch")));
  for (const answer of ["PERMISSION_DENIED", "FAILED_PRECONDITION", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS"]) {
    assert.ok(!outcomeUnknown(grpcError(answer, "")), answer);
  }
});

test("a log that fails a check is reported with what was found and that nothing more from the node is shown", () => {
  const forked = new LogVerificationError("forked", "The node's history does not match what this device saw before: this device saw 7 entries");
  assert.match(describeTrustFailure(forked), /^The node's history does not match what this device saw before: this device saw 7 entries\. This page shows nothing more from this node\./);
  const invalid = new LogVerificationError("invalid", "Entry 5 is not in the log the node signed");
  assert.match(describeTrustFailure(invalid), /^The node sent something its own signed log does not back: Entry 5 is not in the log the node signed\. This page shows nothing more/);
  const unsupported = new LogVerificationError("unsupported", "This browser cannot check Ed25519 signatures, so it cannot check the node's log; use a current browser.");
  assert.equal(describeTrustFailure(unsupported), unsupported.message);
});

test("a consent that cannot be imported names the element to fix; other failures read as any call's", () => {
  assert.equal(
    describeConsentError(grpcError("INVALID_ARGUMENT", 'Consent.provision.action[0]: action "disclose" is not supported')),
    'This consent cannot be imported as it is; ask whoever drafted it to fix Consent.provision.action[0]: action "disclose" is not supported.',
  );
  assert.match(describeConsentError(grpcError("RESOURCE_EXHAUSTED", "consent_json: 2000000 bytes, above the limit of 1048576")), /too large to be a consent/);
  assert.equal(describeConsentError(grpcError("UNAVAILABLE", "")), describeError(grpcError("UNAVAILABLE", "")));
});
