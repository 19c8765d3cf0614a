// One-line messages for what went wrong, naming the problem and what to do (docs/MOBILE.md 2.8). Works on
// the gRPC-Web runtime's GrpcError (by its codeName) and on the page's own errors.

const ADVICE = {
  PERMISSION_DENIED: "Not allowed",
  UNAUTHENTICATED: "The node did not accept your sign-in; reload the page to sign in again",
  FAILED_PRECONDITION: "The ledger changed meanwhile; reload the page and try again",
  UNAVAILABLE: "The node is not reachable right now; check your connection and try again",
  DEADLINE_EXCEEDED: "The node took too long to answer; try again",
  INVALID_ARGUMENT: "The node refused the request as malformed",
  NOT_FOUND: "Not found on the ledger",
  ALREADY_EXISTS: "This was already done",
  RESOURCE_EXHAUSTED: "A size or rate limit was hit; wait a moment and try again",
  UNIMPLEMENTED: "This node does not offer that call; it may run an older version",
  DATA_LOSS: "Stored content no longer matches its hash; tell the node's operator",
  INTERNAL: "The node hit an internal error; tell the node's operator",
};

function sentence(text) {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** The one-line message shown for `error`. */
export function describeError(error) {
  if (error?.codeName !== undefined && error.codeName in ADVICE) {
    const detail = error.message ? `: ${error.message}` : "";
    return sentence(`${ADVICE[error.codeName]}${detail}`);
  }
  if (error?.name === "AbortError") return "The request was cancelled.";
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) {
    return "Cannot reach the node; check your connection and try again.";
  }
  return sentence(error?.message ?? String(error));
}

/** The one-line message shown when a FHIR Consent cannot be imported: the node's reason names the Consent's element
 * that no grant can state, which is what whoever drafted it needs to hear. */
export function describeConsentError(error) {
  if (error?.codeName === "INVALID_ARGUMENT") {
    return sentence(`This consent cannot be imported as it is; ask whoever drafted it to fix ${error.message}`);
  }
  if (error?.codeName === "RESOURCE_EXHAUSTED" && /consent_json/.test(error.message ?? "")) {
    return "This file is too large to be a consent (the limit is 1 MiB); choose the consent's own file.";
  }
  return describeError(error);
}

/** Whether a transaction whose call failed this way may have committed, so the same bytes must be resent. */
export function outcomeUnknown(error) {
  return (
    error?.codeName === "UNAVAILABLE" ||
    error?.codeName === "DEADLINE_EXCEEDED" ||
    (error instanceof TypeError && /fetch|network/i.test(error.message))
  );
}

/** The alert shown when the node's log fails a check (a LogVerificationError of proofs.js): what was found, and
 * that the page now shows nothing more from this node. */
export function describeTrustFailure(error) {
  const after =
    "This page shows nothing more from this node. Do not rely on it, and tell whoever runs it; reload to check again.";
  if (error?.kind === "forked") return `${sentence(error.message)} ${after}`;
  if (error?.kind === "unsupported") return sentence(error.message);
  return `The node sent something its own signed log does not back: ${sentence(error?.message ?? String(error))} ${after}`;
}
