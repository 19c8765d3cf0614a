// Names the patient gave to principal ids, kept only in this browser: the ledger knows ids, not people.

import { shortPrincipalId } from "./principal.js";

const STORAGE_KEY = "healthledger.names";

function load() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}");
  } catch {
    return {};
  }
}

/** The name given to a principal id, or undefined. */
export function nameOf(principalId) {
  return load()[principalId];
}

/** Remembers (or, with an empty name, forgets) the name of a principal id. */
export function rememberName(principalId, name) {
  const names = load();
  if (name.trim() === "") delete names[principalId];
  else names[principalId] = name.trim();
  localStorage.setItem(STORAGE_KEY, JSON.stringify(names));
}

/** How a principal is shown: "You", the name given to it, or its shortened id. */
export function displayName(principalId, selfId) {
  if (principalId === selfId) return "You";
  if (principalId === "*") return "Everyone";
  return nameOf(principalId) ?? shortPrincipalId(principalId);
}
