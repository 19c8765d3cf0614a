// The page checks the node's log instead of trusting it: RFC 9162 proofs against vectors computed apart from
// the page (fixtures/make_proof_vectors.py: the RFC's recursive definitions in Python, checkpoints encoded by hand
// and signed with Python's cryptography), checkpoint signatures, pinned node keys and the last checkpoint seen.
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { concatBytes, fromHex, sha256, toHex, utf8 } from "../src/bytes.js";
import {
  LogVerificationError,
  LogVerifier,
  checkpointMessage,
  isValidConsistency,
  isValidInclusion,
  leafHash,
  memoryTrustStore,
  singleBytesField,
} from "../src/proofs.js";
import { Checkpoint, LedgerEntry, SignedCheckpoint } from "../generated/healthledger/v1/chain.js";
import { AuditEvent } from "../generated/healthledger/v1/audit.js";
import { SignedTransaction } from "../generated/healthledger/v1/transaction.js";
import { TransactionReceipt, LoggedAuditEvent } from "../generated/healthledger/v1/ledger_service.js";

const vectors = JSON.parse(readFileSync(new URL("./fixtures/proof-vectors.json", import.meta.url), "utf8"));
const entry = (i) => utf8(`healthledger test entry ${i}`);
const root = (size) => fromHex(vectors.roots[String(size)]);
const hashes = (path) => path.map(fromHex);
const flipped = (bytes, index = 0) => {
  const copy = Uint8Array.from(bytes);
  copy[index] ^= 0x01;
  return copy;
};

test("every inclusion proof of the vectors verifies from the entry's bytes to the RFC 9162 root", async () => {
  for (const vector of vectors.inclusion) {
    const ok = await isValidInclusion({
      leafIndex: BigInt(vector.leafIndex),
      treeSize: BigInt(vector.treeSize),
      leafHash: await leafHash(entry(vector.leafIndex)),
      auditPath: hashes(vector.path),
      rootHash: root(vector.treeSize),
    });
    assert.ok(ok, `entry ${vector.leafIndex} of ${vector.treeSize}`);
  }
});

test("a tampered inclusion proof, entry, index, size or root is refused", async () => {
  for (const vector of vectors.inclusion.filter((v) => v.path.length > 0)) {
    const good = {
      leafIndex: BigInt(vector.leafIndex),
      treeSize: BigInt(vector.treeSize),
      leafHash: await leafHash(entry(vector.leafIndex)),
      auditPath: hashes(vector.path),
      rootHash: root(vector.treeSize),
    };
    const label = `entry ${vector.leafIndex} of ${vector.treeSize}`;
    const last = good.auditPath.length - 1;
    assert.equal(await isValidInclusion({ ...good, auditPath: good.auditPath.map((h, i) => (i === last ? flipped(h, 31) : h)) }), false, label);
    assert.equal(await isValidInclusion({ ...good, leafHash: await leafHash(entry(vector.leafIndex + 1)) }), false, label);
    assert.equal(await isValidInclusion({ ...good, leafIndex: good.leafIndex ^ 1n }), false, label);
    // A path one level too short for the size claimed, though it still ends at the root given.
    assert.equal(await isValidInclusion({ ...good, treeSize: good.treeSize * 2n }), false, label);
    const grown = vectors.roots[String(vector.treeSize + 1)];
    if (grown) assert.equal(await isValidInclusion({ ...good, treeSize: good.treeSize + 1n, rootHash: fromHex(grown) }), false, label);
    assert.equal(await isValidInclusion({ ...good, auditPath: good.auditPath.slice(0, last) }), false, label);
    assert.equal(await isValidInclusion({ ...good, auditPath: [...good.auditPath, good.auditPath[0]] }), false, label);
    assert.equal(await isValidInclusion({ ...good, rootHash: flipped(good.rootHash) }), false, label);
  }
  const single = { leafIndex: 0n, treeSize: 1n, leafHash: await leafHash(entry(0)), auditPath: [], rootHash: root(1) };
  assert.equal(await isValidInclusion(single), true);
  assert.equal(await isValidInclusion({ ...single, leafIndex: 1n }), false, "an index beyond the log");
  assert.equal(await isValidInclusion({ ...single, auditPath: [new Uint8Array(31)] }), false, "a hash of 31 bytes");
});

test("every consistency proof of the vectors verifies, and equal sizes need equal roots", async () => {
  for (const vector of vectors.consistency) {
    const ok = await isValidConsistency({
      firstSize: BigInt(vector.firstSize),
      secondSize: BigInt(vector.secondSize),
      firstRoot: root(vector.firstSize),
      secondRoot: root(vector.secondSize),
      path: hashes(vector.path),
    });
    assert.ok(ok, `${vector.firstSize} → ${vector.secondSize}`);
  }
  assert.equal(await isValidConsistency({ firstSize: 5n, secondSize: 5n, firstRoot: root(5), secondRoot: flipped(root(5)), path: [] }), false);
});

test("a tampered consistency proof or root, swapped sizes or a zero first size is refused", async () => {
  for (const vector of vectors.consistency.filter((v) => v.path.length > 0)) {
    const good = {
      firstSize: BigInt(vector.firstSize),
      secondSize: BigInt(vector.secondSize),
      firstRoot: root(vector.firstSize),
      secondRoot: root(vector.secondSize),
      path: hashes(vector.path),
    };
    const label = `${vector.firstSize} → ${vector.secondSize}`;
    for (let i = 0; i < good.path.length; i++) {
      assert.equal(await isValidConsistency({ ...good, path: good.path.map((h, j) => (i === j ? flipped(h, 7) : h)) }), false, `${label}, hash ${i}`);
    }
    assert.equal(await isValidConsistency({ ...good, firstRoot: flipped(good.firstRoot) }), false, label);
    assert.equal(await isValidConsistency({ ...good, secondRoot: flipped(good.secondRoot) }), false, label);
    assert.equal(await isValidConsistency({ ...good, path: good.path.slice(1) }), false, label);
    assert.equal(await isValidConsistency({ ...good, path: [...good.path, good.path[0]] }), false, label);
    assert.equal(await isValidConsistency({ ...good, firstSize: good.secondSize, secondSize: good.firstSize }), false, label);
  }
  assert.equal(await isValidConsistency({ firstSize: 0n, secondSize: 3n, firstRoot: root(1), secondRoot: root(3), path: [root(1)] }), false);
});

// --- Checkpoints and the verifier ---

const NODE_KEY = {
  keyId: vectors.nodeKey.keyId,
  publicKey: { algorithm: vectors.nodeKey.algorithm, keyBytes: fromHex(vectors.nodeKey.publicKey) },
  validFromHeight: 1n,
};
const signedCheckpoint = (vector) =>
  new SignedCheckpoint({ checkpoint: fromHex(vector.checkpoint), signature: fromHex(vector.signature), nodeKeyId: vector.nodeKeyId });
const [HONEST_3, HONEST_7, HONEST_13] = vectors.honestCheckpoints.map(signedCheckpoint);
const [FORKED_7, FORKED_13] = vectors.forkedCheckpoints.map(signedCheckpoint);

/** A node answering GetConsistencyProof from the vectors of one log (honest or forked); counts its calls. */
function nodeProving(...tables) {
  const node = {
    calls: 0,
    consistencyProof: async (first, second) => {
      node.calls++;
      for (const table of tables) {
        const found = table.find((v) => BigInt(v.firstSize) === first && BigInt(v.secondSize) === second);
        if (found) return { proof: { firstTreeSize: first, secondTreeSize: second, consistencyPath: hashes(found.path) } };
      }
      throw Object.assign(new Error("no such checkpoint"), { codeName: "INVALID_ARGUMENT" });
    },
  };
  return node;
}

async function verifierFor(node, store = memoryTrustStore(), onVerified = () => {}) {
  const verifier = new LogVerifier({ chainId: vectors.chainId, store, consistencyProof: node.consistencyProof, onVerified });
  await verifier.pinNodeKeys([NODE_KEY]);
  return verifier;
}

async function rejects(promise, kind, pattern) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof LogVerificationError, `not a LogVerificationError: ${error}`);
    assert.equal(error.kind, kind, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

test("a checkpoint signed in Python decodes to its fields and its signature covers the context-labelled bytes", async () => {
  const vector = vectors.honestCheckpoints[1];
  const decoded = Checkpoint.fromBinary(fromHex(vector.checkpoint));
  assert.equal(decoded.chainId, vectors.chainId);
  assert.equal(decoded.treeSize, 7n);
  assert.equal(decoded.blockHeight, 2n);
  assert.equal(toHex(decoded.rootHash), vectors.roots["7"]);
  assert.equal(decoded.toBinary().length, fromHex(vector.checkpoint).length);
  const message = checkpointMessage(fromHex(vector.checkpoint));
  assert.equal(toHex(message.subarray(0, 28)), `00${toHex(utf8("healthledger.v1.checkpoint"))}00`);
  const key = await crypto.subtle.importKey("raw", fromHex(vectors.nodeKey.publicKey), { name: "Ed25519" }, false, ["verify"]);
  assert.ok(await crypto.subtle.verify({ name: "Ed25519" }, key, fromHex(vector.signature), message));
});

test("given pinned node keys, a checkpoint signed by another key under the node's key id is refused", async () => {
  const verifier = await verifierFor(nodeProving(vectors.consistency));
  await rejects(verifier.checkCheckpoint(signedCheckpoint(vectors.forgedCheckpoint)), "invalid", /signature/);
  await rejects(verifier.checkCheckpoint(new SignedCheckpoint({ ...HONEST_7, signature: flipped(HONEST_7.signature, 63) })), "invalid", /signature/);
  await rejects(verifier.checkCheckpoint(new SignedCheckpoint({ ...HONEST_7, nodeKeyId: vectors.otherKey.keyId })), "invalid", /not pinned/);
  assert.equal(await verifier.lastCheckpoint(), null, "nothing unverified is remembered");
});

test("a checkpoint signed by a P-256 node key verifies too", async () => {
  const node = nodeProving(vectors.consistency);
  const verifier = new LogVerifier({ chainId: vectors.chainId, store: memoryTrustStore(), consistencyProof: node.consistencyProof });
  const key = vectors.p256NodeKey;
  await verifier.pinNodeKeys([{ keyId: key.keyId, publicKey: { algorithm: key.algorithm, keyBytes: fromHex(key.publicKey) }, validFromHeight: 1n }]);
  const checkpoint = await verifier.checkCheckpoint(signedCheckpoint(vectors.p256Checkpoint));
  assert.equal(checkpoint.treeSize, 3n);
});

test("given a device that saw 7 entries, when the node shows a rewritten log of 13, then the mismatch names both sizes and roots", async () => {
  const store = memoryTrustStore();
  const honest = await verifierFor(nodeProving(vectors.consistency), store);
  await honest.checkCheckpoint(HONEST_7);
  assert.equal((await honest.lastCheckpoint()).treeSize, 7n);

  // After a reload, the node serves the forked log and proves consistency within it.
  const forkedNode = nodeProving(vectors.forkedConsistency);
  const reloaded = await verifierFor(forkedNode, store);
  await rejects(
    reloaded.checkCheckpoint(FORKED_13),
    "forked",
    new RegExp(`saw 7 entries with root ${vectors.roots["7"].slice(0, 16)}; the node now shows 13 entries with root ${vectors.forkedCheckpoints[1].rootHash.slice(0, 16)}`),
  );
  assert.equal(forkedNode.calls, 1);
  assert.equal((await reloaded.lastCheckpoint()).treeSize, 7n, "the forked checkpoint is not remembered");
  // The same size with another root needs no proof to be caught.
  await rejects(reloaded.checkCheckpoint(FORKED_7), "forked", /saw 7 entries/);
  assert.equal(forkedNode.calls, 1);
});

test("when the honest log grows, older and newer checkpoints are accepted once proven consistent, then served from the cache", async () => {
  const node = nodeProving(vectors.consistency);
  const seen = [];
  const verifier = await verifierFor(node, memoryTrustStore(), ({ treeSize }) => seen.push(treeSize));
  await verifier.checkCheckpoint(HONEST_7);
  await verifier.checkCheckpoint(HONEST_13);
  await verifier.checkCheckpoint(HONEST_3);
  assert.deepEqual(seen, [7n, 13n]);
  assert.equal((await verifier.lastCheckpoint()).treeSize, 13n);
  assert.equal(node.calls, 2, "7 → 13 and 3 → 13");
  await verifier.checkCheckpoint(HONEST_3);
  await verifier.checkCheckpoint(HONEST_13);
  assert.equal(node.calls, 2, "checkpoints verified before need no new proof");
  // An older checkpoint of a rewritten log is caught against the newer one remembered.
  await rejects(verifier.checkCheckpoint(FORKED_7), "forked", /saw 7 entries/);
});

test("a log that was empty when first seen is a prefix of any later log, with nothing to prove", async () => {
  const node = nodeProving([]);
  const verifier = await verifierFor(node);
  assert.equal((await verifier.checkCheckpoint(signedCheckpoint(vectors.emptyCheckpoint))).treeSize, 0n);
  await verifier.checkCheckpoint(HONEST_3);
  await verifier.checkCheckpoint(signedCheckpoint(vectors.emptyCheckpoint));
  assert.equal(node.calls, 0);
  assert.equal((await verifier.lastCheckpoint()).treeSize, 3n);
});

test("a node that shrank its log and cannot prove the size this device saw is a mismatch", async () => {
  const store = memoryTrustStore();
  await (await verifierFor(nodeProving(vectors.consistency), store)).checkCheckpoint(HONEST_13);
  const shrunk = await verifierFor(nodeProving([]), store);
  await rejects(shrunk.checkCheckpoint(HONEST_7), "forked", /saw 13 entries/);
  // A proof between other sizes than asked is refused too.
  const evasive = await verifierFor({ consistencyProof: async () => ({ proof: { firstTreeSize: 3n, secondTreeSize: 13n, consistencyPath: [] } }) }, store);
  await rejects(evasive.checkCheckpoint(HONEST_7), "invalid", /other sizes/);
});

test("pinned node keys cannot be swapped, and a rotation is taken only for blocks after the last one seen", async () => {
  const store = memoryTrustStore();
  const verifier = await verifierFor(nodeProving(vectors.consistency), store);
  await verifier.checkCheckpoint(HONEST_7);
  const other = { keyId: vectors.otherKey.keyId, publicKey: { algorithm: 1, keyBytes: fromHex(vectors.otherKey.publicKey) } };
  const later = new LogVerifier({ chainId: vectors.chainId, store, consistencyProof: async () => assert.fail() });
  await rejects(later.pinNodeKeys([NODE_KEY, { ...other, validFromHeight: 2n }]), "forked", /already saw/);
  await rejects(later.pinNodeKeys([{ ...NODE_KEY, publicKey: other.publicKey }]), "invalid", /does not match its own key bytes/);
  await rejects(later.pinNodeKeys([{ ...NODE_KEY, validFromHeight: 5n }]), "forked", /not the one this device pinned/);
  await later.pinNodeKeys([{ ...NODE_KEY, validUntilHeight: 3n }, { ...other, validFromHeight: 4n }]);
  const pinned = (await store.load()).nodeKeys;
  assert.deepEqual(pinned.map((key) => [key.keyId, key.validFromHeight, key.validUntilHeight]), [
    [NODE_KEY.keyId, "1", "3"],
    [other.keyId, "4", null],
  ]);
});

test("a checkpoint of another chain is refused", async () => {
  const verifier = new LogVerifier({ chainId: "another-chain", store: memoryTrustStore(), consistencyProof: async () => assert.fail() });
  await verifier.pinNodeKeys([NODE_KEY]);
  await rejects(verifier.checkCheckpoint(HONEST_3), "forked", /chain "proof-vectors"/);
});

test("an entry proven against its block's or a later checkpoint verifies; an earlier checkpoint, a changed entry or a proof for another index does not", async () => {
  const verifier = await verifierFor(nodeProving(vectors.consistency));
  const vector = vectors.inclusion.find((v) => v.treeSize === 7 && v.leafIndex === 5);
  const proof = { inclusion: { leafIndex: 5n, treeSize: 7n, auditPath: hashes(vector.path) }, checkpoint: HONEST_7 };
  const checkpoint = await verifier.verifyEntry(entry(5), proof, { entryIndex: 5n, blockHeight: 2n });
  assert.equal(checkpoint.treeSize, 7n);
  await rejects(verifier.verifyEntry(utf8("rewritten entry 5"), proof, { entryIndex: 5n, blockHeight: 2n }), "invalid", /Entry 5 is not in the log/);
  await rejects(verifier.verifyEntry(entry(5), proof, { entryIndex: 4n, blockHeight: 2n }), "invalid", /a proof for entry 5/);
  await rejects(verifier.verifyEntry(entry(5), proof, { entryIndex: 5n, blockHeight: 3n }), "invalid", /block 2, before its block 3/);
  // A replayed event is proven against a later checkpoint than its block's: that is accepted.
  assert.equal((await verifier.verifyEntry(entry(5), proof, { entryIndex: 5n, blockHeight: 1n })).treeSize, 7n);
  await rejects(verifier.verifyEntry(entry(5), { inclusion: proof.inclusion }, { entryIndex: 5n }), "invalid", /without a proof/);
  const wrongSize = { inclusion: { ...proof.inclusion, treeSize: 13n }, checkpoint: HONEST_7 };
  await rejects(verifier.verifyEntry(entry(5), wrongSize, { entryIndex: 5n }), "invalid", /against 13 entries/);
});

// --- Receipts and audit events: one-entry logs signed here by a node key made for the test ---

async function oneEntryLog(entryBytes) {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const keyBytes = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const keyId = toHex(await sha256(keyBytes));
  // A one-leaf tree's root is the leaf hash, written out here rather than taken from the module under test.
  const rootHash = await sha256(concatBytes(Uint8Array.of(0), entryBytes));
  const checkpoint = new Checkpoint({ chainId: "receipts", treeSize: 1n, rootHash, timeUnixMs: 1n, blockHeight: 1n }).toBinary();
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, checkpointMessage(checkpoint)));
  const verifier = new LogVerifier({ chainId: "receipts", store: memoryTrustStore(), consistencyProof: async () => assert.fail() });
  await verifier.pinNodeKeys([{ keyId, publicKey: { algorithm: 1, keyBytes }, validFromHeight: 1n }]);
  const proof = { inclusion: { leafIndex: 0n, treeSize: 1n, auditPath: [] }, checkpoint: new SignedCheckpoint({ checkpoint, signature, nodeKeyId: keyId }) };
  return { verifier, proof };
}

test("a receipt whose ledger entry holds exactly the transaction sent verifies; one holding another transaction does not", async () => {
  const sent = new SignedTransaction({ body: utf8("body"), signature: new Uint8Array(64).fill(7), keyId: "k" });
  const sentBytes = sent.toBinary();
  const entryBytes = new LedgerEntry({ salt: new Uint8Array(16).fill(1), entry: { case: "transaction", value: sent } }).toBinary();
  const { verifier, proof } = await oneEntryLog(entryBytes);
  const receipt = new TransactionReceipt({ transactionId: "ab".repeat(32), blockHeight: 1n, entryIndex: 0n, ledgerEntry: entryBytes, proof });
  assert.equal((await verifier.verifyReceipt(receipt, sentBytes)).treeSize, 1n);

  const other = new SignedTransaction({ ...sent, signature: new Uint8Array(64).fill(8) }).toBinary();
  await rejects(verifier.verifyReceipt(receipt, other), "invalid", /does not hold the transaction you signed/);
  await rejects(verifier.verifyReceipt(new TransactionReceipt({ ...receipt, ledgerEntry: flipped(entryBytes, entryBytes.length - 1) }), sentBytes), "invalid");
  await rejects(verifier.verifyReceipt(new TransactionReceipt({ ...receipt, proof: undefined }), sentBytes), "invalid", /without a proof/);
  // A second copy of the transaction field would let a decoder merge something else in: refused.
  assert.equal(singleBytesField(concatBytes(entryBytes, entryBytes), 2), null);
  assert.deepEqual(singleBytesField(entryBytes, 2), sentBytes);
});

test("an audit event is shown as decoded from its proven entry, and a tampered entry is refused", async () => {
  const event = new AuditEvent({ sequence: 4n, actor: "hl1someone", patient: "hl1patient", entryIndex: 0n, blockHeight: 1n });
  const entryBytes = new LedgerEntry({ salt: new Uint8Array(16), entry: { case: "auditEvent", value: event } }).toBinary();
  const { verifier, proof } = await oneEntryLog(entryBytes);
  const shown = await verifier.verifyAuditEvent(new LoggedAuditEvent({ event: new AuditEvent({ ...event, actor: "hl1decoy" }), ledgerEntry: entryBytes, proof }));
  assert.equal(shown.actor, "hl1someone", "the proven entry wins over the convenience copy");
  const tampered = new LedgerEntry({ salt: new Uint8Array(16), entry: { case: "auditEvent", value: new AuditEvent({ ...event, actor: "hl1other" }) } }).toBinary();
  await rejects(verifier.verifyAuditEvent(new LoggedAuditEvent({ ledgerEntry: tampered, proof })), "invalid", /not in the log/);
  await rejects(verifier.verifyAuditEvent(new LoggedAuditEvent({ ledgerEntry: entryBytes })), "invalid", /without a proof/);
});
