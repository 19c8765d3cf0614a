// "My records": the patient's records listed by a metadata-only Query, and one record's content on demand.

import { byId, h, showMessage } from "../dom.js";
import { fromUtf8 } from "../bytes.js";
import { describeError } from "../errors.js";
import { displayName } from "../names.js";
import { ALL_CONCRETE_CATEGORIES, categoryLabel, formatBytes, formatTime, isoTime } from "../vocabulary.js";

const TEXT_TYPES = /^(text\/|application\/(json|fhir\+json|xml|fhir\+xml)|.*\+json$|.*\+xml$)/;

/** The records screen. */
export class RecordsScreen {
  /** A list of `ledger`'s patient's records; `report` shows page-level errors. */
  constructor(ledger, report) {
    this.ledger = ledger;
    this.report = report;
    this.downloadUrl = null;
  }

  /** Wires the refresh and close buttons. */
  setUp() {
    byId("records-refresh").addEventListener("click", () => this.refresh());
    byId("records-export").addEventListener("click", () => this.exportData());
    byId("record-close").addEventListener("click", () => this.closeRecord());
  }

  /** Lists the records again (metadata only). */
  async refresh() {
    const button = byId("records-refresh");
    button.disabled = true;
    try {
      const { records } = await this.ledger.query({ categories: ALL_CONCRETE_CATEGORIES, includeContent: false });
      byId("records-list").replaceChildren(...records.reverse().map(({ record }) => this.item(record)));
      showMessage(byId("records-empty"), records.length === 0 ? "No records yet." : "");
    } catch (error) {
      showMessage(byId("records-empty"), `Could not list your records. ${describeError(error)}`);
    } finally {
      button.disabled = false;
    }
  }

  /** Downloads the patient's FHIR Bundle (Ledger.ExportFhirBundle) as a file, reporting progress and counts. */
  async exportData() {
    const button = byId("records-export");
    const status = byId("records-export-status");
    button.disabled = true;
    showMessage(status, "Preparing your copy…");
    try {
      const { started, bundle } = await this.ledger.exportFhirBundle({
        onProgress: (bytes) => showMessage(status, `Receiving your copy… ${formatBytes(bytes)}`),
      });
      const url = URL.createObjectURL(new Blob([bundle], { type: "application/fhir+json" }));
      const day = new Date().toISOString().slice(0, 10);
      h("a", { href: url, download: `health-data-${day}.json` }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      showMessage(
        status,
        `Saved health-data-${day}.json (${formatBytes(bundle.length)}): ${started.recordCount} records, ` +
          `${started.consentCount} access rules and ${started.auditEventCount} access events.`,
      );
    } catch (error) {
      showMessage(status, "");
      this.report.error(`Could not download your data. ${describeError(error)}`);
    } finally {
      button.disabled = false;
    }
  }

  item(record) {
    const metadata = record.metadata;
    const when = metadata.effectiveAtUnixMs !== 0n ? metadata.effectiveAtUnixMs : record.createdAtUnixMs;
    return h(
      "li",
      { class: "card record", "data-record-id": record.recordId },
      h("h2", {}, categoryLabel(metadata.category)),
      h(
        "dl",
        { class: "facts compact" },
        h("dt", {}, "Date"),
        h("dd", {}, h("time", { datetime: isoTime(when) }, formatTime(when))),
        h("dt", {}, "From"),
        h("dd", {}, displayName(record.author, this.ledger.principalId)),
        h("dt", {}, "Kind"),
        h("dd", {}, `${metadata.mediaType || "unknown"}, ${formatBytes(metadata.sizeBytes)}`),
      ),
      record.contentErased
        ? h("p", { class: "hint" }, "Content erased at your request.")
        : h(
            "button",
            {
              type: "button",
              class: "view-record",
              "aria-label": `View ${categoryLabel(metadata.category)} record of ${formatTime(when)}`,
              onclick: (event) => this.openRecord(record, event.currentTarget),
            },
            "View",
          ),
    );
  }

  async openRecord(record, button) {
    button.disabled = true;
    try {
      const { records } = await this.ledger.query({
        categories: [record.metadata.category],
        recordIds: [record.recordId],
        includeContent: true,
      });
      const found = records.find((entry) => entry.record.recordId === record.recordId);
      if (found?.content === undefined) throw new Error("The node released no content for this record.");
      this.showRecord(found.record, found.content);
    } catch (error) {
      this.report.error(describeError(error));
    } finally {
      button.disabled = false;
    }
  }

  showRecord(record, content) {
    const metadata = record.metadata;
    byId("record-view-title").textContent = `${categoryLabel(metadata.category)} record`;
    byId("record-facts").replaceChildren(
      h("dt", {}, "Record id"),
      h("dd", {}, h("code", { class: "wrap" }, record.recordId)),
      h("dt", {}, "Written by"),
      h("dd", {}, displayName(record.author, this.ledger.principalId)),
      h("dt", {}, "Written"),
      h("dd", {}, formatTime(record.createdAtUnixMs)),
      h("dt", {}, "Content"),
      h("dd", {}, `${metadata.mediaType || "unknown"}, ${formatBytes(metadata.sizeBytes)}, hash checked`),
    );
    let text = null;
    if (TEXT_TYPES.test(metadata.mediaType)) {
      try {
        text = fromUtf8(content);
        if (/json/.test(metadata.mediaType)) text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not valid UTF-8 or JSON after all: shown as text if it decoded, else offered as a download.
      }
    }
    const pre = byId("record-content");
    pre.textContent = text ?? "";
    pre.hidden = text === null;
    if (this.downloadUrl !== null) URL.revokeObjectURL(this.downloadUrl);
    this.downloadUrl = URL.createObjectURL(new Blob([content], { type: metadata.mediaType || "application/octet-stream" }));
    byId("record-download").href = this.downloadUrl;
    byId("record-download").download = record.recordId;
    byId("record-download-row").hidden = false;
    const view = byId("record-view");
    view.hidden = false;
    view.focus({ preventScroll: true });
    view.scrollIntoView({ block: "start" });
  }

  closeRecord() {
    byId("record-view").hidden = true;
    byId("records-refresh").focus();
  }
}
