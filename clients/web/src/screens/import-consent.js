// "Import a consent (FHIR)" on the give-access screen: a Consent drafted by a clinic or hospital, read by the node
// (Ledger.ProposeGrantsFromConsent) as the grants it states, shown one card per grant, and signed as they are, in
// the node's order (refusals first, so access is never open without its exceptions).

import { byId, h, showMessage, withBusy } from "../dom.js";
import { describeConsentError, describeError } from "../errors.js";
import { displayName } from "../names.js";
import { Effect } from "../../generated/healthledger/v1/policy.js";
import {
  actionLabel,
  categoryLabel,
  formatTime,
  isoTime,
  purposeLabel,
  recordDatesPhrase,
} from "../vocabulary.js";

/** The largest Consent file the node reads (Ledger.ProposeGrantsFromConsent's limit). */
export const LARGEST_CONSENT_BYTES = 1048576;

/** Why these proposals must not be signed by `principalId`, or null: every grant must be about this patient's
 * own records, as only the patient signs here. */
export function proposalProblem(grants, principalId) {
  if (grants.length === 0) return "This consent states no access to give or refuse.";
  const other = grants.find((grant) => grant.patient !== principalId);
  if (other === undefined) return null;
  return `This consent is for another patient (${other.patient}), not you; import only a consent made out to you.`;
}

function time(unixMs) {
  return h("time", { datetime: isoTime(unixMs) }, formatTime(unixMs));
}

/** The import panel; `onGranted()` runs after the grants of a consent are committed. */
export class ConsentImport {
  /** A panel that imports consents for `ledger`'s patient. */
  constructor(ledger, onGranted) {
    this.ledger = ledger;
    this.onGranted = onGranted;
    this.proposals = [];
  }

  /** Wires the file input and the two buttons. */
  setUp() {
    byId("consent-file").addEventListener("change", () => this.read());
    byId("consent-sign").addEventListener("click", () => this.sign());
    byId("consent-cancel").addEventListener("click", () => {
      this.clear();
      byId("consent-file").focus();
    });
  }

  clear() {
    this.proposals = [];
    byId("consent-file").value = "";
    byId("consent-grants").replaceChildren();
    byId("consent-proposal").hidden = true;
  }

  async read() {
    const file = byId("consent-file").files[0];
    showMessage(byId("consent-error"), "");
    showMessage(byId("consent-result"), "");
    byId("consent-proposal").hidden = true;
    byId("consent-file").setAttribute("aria-invalid", "false");
    if (file === undefined) return;
    if (file.size > LARGEST_CONSENT_BYTES) {
      this.refuse(`${file.name} is ${file.size} bytes; a consent file is at most 1 MiB.`);
      return;
    }
    let grants;
    try {
      grants = await this.ledger.proposeGrantsFromConsent(new Uint8Array(await file.arrayBuffer()));
    } catch (error) {
      this.refuse(describeConsentError(error));
      return;
    }
    const problem = proposalProblem(grants, this.ledger.principalId);
    if (problem !== null) {
      this.refuse(problem);
      return;
    }
    this.proposals = grants;
    const permits = grants.filter((grant) => grant.effect !== Effect.EFFECT_DENY).length;
    const denies = grants.length - permits;
    const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
    byId("consent-summary").textContent =
      `${file.name} states ${count(grants.length, "grant", "grants")}: ${count(permits, "gives", "give")} access` +
      (denies > 0 ? `, ${count(denies, "refuses", "refuse")} it (refusals are signed first)` : "") +
      ". Check each card; nothing is signed until you choose “Sign and give access”.";
    byId("consent-grants").replaceChildren(...grants.map((grant, index) => this.card(grant, index)));
    byId("consent-proposal").hidden = false;
    byId("consent-proposal-title").focus();
  }

  refuse(message) {
    this.proposals = [];
    byId("consent-grants").replaceChildren();
    showMessage(byId("consent-error"), message);
    byId("consent-file").setAttribute("aria-invalid", "true");
  }

  card(grant, index) {
    const deny = grant.effect === Effect.EFFECT_DENY;
    const who = displayName(grant.grantee, this.ledger.principalId);
    const from = grant.validFromUnixMs > 0n ? time(grant.validFromUnixMs) : "When you sign";
    const until = grant.validUntilUnixMs === undefined ? "You revoke it" : time(grant.validUntilUnixMs);
    return h(
      "li",
      { class: `card proposal ${deny ? "deny" : "permit"}`, "data-effect": deny ? "deny" : "permit", "data-grantee": grant.grantee },
      h("h3", {}, `${index + 1}. ${deny ? "Refuse" : "Give access"}: ${who}`),
      grant.grantee === "*" ? null : h("p", {}, h("code", { class: "wrap" }, grant.grantee)),
      h("p", { class: "grant-categories" }, grant.categories.map((c) => h("span", { class: "chip" }, categoryLabel(c)))),
      h(
        "dl",
        { class: "facts compact" },
        h("dt", {}, deny ? "May not" : "May"),
        h("dd", {}, grant.actions.map(actionLabel).join(", ")),
        h("dt", {}, "Why"),
        h("dd", {}, grant.purposes.map(purposeLabel).join(", ")),
        h("dt", {}, "From"),
        h("dd", {}, from),
        h("dt", {}, "Until"),
        h("dd", {}, until),
        h("dt", {}, "Records dated"),
        h("dd", {}, recordDatesPhrase(grant.recordDateRange)),
        grant.note ? [h("dt", {}, "Note"), h("dd", {}, grant.note)] : null,
        grant.delegationGrantId !== undefined
          ? [h("dt", {}, "Under delegation"), h("dd", {}, h("code", { class: "wrap" }, grant.delegationGrantId))]
          : null,
      ),
    );
  }

  /** Signs and submits every proposal in the node's order; stops at the first refusal, saying how many went in. */
  async sign() {
    const grants = this.proposals;
    if (grants.length === 0) return;
    const cancel = byId("consent-cancel");
    cancel.disabled = true;
    const given = [];
    await withBusy(byId("consent-sign"), byId("consent-error"), async () => {
      try {
        for (const grant of grants) given.push(await this.ledger.submitGrant(grant));
      } catch (error) {
        if (given.length > 0) {
          // What went in stays in; only the rest is left to sign again.
          this.proposals = grants.slice(given.length);
          [...byId("consent-grants").children].slice(0, given.length).forEach((card) => card.remove());
          await this.onGranted();
          throw new Error(`${given.length} of ${grants.length} grants were given before this one failed: ${describeError(error)}`);
        }
        throw error;
      } finally {
        cancel.disabled = false;
      }
      this.clear();
      const result = byId("consent-result");
      showMessage(result, `Consent signed: ${given.length} ${given.length === 1 ? "grant" : "grants"} given. Grant ids ${given.join(", ")}.`);
      result.dataset.grantIds = given.join(" ");
      result.focus();
      await this.onGranted();
    }, describeError);
  }
}
