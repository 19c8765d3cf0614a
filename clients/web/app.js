// The patient dashboard's entry module: opens the key kept in this browser (or offers to create or restore
// one), connects to the node that served the page, and switches between the screens by the URL's fragment.
// When the node's log fails a check, it raises the alert and withdraws everything the node showed.

import { byId, showMessage } from "./src/dom.js";
import { describeError, describeTrustFailure } from "./src/errors.js";
import { loadIdentity } from "./src/keystore.js";
import { Ledger } from "./src/ledger.js";
import { AccessScreen } from "./src/screens/access.js";
import { ActivityScreen } from "./src/screens/activity.js";
import { GiveScreen } from "./src/screens/give.js";
import { ConsentImport } from "./src/screens/import-consent.js";
import { setUpIdentity, showIdentity } from "./src/screens/identity.js";
import { setUpOnboarding } from "./src/screens/onboarding.js";
import { RecordsScreen } from "./src/screens/records.js";

const SCREENS = ["identity", "access", "give", "activity", "records"];
const DEFAULT_SCREEN = "identity";

// After the log alert nothing else is reported: every later failure is the same one.
const report = {
  notice(text) {
    if (untrusted) return;
    showMessage(byId("page-error"), "");
    showMessage(byId("page-notice"), text);
  },
  error(text) {
    if (untrusted) return;
    showMessage(byId("page-notice"), "");
    showMessage(byId("page-error"), text);
  },
  clear() {
    showMessage(byId("page-notice"), "");
    showMessage(byId("page-error"), "");
  },
};

function setConnection(state, text) {
  const element = byId("connection");
  element.dataset.state = state;
  element.textContent = text;
}

function showOnly(screen) {
  for (const section of document.querySelectorAll("main > .screen")) {
    section.hidden = section.id !== `screen-${screen}`;
  }
}

let current = null;
let app = null;
/** Set once the node's log failed a check: only the key's own screen stays. */
let untrusted = false;

function route({ focus = true } = {}) {
  if (app === null) return;
  const requested = location.hash.slice(1);
  const screen = untrusted ? DEFAULT_SCREEN : SCREENS.includes(requested) ? requested : DEFAULT_SCREEN;
  if (screen === current) return;
  if (current !== null) report.clear();
  current = screen;
  showOnly(screen);
  for (const tab of document.querySelectorAll("#tabs a")) {
    if (tab.dataset.screen === screen) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  document.title = `${byId(`${screen}-title`).textContent} — HealthLedger`;
  if (focus) byId(`${screen}-title`).focus();
  app.shown(screen);
}

function showVerified({ treeSize, blockHeight }) {
  const indicator = byId("log-verified");
  indicator.textContent = `✓ Log verified up to entry ${treeSize} (block ${blockHeight}).`;
  indicator.hidden = untrusted;
}

let activity = null;

/** The node's log failed a check: alert, stop following, and take down what it showed. */
function withdrawTrust(error) {
  if (untrusted) return;
  untrusted = true;
  activity?.stop();
  const alert = byId("log-alert");
  alert.textContent = describeTrustFailure(error);
  alert.hidden = false;
  report.clear();
  byId("tabs").hidden = true;
  byId("log-verified").hidden = true;
  for (const id of ["activity-list", "access-list", "records-list"]) byId(id).replaceChildren();
  byId("record-view").hidden = true;
  setConnection("offline", "Not trusted");
  current = null;
  route({ focus: false });
}

async function start(identity, { created = false } = {}) {
  let currentIdentity = identity;
  setUpIdentity(() => currentIdentity);
  const ledger = new Ledger(identity, { onVerified: showVerified, onTrustFailure: withdrawTrust });
  setConnection("connecting", "Connecting…");
  try {
    await ledger.connect();
    setConnection("live", "Connected");
  } catch (error) {
    if (ledger.trustFailure === null) {
      setConnection("offline", "Offline");
      report.error(`Cannot talk to the node. ${describeError(error)}`);
    }
  }
  showIdentity(identity, ledger.chainId);
  const access = new AccessScreen(ledger, report);
  activity = new ActivityScreen(ledger, setConnection);
  const records = new RecordsScreen(ledger, report);
  const give = new GiveScreen(ledger, () => access.refresh().catch((error) => access.showError(error)));
  give.setUp();
  new ConsentImport(ledger, () => access.refresh().catch((error) => access.showError(error))).setUp();
  records.setUp();
  let recordsLoaded = false;
  app = {
    shown(screen) {
      if (screen === "access") access.refresh().catch((error) => access.showError(error));
      if (screen === "activity") activity.markSeen();
      if (screen === "records" && !recordsLoaded) {
        recordsLoaded = true;
        records.refresh();
      }
    },
  };
  byId("tabs").hidden = untrusted;
  if (ledger.chainId !== null && !untrusted) {
    activity.start();
    ledger.resendPending().catch(() => {});
  }
  if (created) {
    report.notice("Your key is ready. Export its encrypted backup now and keep it somewhere safe.");
    location.hash = "#identity";
  }
  route({ focus: created });
  document.body.dataset.ready = "true";
}

async function main() {
  window.addEventListener("hashchange", () => route());
  setUpOnboarding((identity, options) => start(identity, options));
  let identity;
  try {
    identity = await loadIdentity();
  } catch (error) {
    showOnly("onboarding");
    report.error(`This browser cannot keep your key (${describeError(error)}) — allow site storage and reload.`);
    return;
  }
  if (identity === undefined) {
    showOnly("onboarding");
    setConnection("idle", "No key yet");
    document.body.dataset.ready = "onboarding";
    byId("create-passphrase").focus();
    return;
  }
  await start(identity);
}

main();
