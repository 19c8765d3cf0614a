// Words the page shows for what the node says: enum names in a reason read as the page's labels.
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readableReason } from "../src/vocabulary.js";

test("a denial's reason names categories and purposes in the page's words, and leaves unknown names alone", () => {
  assert.equal(
    readableReason("no PERMIT for DATA_CATEGORY_LABS with PURPOSE_TREATMENT"),
    "no PERMIT for Lab results with Treatment",
  );
  assert.equal(readableReason("DATA_CATEGORY_FUTURE_KIND"), "DATA_CATEGORY_FUTURE_KIND");
  assert.equal(readableReason("audit trail read"), "audit trail read");
});
