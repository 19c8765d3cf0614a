// "Give access": who (an id typed, pasted or scanned from a QR code), which categories, which actions, for
// how long and why; signed in the page and committed as a Grant transaction.

import { byId, h, showMessage, withBusy } from "../dom.js";
import { describeError } from "../errors.js";
import { rememberName } from "../names.js";
import { principalIdProblem } from "../principal.js";
import {
  ACTION_CHOICES,
  CATEGORY_CHOICES,
  DURATION_CHOICES,
  PURPOSE_CHOICES,
  formatTime,
} from "../vocabulary.js";

function checkbox(group, value, label, checked = false) {
  const id = `${group}-${value}`;
  return h(
    "div",
    { class: "check" },
    h("input", { type: "checkbox", id, name: group, value, checked }),
    h("label", { for: id }, label),
  );
}

function radio(group, value, label, checked = false) {
  const id = `${group}-${value}`;
  return h(
    "div",
    { class: "check" },
    h("input", { type: "radio", id, name: group, value, checked }),
    h("label", { for: id }, label),
  );
}

function checkedValues(group) {
  return [...document.querySelectorAll(`input[name="${group}"]:checked`)].map((input) => Number(input.value));
}

/** The give-access screen; `onGranted()` runs after a grant commits. */
export class GiveScreen {
  /** A form that grants as `ledger`'s patient; `onGranted(grantee)` runs after each committed grant. */
  constructor(ledger, onGranted) {
    this.ledger = ledger;
    this.onGranted = onGranted;
    this.scanning = null;
  }

  /** Builds the choices and wires the form. */
  setUp() {
    byId("category-choices").replaceChildren(...CATEGORY_CHOICES.map(([v, label]) => checkbox("category", v, label)));
    byId("action-choices").replaceChildren(
      ...ACTION_CHOICES.map(([v, label], index) => checkbox("action", v, label, index === 0)),
    );
    byId("duration-choices").replaceChildren(
      ...DURATION_CHOICES.map(([key, label], index) => radio("duration", key, label, index === 3)),
    );
    byId("purpose").replaceChildren(...PURPOSE_CHOICES.map(([v, label]) => h("option", { value: v }, label)));
    byId("duration-choices").addEventListener("change", () => {
      byId("custom-until-row").hidden = this.durationKey() !== "custom";
    });
    byId("grantee").addEventListener("blur", () => this.checkGrantee());
    byId("give-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    if ("BarcodeDetector" in globalThis && navigator.mediaDevices?.getUserMedia) {
      byId("scan-qr").hidden = false;
      byId("grantee-hint").textContent = "Paste the id they gave you, or scan their QR code with the camera.";
      byId("scan-qr").addEventListener("click", () => this.scan());
      byId("scanner-stop").addEventListener("click", () => this.stopScanning());
    } else {
      byId("grantee-hint").textContent = "Paste the id they gave you (this browser cannot scan QR codes).";
    }
  }

  durationKey() {
    return document.querySelector('input[name="duration"]:checked')?.value;
  }

  checkGrantee() {
    const value = byId("grantee").value.trim();
    const problem = value === "" ? null : principalIdProblem(value);
    const selfProblem = value === this.ledger.principalId ? "is your own; you always have access to your records" : null;
    const message = problem ?? selfProblem;
    showMessage(byId("grantee-error"), message === null ? "" : `This principal id ${message}.`);
    byId("grantee").setAttribute("aria-invalid", message === null ? "false" : "true");
    return message === null && value !== "";
  }

  /** The grant's end in milliseconds since the epoch; throws naming the problem. */
  validUntil() {
    const key = this.durationKey();
    const choice = DURATION_CHOICES.find(([k]) => k === key);
    if (choice === undefined) throw new Error("Choose for how long.");
    if (choice[2] !== "custom") return this.ledger.now() + choice[2];
    const text = byId("custom-until").value;
    const until = text === "" ? NaN : new Date(text).getTime();
    if (Number.isNaN(until)) throw new Error("Pick the date and time the access ends.");
    if (until <= Date.now()) throw new Error("The end date is in the past; pick a later one.");
    return until;
  }

  async submit() {
    const errors = {
      grantee: byId("grantee-error"),
      categories: byId("categories-error"),
      actions: byId("actions-error"),
      duration: byId("duration-error"),
    };
    Object.values(errors).forEach((element) => showMessage(element, ""));
    showMessage(byId("give-result"), "");
    const categories = checkedValues("category");
    const actions = checkedValues("action");
    let validUntilUnixMs;
    let firstInvalid = null;
    if (!this.checkGrantee()) {
      if (byId("grantee").value.trim() === "") showMessage(errors.grantee, "Enter the principal id of who gets access.");
      firstInvalid ??= byId("grantee");
    }
    if (categories.length === 0) {
      showMessage(errors.categories, "Choose at least one kind of record.");
      firstInvalid ??= document.querySelector('input[name="category"]');
    }
    if (actions.length === 0) {
      showMessage(errors.actions, "Choose at least one thing they may do.");
      firstInvalid ??= document.querySelector('input[name="action"]');
    }
    try {
      validUntilUnixMs = this.validUntil();
    } catch (error) {
      showMessage(errors.duration, error.message);
      firstInvalid ??= document.querySelector('input[name="duration"]:checked') ?? byId("custom-until");
    }
    if (firstInvalid !== null) {
      firstInvalid.focus();
      return;
    }
    const grantee = byId("grantee").value.trim();
    await withBusy(byId("give-submit"), byId("give-error"), async () => {
      const grantId = await this.ledger.grant({
        grantee,
        actions,
        categories,
        purposes: [Number(byId("purpose").value)],
        validUntilUnixMs,
        note: byId("note").value.trim(),
      });
      rememberName(grantee, byId("grantee-name").value);
      const until = validUntilUnixMs === null ? "until you revoke it" : `until ${formatTime(validUntilUnixMs)}`;
      const result = byId("give-result");
      showMessage(result, `Access given ${until}. Grant id ${grantId}.`);
      result.dataset.grantId = grantId;
      byId("give-form").reset();
      byId("custom-until-row").hidden = true;
      await this.onGranted(grantee);
    }, describeError);
  }

  async scan() {
    const video = byId("scanner-video");
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      this.scanning = stream;
      video.srcObject = stream;
      byId("scanner").hidden = false;
      await video.play();
      while (this.scanning === stream) {
        const codes = await detector.detect(video);
        const id = codes.map((code) => code.rawValue.trim()).find((text) => principalIdProblem(text) === null);
        if (id !== undefined) {
          byId("grantee").value = id;
          this.checkGrantee();
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } catch (error) {
      showMessage(byId("grantee-error"), `The camera could not be used (${error.message}); paste the id instead.`);
    }
    this.stopScanning();
  }

  stopScanning() {
    this.scanning?.getTracks().forEach((track) => track.stop());
    this.scanning = null;
    byId("scanner").hidden = true;
    byId("grantee").focus();
  }
}
