// "Me": the patient's principal id as text and QR code, the key's facts, and the backup export.

import { byId } from "../dom.js";
import { qrSvg } from "../qr-svg.js";

/** Fills the identity screen for `identity` on chain `chainId`. */
export function showIdentity(identity, chainId) {
  byId("principal-id").textContent = identity.principalId;
  byId("key-id").textContent = identity.keyId;
  byId("chain-id").textContent = chainId ?? "—";
  const qr = byId("identity-qr");
  qr.replaceChildren(qrSvg(identity.principalId));
  qr.setAttribute("aria-label", `QR code of your principal id ${identity.principalId}`);
}

/** Wires the copy and export buttons. */
export function setUpIdentity(getIdentity) {
  byId("copy-principal-id").addEventListener("click", async () => {
    const status = byId("copy-status");
    try {
      await navigator.clipboard.writeText(getIdentity().principalId);
      status.textContent = "Copied.";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(byId("principal-id"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = "Selected: copy it with your device's copy command.";
    }
  });
  byId("export-backup").addEventListener("click", () => {
    const identity = getIdentity();
    const url = URL.createObjectURL(new Blob([identity.backup], { type: "application/json" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `healthledger-key-${identity.principalId}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
}
