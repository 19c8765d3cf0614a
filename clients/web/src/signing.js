// What the patient's key signs (identity.proto, docs/MOBILE.md 2.3–2.4): transaction bodies as their exact
// bytes, and context-labelled messages for sessions. No I/O and no ledger calls here.

import { concatBytes, sha256, toHex, utf8 } from "./bytes.js";

/** Context of the CreateSession signature. */
export const SESSION_CONTEXT = "healthledger.v1.session";
/** Largest transaction body the node takes. */
export const MAX_BODY_BYTES = 65536;

/** 0x00 || ASCII(context) || 0x00 || payload: what every signature other than a transaction's covers. */
export function contextLabelled(context, payload) {
  return concatBytes(Uint8Array.of(0), utf8(context), Uint8Array.of(0), payload);
}

/** The message a CreateSession signature covers. */
export function sessionMessage(chainId, principalId, challenge) {
  return contextLabelled(
    SESSION_CONTEXT,
    concatBytes(utf8(chainId), Uint8Array.of(0), utf8(principalId), Uint8Array.of(0), challenge),
  );
}

/** Transaction id: lowercase hex SHA-256 of the body bytes; also the id of the grant or record it creates. */
export async function transactionId(bodyBytes) {
  return toHex(await sha256(bodyBytes));
}
