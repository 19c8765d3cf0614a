// The encrypted key backup: a round trip restores a key that signs for the same public key, and a wrong
// passphrase, a relabelled principal or a weakened KDF are refused.
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { BackupError, decryptBackup, encryptBackup, parseBackup } from "../src/backup.js";
import { bytesEqual } from "../src/bytes.js";
import { principalIdOf } from "../src/principal.js";

const P256 = { name: "ECDSA", namedCurve: "P-256" };

async function freshKey() {
  const pair = await crypto.subtle.generateKey(P256, true, ["sign", "verify"]);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { pair, publicKey, pkcs8, principalId: await principalIdOf(publicKey) };
}

test("given a backup made with a passphrase, the same passphrase restores a key that signs for the same public key", async () => {
  const key = await freshKey();
  const text = await encryptBackup({ ...key, passphrase: "correct horse battery" });
  const backup = JSON.parse(text);
  assert.equal(backup.format, "healthledger-key-backup");
  assert.equal(backup.version, 1);
  assert.equal(backup.kdf.iterations, 600000);
  assert.ok(!text.includes(Buffer.from(key.pkcs8).toString("base64")), "the private key must not be in clear");
  const restored = await decryptBackup(text, "correct horse battery");
  assert.equal(restored.principalId, key.principalId);
  assert.ok(bytesEqual(restored.publicKey, key.publicKey));
  const signer = await crypto.subtle.importKey("pkcs8", restored.pkcs8, P256, false, ["sign"]);
  const message = new TextEncoder().encode("probe");
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signer, message);
  assert.equal(signature.byteLength, 64, "WebCrypto signs P-256 as raw r || s");
  assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key.pair.publicKey, signature, message));
});

test("when the passphrase is wrong or the principal id was changed, the backup does not open", async () => {
  const key = await freshKey();
  const text = await encryptBackup({ ...key, passphrase: "correct horse battery" });
  await assert.rejects(decryptBackup(text, "wrong horse battery"), BackupError);
  const other = await freshKey();
  const relabelled = JSON.stringify({ ...JSON.parse(text), principalId: other.principalId });
  await assert.rejects(decryptBackup(relabelled, "correct horse battery"), /Wrong passphrase, or the backup file was changed/);
});

test("when a file is not a backup, or claims too few iterations, it is refused naming the problem", async () => {
  assert.throws(() => parseBackup("not json"), /not JSON/);
  assert.throws(() => parseBackup("{}"), /not a HealthLedger key backup/);
  const key = await freshKey();
  const backup = JSON.parse(await encryptBackup({ ...key, passphrase: "correct horse battery" }));
  assert.throws(() => parseBackup(JSON.stringify({ ...backup, version: 2 })), /version 2/);
  assert.throws(() => parseBackup(JSON.stringify({ ...backup, kdf: { ...backup.kdf, iterations: 1000 } })), /1000 PBKDF2 iterations/);
  assert.throws(() => parseBackup(JSON.stringify({ ...backup, ciphertext: 7 })), /damaged/);
});
