// Principal ids and key ids (identity.proto): Bech32m (BIP-350) under "hl" of the first 20 bytes of
// SHA-256 over a principal's first public key, and lowercase hex SHA-256 of a key.

import { sha256, toHex } from "./bytes.js";

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32M_CONSTANT = 0x2bc830a3;
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

/** The human-readable part of every principal id. */
export const PRINCIPAL_HRP = "hl";
/** Characters in a principal id: "hl1", 32 data characters and a 6-character checksum. */
export const PRINCIPAL_ID_LENGTH = 41;
const PAYLOAD_BYTES = 20;

function polymod(values) {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = (((checksum & 0x1ffffff) << 5) ^ value) >>> 0;
    for (let bit = 0; bit < 5; bit++) {
      if ((top >>> bit) & 1) checksum = (checksum ^ GENERATOR[bit]) >>> 0;
    }
  }
  return checksum;
}

function expandHrp(hrp) {
  const high = [...hrp].map((c) => c.charCodeAt(0) >> 5);
  const low = [...hrp].map((c) => c.charCodeAt(0) & 31);
  return [...high, 0, ...low];
}

function convertBits(values, fromBits, toBits, pad) {
  let accumulator = 0;
  let bits = 0;
  const result = [];
  const max = (1 << toBits) - 1;
  for (const value of values) {
    accumulator = (accumulator << fromBits) | value;
    bits += fromBits;
    while (bits >= toBits) {
      bits -= toBits;
      result.push((accumulator >> bits) & max);
    }
    accumulator &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) result.push((accumulator << (toBits - bits)) & max);
  } else if (bits >= fromBits || ((accumulator << (toBits - bits)) & max) !== 0) {
    throw new Error("non-zero padding");
  }
  return result;
}

/** The Bech32m string of `payload` bytes under `hrp`. */
export function bech32mEncode(hrp, payload) {
  const data = convertBits(payload, 8, 5, true);
  const mod = (polymod([...expandHrp(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONSTANT) >>> 0;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...checksum].map((v) => CHARSET[v]).join("")}`;
}

/** Key id: lowercase hex SHA-256 of the raw public key bytes (64 characters). */
export async function keyIdOf(keyBytes) {
  return toHex(await sha256(keyBytes));
}

/** Principal id of a principal whose first public key has these raw bytes. */
export async function principalIdOf(firstKeyBytes) {
  return bech32mEncode(PRINCIPAL_HRP, (await sha256(firstKeyBytes)).subarray(0, PAYLOAD_BYTES));
}

/** Why `text` is not a principal id the node accepts, or null when it is one. */
export function principalIdProblem(text) {
  if (text.length === 0) return "is empty";
  if (text !== text.toLowerCase()) return "must be lowercase";
  if (!text.startsWith("hl1")) return 'must start with "hl1"';
  if (text.length !== PRINCIPAL_ID_LENGTH) {
    return `has ${text.length} characters, a principal id has ${PRINCIPAL_ID_LENGTH}`;
  }
  const data = text.slice(3);
  const bad = [...data].find((c) => !CHARSET.includes(c));
  if (bad !== undefined) return `contains "${bad}", which is not a principal id character`;
  const values = [...data].map((c) => CHARSET.indexOf(c));
  if (polymod([...expandHrp(PRINCIPAL_HRP), ...values]) !== BECH32M_CONSTANT) {
    return "has a bad checksum (a typo?)";
  }
  try {
    if (convertBits(values.slice(0, -6), 5, 8, false).length !== PAYLOAD_BYTES) return "encodes the wrong length";
  } catch {
    return "has bad padding bits";
  }
  return null;
}

/** The principal id in `text` (surrounding spaces removed); throws an Error saying what is wrong. */
export function parsePrincipalId(text) {
  const trimmed = text.trim();
  const problem = principalIdProblem(trimmed);
  if (problem !== null) throw new Error(`This principal id ${problem}.`);
  return trimmed;
}

/** A short form of a principal id for narrow layouts: the start and the checksum end. */
export function shortPrincipalId(id) {
  return id.length === PRINCIPAL_ID_LENGTH ? `${id.slice(0, 9)}…${id.slice(-6)}` : id;
}
