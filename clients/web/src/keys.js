// The patient's signing key: ECDSA P-256 made by WebCrypto. Its PKCS#8 form exists only while it is
// encrypted into the backup; after that the page keeps a non-extractable CryptoKey, so neither the page's
// scripts nor the server can ever read the private key.

import { utf8 } from "./bytes.js";
import { decryptBackup, encryptBackup } from "./backup.js";
import { keyIdOf, principalIdOf, principalIdProblem } from "./principal.js";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
const SIGNATURE = { name: "ECDSA", hash: "SHA-256" };

/** KeyAlgorithm.KEY_ALGORITHM_ECDSA_P256 of identity.proto. */
export const KEY_ALGORITHM_ECDSA_P256 = 2;

async function identityRecord({ privateKey, publicKey, principalId, backup, source }) {
  return { privateKey, publicKey, principalId, keyId: await keyIdOf(publicKey), backup, source, createdAt: Date.now() };
}

/** A new identity and its encrypted backup text. The key is generated extractable only so that its PKCS#8 can be
 * encrypted into the backup here; what the page keeps is a non-extractable re-import, and the plaintext copy is
 * zeroed, so the only exported copy is the encrypted one. */
export async function createIdentity(passphrase) {
  const pair = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const principalId = await principalIdOf(publicKey);
  try {
    const backup = await encryptBackup({ pkcs8, principalId, publicKey, passphrase });
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, false, ["sign"]);
    return identityRecord({ privateKey, publicKey, principalId, backup, source: "created" });
  } finally {
    pkcs8.fill(0);
  }
}

/** The identity in a backup file's text, opened with its passphrase; the key is checked against the stated
 * public key by a test signature before it is accepted. */
export async function restoreIdentity(backupText, passphrase) {
  const { pkcs8, principalId, publicKey } = await decryptBackup(backupText, passphrase);
  try {
    const problem = principalIdProblem(principalId);
    if (problem !== null) throw new Error(`The backup's principal id ${problem}.`);
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, false, ["sign"]);
    const verifier = await crypto.subtle.importKey("raw", publicKey, ALGORITHM, false, ["verify"]);
    const probe = utf8("healthledger key backup check");
    const signature = await crypto.subtle.sign(SIGNATURE, privateKey, probe);
    if (!(await crypto.subtle.verify(SIGNATURE, verifier, signature, probe))) {
      throw new Error("The backup's private key does not match its public key: the file is damaged.");
    }
    return identityRecord({ privateKey, publicKey, principalId, backup: backupText, source: "restored" });
  } finally {
    pkcs8.fill(0);
  }
}

/** Signature of `message` by the identity's key: 64 bytes r || s, the ledger's P-256 format as is. */
export async function sign(identity, message) {
  return new Uint8Array(await crypto.subtle.sign(SIGNATURE, identity.privateKey, message));
}
