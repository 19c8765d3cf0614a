// The encrypted key backup (clients/web/README.md, "Key backup format"): the PKCS#8 private key encrypted
// with AES-256-GCM under a key derived from a passphrase by PBKDF2-SHA-256. Version 1 is a small JSON object;
// the principal id and public key ride along in clear and are bound to the ciphertext as associated data,
// so a backup cannot be relabelled as another principal's.

import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from "./bytes.js";

/** The `format` value every backup carries. */
export const BACKUP_FORMAT = "healthledger-key-backup";
/** The backup version this page writes and reads. */
export const BACKUP_VERSION = 1;
/** PBKDF2 iterations for new backups (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
export const BACKUP_ITERATIONS = 600000;
/** Fewest iterations a backup may claim; lower values would make a stolen file cheap to brute-force. */
export const MIN_BACKUP_ITERATIONS = 600000;
/** Shortest passphrase the page accepts. */
export const MIN_PASSPHRASE_LENGTH = 10;

/** A backup that cannot be opened: wrong passphrase, damaged file or unknown format. */
export class BackupError extends Error {
  /** A backup error with a one-line message naming the problem and what to do. */
  constructor(message) {
    super(message);
    this.name = "BackupError";
  }
}

function associatedData(principalId, publicKeyHex) {
  return utf8(`${BACKUP_FORMAT}/${BACKUP_VERSION}\n${principalId}\n${publicKeyHex}`);
}

async function wrappingKey(passphrase, salt, iterations, usage) {
  const material = await crypto.subtle.importKey("raw", utf8(passphrase.normalize("NFC")), "PBKDF2", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

/** The backup JSON text of a PKCS#8 private key, encrypted under `passphrase`. */
export async function encryptBackup({ pkcs8, principalId, publicKey, passphrase, iterations = BACKUP_ITERATIONS }) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const publicKeyHex = toHex(publicKey);
  const key = await wrappingKey(passphrase, salt, iterations, "encrypt");
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: associatedData(principalId, publicKeyHex) },
    key,
    pkcs8,
  );
  const backup = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    algorithm: "ECDSA-P256",
    principalId,
    publicKey: publicKeyHex,
    kdf: { name: "PBKDF2-SHA-256", iterations, salt: toBase64(salt) },
    cipher: { name: "AES-256-GCM", nonce: toBase64(nonce) },
    ciphertext: toBase64(new Uint8Array(ciphertext)),
  };
  return `${JSON.stringify(backup, null, 2)}\n`;
}

/** The fields of a backup's JSON text, checked; throws BackupError naming what is wrong. */
export function parseBackup(text) {
  let backup;
  try {
    backup = JSON.parse(typeof text === "string" ? text : fromUtf8(text));
  } catch {
    throw new BackupError("This file is not a key backup (it is not JSON). Choose the .json file you exported.");
  }
  if (backup === null || typeof backup !== "object" || backup.format !== BACKUP_FORMAT) {
    throw new BackupError("This file is not a HealthLedger key backup. Choose the file you exported.");
  }
  if (backup.version !== BACKUP_VERSION) {
    throw new BackupError(`This backup has version ${backup.version}; this page reads version ${BACKUP_VERSION}.`);
  }
  const fields = [
    backup.algorithm === "ECDSA-P256",
    typeof backup.principalId === "string",
    typeof backup.publicKey === "string" && /^04[0-9a-f]{128}$/.test(backup.publicKey),
    backup.kdf?.name === "PBKDF2-SHA-256" && Number.isInteger(backup.kdf.iterations),
    typeof backup.kdf?.salt === "string",
    backup.cipher?.name === "AES-256-GCM" && typeof backup.cipher.nonce === "string",
    typeof backup.ciphertext === "string",
  ];
  if (fields.includes(false)) throw new BackupError("This key backup is damaged: a field is missing or malformed.");
  if (backup.kdf.iterations < MIN_BACKUP_ITERATIONS || backup.kdf.iterations > 10000000) {
    throw new BackupError(`This key backup claims ${backup.kdf.iterations} PBKDF2 iterations, outside the safe range.`);
  }
  return backup;
}

/** The PKCS#8 bytes, principal id and public key of a backup; BackupError for a wrong passphrase. */
export async function decryptBackup(text, passphrase) {
  const backup = parseBackup(text);
  const key = await wrappingKey(passphrase, fromBase64(backup.kdf.salt), backup.kdf.iterations, "decrypt");
  let pkcs8;
  try {
    pkcs8 = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: fromBase64(backup.cipher.nonce),
        additionalData: associatedData(backup.principalId, backup.publicKey),
      },
      key,
      fromBase64(backup.ciphertext),
    );
  } catch {
    throw new BackupError("Wrong passphrase, or the backup file was changed. Check the passphrase and try again.");
  }
  return { pkcs8: new Uint8Array(pkcs8), principalId: backup.principalId, publicKey: fromHex(backup.publicKey) };
}
