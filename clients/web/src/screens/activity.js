// "Activity": the patient's audit trail, followed live. Denials and emergency access stand out; new events
// are announced to screen readers; filters narrow what is shown without restarting the stream.

import { byId, h } from "../dom.js";
import { describeError } from "../errors.js";
import { displayName } from "../names.js";
import {
  actionVerb,
  basisLabel,
  categoriesPhrase,
  formatTime,
  isAllowed,
  isoTime,
  purposePhrase,
  readableReason,
} from "../vocabulary.js";

/** The activity screen, fed by Ledger.followAudit with events whose proofs already verified. */
export class ActivityScreen {
  /** A live log of `ledger`'s patient; `setConnection(state, text)` reports the stream's state. */
  constructor(ledger, setConnection) {
    this.ledger = ledger;
    this.setConnection = setConnection;
    this.events = [];
    this.replayed = false;
    this.unseen = 0;
    this.controller = new AbortController();
  }

  /** Starts following the audit trail and wires the filters. */
  start() {
    for (const id of ["filter-outcome", "filter-actor", "filter-emergency"]) {
      byId(id).addEventListener("change", () => this.applyFilters());
    }
    this.ledger.followAudit({
      signal: this.controller.signal,
      onEvent: (event) => this.add(event),
      onStatus: (state, error) => {
        if (state === "live") {
          this.replayed = true;
          this.setConnection("live", "Live");
        } else if (state === "reconnecting") {
          this.setConnection("offline", `Reconnecting… ${describeError(error)}`);
        }
      },
    });
  }

  /** Stops following. */
  stop() {
    this.controller.abort();
  }

  /** Marks the events as seen (the screen is shown). */
  markSeen() {
    this.unseen = 0;
    byId("activity-badge").hidden = true;
  }

  add(event) {
    this.events.push(event);
    const row = this.row(event);
    byId("activity-list").prepend(row);
    byId("activity-empty").hidden = true;
    this.addActorOption(event.actor);
    this.filterRow(row);
    // Replayed history and the patient's own reads are not news.
    if (!this.replayed || event.actor === this.ledger.principalId) return;
    const summary = this.summary(event);
    byId("activity-live").textContent = summary;
    if (!isAllowed(event) || event.emergency) {
      const alert = byId("activity-alert");
      alert.textContent = summary;
      alert.hidden = false;
    }
    if (document.querySelector("#screen-activity").hidden) {
      this.unseen++;
      const badge = byId("activity-badge");
      badge.textContent = String(this.unseen);
      badge.hidden = false;
      badge.setAttribute("aria-label", `${this.unseen} new`);
    }
  }

  summary(event) {
    const who = displayName(event.actor, this.ledger.principalId);
    const what = categoriesPhrase(event.categories);
    const outcome = isAllowed(event) ? "allowed" : "denied";
    const emergency = event.emergency ? "Emergency access: " : "";
    return `${emergency}${who} asked to ${actionVerb(event.action)} ${what} — ${outcome}.`;
  }

  row(event) {
    const allowed = isAllowed(event);
    const who = displayName(event.actor, this.ledger.principalId);
    const released = event.releasedRecords.length;
    const classes = ["event", allowed ? "allowed" : "denied", event.emergency ? "emergency" : ""].join(" ").trim();
    return h(
      "li",
      {
        class: classes,
        "data-sequence": String(event.sequence),
        "data-entry-index": String(event.entryIndex),
        "data-actor": event.actor,
        "data-outcome": allowed ? "allowed" : "denied",
        "data-action": String(event.action),
        "data-emergency": event.emergency ? "true" : "false",
      },
      h(
        "p",
        { class: "event-head" },
        h("span", { class: `outcome ${allowed ? "allowed" : "denied"}` }, allowed ? "✓ Allowed" : "✕ Denied"),
        event.emergency ? h("span", { class: "outcome emergency" }, "⚠ Emergency") : null,
        h("time", { datetime: isoTime(event.timeUnixMs) }, formatTime(event.timeUnixMs, { seconds: true })),
      ),
      h(
        "p",
        { class: "event-line" },
        h("strong", {}, who),
        ` ${allowed ? "" : "tried to "}${actionVerb(event.action)} `,
        h("strong", {}, categoriesPhrase(event.categories)),
        ` ${purposePhrase(event.purpose)}`,
        allowed && released > 0 ? ` — ${released} record${released === 1 ? "" : "s"} released` : "",
      ),
      // A denial's reason says what was missing; an emergency access's carries the clinician's justification.
      h("p", { class: "event-basis" }, `Why: ${basisLabel(event.basis)}${(!allowed || event.emergency) && event.reason ? ` (${readableReason(event.reason)})` : ""}`),
    );
  }

  addActorOption(actor) {
    const select = byId("filter-actor");
    if ([...select.options].some((option) => option.value === actor)) return;
    select.append(h("option", { value: actor }, displayName(actor, this.ledger.principalId)));
  }

  filterRow(row) {
    const outcome = byId("filter-outcome").value;
    const actor = byId("filter-actor").value;
    const emergencyOnly = byId("filter-emergency").checked;
    row.hidden =
      (outcome !== "all" && row.dataset.outcome !== outcome) ||
      (actor !== "" && row.dataset.actor !== actor) ||
      (emergencyOnly && row.dataset.emergency !== "true");
  }

  applyFilters() {
    const rows = [...byId("activity-list").children];
    rows.forEach((row) => this.filterRow(row));
    const shown = rows.filter((row) => !row.hidden).length;
    const empty = byId("activity-empty");
    empty.textContent = rows.length === 0 ? "No activity yet." : "No activity matches these filters.";
    empty.hidden = shown > 0;
  }
}
