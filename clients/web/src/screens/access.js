// "Who can see what": the patient's active grants, one card per person, each with a revoke button that asks
// for confirmation first.

import { byId, h, showMessage } from "../dom.js";
import { describeError } from "../errors.js";
import { displayName } from "../names.js";
import { Effect } from "../../generated/healthledger/v1/policy.js";
import {
  actionLabel,
  categoryLabel,
  formatTime,
  grantStateLabel,
  grantedVerbs,
  isoTime,
  purposeLabel,
} from "../vocabulary.js";

/** The access screen: `refresh()` reloads the grants from the ledger. */
export class AccessScreen {
  /** A screen listing the grants of `ledger`'s patient; `report` shows page-level notices and errors. */
  constructor(ledger, report) {
    this.ledger = ledger;
    this.report = report;
    this.grants = [];
    this.dialog = byId("revoke-dialog");
  }

  /** Reloads the active grants and redraws the list. */
  async refresh() {
    this.grants = await this.ledger.listGrants();
    this.render();
  }

  /** The principal ids that currently hold a grant. */
  grantees() {
    return [...new Set(this.grants.map((record) => record.grant.grantee))];
  }

  render() {
    const list = byId("access-list");
    const byGrantee = new Map();
    for (const record of this.grants) {
      const key = record.grant.grantee;
      byGrantee.set(key, [...(byGrantee.get(key) ?? []), record]);
    }
    list.replaceChildren(
      ...[...byGrantee].map(([grantee, records]) =>
        h(
          "li",
          { class: "card person", "data-grantee": grantee },
          h("h2", {}, displayName(grantee, this.ledger.principalId)),
          h("p", {}, h("code", { class: "wrap" }, grantee)),
          h("ul", { class: "grant-list" }, records.map((record) => this.grantItem(record))),
        ),
      ),
    );
    byId("access-empty").hidden = this.grants.length > 0;
  }

  grantItem(record) {
    const grant = record.grant;
    const until =
      grant.validUntilUnixMs === undefined
        ? "You revoke it"
        : h("time", { datetime: isoTime(grant.validUntilUnixMs) }, formatTime(grant.validUntilUnixMs));
    // A DENY grant (an exception a consent carved out) must not read as access given.
    const deny = grant.effect === Effect.EFFECT_DENY;
    return h(
      "li",
      { class: deny ? "grant deny" : "grant", "data-grant-id": record.grantId, "data-effect": deny ? "deny" : "permit" },
      h("p", { class: "grant-categories" }, grant.categories.map((c) => h("span", { class: "chip" }, categoryLabel(c)))),
      h(
        "dl",
        { class: "facts compact" },
        h("dt", {}, deny ? "May not" : "May"),
        h("dd", {}, grant.actions.map(actionLabel).join(", ")),
        h("dt", {}, "Why"),
        h("dd", {}, grant.purposes.map(purposeLabel).join(", ")),
        h("dt", {}, "Until"),
        h("dd", {}, until),
        grant.note ? [h("dt", {}, "Note"), h("dd", {}, grant.note)] : null,
        h("dt", {}, "State"),
        h("dd", {}, grantStateLabel(record.state)),
      ),
      h(
        "button",
        {
          type: "button",
          class: "danger revoke",
          "aria-label": `${deny ? "Revoke the refusal of" : "Revoke access of"} ${displayName(grant.grantee, this.ledger.principalId)} to ${grant.categories.map(categoryLabel).join(", ")}`,
          onclick: (event) => this.confirmRevoke(record, event.currentTarget),
        },
        "Revoke",
      ),
    );
  }

  confirmRevoke(record, button) {
    const name = displayName(record.grant.grantee, this.ledger.principalId);
    const what = `${grantedVerbs(record.grant.actions)} ${record.grant.categories.map(categoryLabel).join(", ")}`;
    byId("revoke-text").textContent =
      record.grant.effect === Effect.EFFECT_DENY
        ? `${name} will no longer be refused to ${what}; other grants may then allow it. This takes effect at once.`
        : `${name} will no longer be able to ${what}. This takes effect at once.`;
    this.dialog.returnValue = "";
    this.dialog.addEventListener(
      "close",
      async () => {
        if (this.dialog.returnValue !== "confirm") {
          button.focus();
          return;
        }
        button.disabled = true;
        try {
          await this.ledger.revoke(record.grantId);
          this.report.notice(`Access of ${name} revoked.`);
          await this.refresh();
          byId("access-title").focus();
        } catch (error) {
          button.disabled = false;
          this.report.error(describeError(error));
        }
      },
      { once: true },
    );
    this.dialog.showModal();
    byId("revoke-cancel").focus();
  }

  /** Shows a failure to load grants where the list would be. */
  showError(error) {
    showMessage(byId("access-empty"), `Could not load who has access. ${describeError(error)}`);
  }
}
