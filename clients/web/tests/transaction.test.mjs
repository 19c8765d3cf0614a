// The transaction bodies the page signs are the deterministic encoding docs/MOBILE.md's vectors pin down.
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../src/bytes.js";
import { Action, DataCategory, Purpose, permitGrant, transactionBodyBytes } from "../src/ledger.js";
import { transactionId } from "../src/signing.js";

const P256_PRINCIPAL = "hl1s8lz2fpaalghza3qh2vxdqkufdudgy9p5u2t6m";
const ED25519_PRINCIPAL = "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8";

test("the guide's grant.body: a grant of write on labs and vitals, valid_until set to 0, is byte for byte the vector", async () => {
  const grant = permitGrant({
    patient: P256_PRINCIPAL,
    grantee: ED25519_PRINCIPAL,
    actions: [Action.ACTION_WRITE],
    categories: [DataCategory.DATA_CATEGORY_LABS, DataCategory.DATA_CATEGORY_VITALS],
    purposes: [Purpose.PURPOSE_TREATMENT],
    validUntilUnixMs: 0,
  });
  const body = transactionBodyBytes({
    chainId: "healthledger-local",
    author: P256_PRINCIPAL,
    sequence: 2,
    createdAtUnixMs: 1767225600456,
    operationCase: "grant",
    operation: grant,
  });
  assert.equal(
    toHex(body),
    "0a126865616c74686c65646765722d6c6f63616c1229686c3173386c7a32667061616c67687a6133716832767864716b75666475646779397035753274366d180220c8d3eab6b73352640a29686c3173386c7a32667061616c67687a6133716832767864716b75666475646779397035753274366d1229686c3179386c7272686170326a33787a636e746c703271676d376a79756468686d32747174677466381a0102220205072a010138004801",
  );
  assert.match(await transactionId(body), /^[0-9a-f]{64}$/);
});

test("a grant until revoked leaves valid_until out of the body", () => {
  const grant = permitGrant({
    patient: P256_PRINCIPAL,
    grantee: ED25519_PRINCIPAL,
    actions: [Action.ACTION_READ],
    categories: [DataCategory.DATA_CATEGORY_LABS],
    purposes: [Purpose.PURPOSE_TREATMENT],
    validUntilUnixMs: null,
  });
  assert.equal(grant.validUntilUnixMs, undefined);
  const withEnd = permitGrant({ ...grant, validUntilUnixMs: 5, patient: P256_PRINCIPAL });
  const bytes = (operation) =>
    transactionBodyBytes({ chainId: "c", author: P256_PRINCIPAL, sequence: 1, createdAtUnixMs: 1, operationCase: "grant", operation });
  // Field 7 (valid_until_unix_ms, varint) is the tag byte 0x38: present only when an end is set.
  assert.ok(!toHex(bytes(grant)).includes("3805"));
  assert.ok(toHex(bytes(withEnd)).includes("3805"));
});

test("a whole proposed Grant (DENY, valid_from, record dates, delegation id, note) goes into the body unchanged", async () => {
  const { Effect, Grant, RecordDateRange } = await import("../generated/healthledger/v1/policy.js");
  const { ProposeGrantsFromConsentResponse } = await import("../generated/healthledger/v1/ledger_service.js");
  const { TransactionBody } = await import("../generated/healthledger/v1/transaction.js");
  const proposed = new Grant({
    patient: P256_PRINCIPAL,
    grantee: "*",
    actions: [Action.ACTION_READ],
    categories: [DataCategory.DATA_CATEGORY_GENOMICS],
    purposes: [Purpose.PURPOSE_RESEARCH],
    validFromUnixMs: 1767225600000n,
    validUntilUnixMs: 1924992000000n,
    recordDateRange: new RecordDateRange({ fromUnixMs: 1577836800000n, untilUnixMs: 1767225600000n }),
    effect: Effect.EFFECT_DENY,
    delegationGrantId: "ab".repeat(32),
    note: "no research on my genome",
  });
  // As the page receives it: decoded from the node's answer.
  const [grant] = ProposeGrantsFromConsentResponse.fromBinary(
    new ProposeGrantsFromConsentResponse({ grants: [proposed] }).toBinary(),
  ).grants;
  const body = transactionBodyBytes({
    chainId: "healthledger-local",
    author: P256_PRINCIPAL,
    sequence: 3,
    createdAtUnixMs: 1767225600456,
    operationCase: "grant",
    operation: grant,
  });
  const signed = TransactionBody.fromBinary(body).operation;
  assert.equal(signed.case, "grant");
  assert.deepEqual(signed.value.toBinary(), proposed.toBinary());
  assert.equal(signed.value.effect, Effect.EFFECT_DENY);
  assert.equal(signed.value.recordDateRange.fromUnixMs, 1577836800000n);
  assert.equal(signed.value.delegationGrantId, "ab".repeat(32));
});
