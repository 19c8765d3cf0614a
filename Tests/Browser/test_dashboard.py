"""The patient dashboard in a real headless Chromium against a real node over TLS.

A patient creates a key in the page and grants a clinician (whose key and commands come from the `healthledger`
command line) reading and writing of lab results. The clinician writes a lab record and queries it: the query
appears in the page's live activity view within 1 s of the command's return. The patient reads the record in
the page, revokes the grant there, and the clinician's next query is denied (exit code 2) and appears as a
denial. Finally the exported key backup restores the same patient in a fresh browser. Screenshots of every
screen at phone (390×844) and desktop (1280×800) size go to docs/screenshots/ (or $HEALTHLEDGER_SCREENSHOTS_DIR),
after checking each screen's text contrast and its reflow at 200 % zoom.

A patient imports a FHIR Consent drafted for them (Examples/fhir, filled in with this run's ids as an EHR would):
the page shows the grants the node reads in it, one card each, the nested deny first; signed, they let the clinician
read labs for treatment and refuse vitals for operations; a consent made out to another patient is refused.

Around that story: a wrong backup passphrase is refused; a Grant whose answer is lost on the way is sent again
with the same bytes and counted once; the live activity view resumes after the node is killed and restarted; a
node whose log no longer matches the checkpoint the page remembers is refused with an alert.
"""

import io
import json
import os
import time
from pathlib import Path

from fhir.resources import construct_fhir_element
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

REPO_ROOT = Path(__file__).resolve().parents[2]

PASSPHRASE = "a long passphrase for tests"
CLINICIAN_NAME = "Dr. Rivera, City Clinic"
LAB_RESULT = {"resourceType": "Observation", "code": "glucose", "value": 5.4, "unit": "mmol/L"}
SCREEN_SIZES = [(390, 844), (1280, 800)]
# A 640×400 window at 200 % zoom lays the page out in 320×200 CSS pixels: it must reflow, not scroll sideways.
ZOOMED_SIZE = (320, 200)
# Waits for the page: generous for a loaded two-core machine, yet every one of them can fail.
PAGE_TIMEOUT = 20.0
# What the issue asks: an access appears in the activity view within 1 s of the clinician's command returning.
ACTIVITY_LATENCY_LIMIT = 1.0
ACTION_READ = 1
REASON = "unconscious on arrival, ER bay 3"
# The principal ids written in Examples/fhir's Consents, replaced by this run's people.
EXAMPLE_PATIENT = "hl15239u0zfuppj4mxutmyufu8udr8s8wt6kdxlpu"
EXAMPLE_CLINICIAN = "hl14mgv5ku9v8zclaln3w5x8vtctpc0jvzc8pf9zd"


def screenshots_dir() -> Path:
    configured = os.environ.get("HEALTHLEDGER_SCREENSHOTS_DIR")
    directory = Path(configured) if configured else REPO_ROOT / "docs" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def wait_for(driver, condition, what: str, timeout: float = PAGE_TIMEOUT):
    """Waits for `condition`; on timeout fails naming what did not happen, with the page's error banner and log."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.02).until(condition)
    except TimeoutException:
        banner = driver.execute_script(
            "return [...document.querySelectorAll('.banner:not([hidden]), .field-error:not([hidden])')]"
            ".map(e => e.textContent).join(' | ')")
        log = "\n".join(entry["message"] for entry in driver.get_log("browser"))
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; page says: {banner!r}\n"
                             f"browser log:\n{log}") from None


def visible(driver, css: str, what: str):
    return wait_for(driver, ec.visibility_of_element_located((By.CSS_SELECTOR, css)), what)


# WCAG 2 contrast of every visible text against the first opaque background behind it.
LOW_CONTRAST_TEXT = """
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const parse = (text) => { const parts = text.match(/rgba?\\(([^)]+)\\)/)[1].split(',').map(parseFloat);
                              return { rgb: parts.slice(0, 3), alpha: parts.length > 3 ? parts[3] : 1 }; };
    const background = (element) => {
        for (let e = element; e; e = e.parentElement) {
            const colour = parse(getComputedStyle(e).backgroundColor);
            if (colour.alpha >= 0.99) return colour.rgb;
        }
        return [255, 255, 255];
    };
    const problems = [];
    for (const element of document.querySelectorAll('body *')) {
        if (!element.checkVisibility() || element.closest('[disabled]')) continue;
        if (![...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
        const a = luminance(parse(getComputedStyle(element).color).rgb), b = luminance(background(element));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) problems.push(`${ratio.toFixed(2)}:1 for "${element.textContent.trim().slice(0, 40)}"`);
    }
    return problems;
"""


def take_screenshots(driver, name: str, scroll_to: str | None = None) -> None:
    """Checks the current screen's text contrast and that it reflows without sideways scrolling (at 200 % zoom
    too), saves it at phone and desktop size (scrolled to the element with id `scroll_to` when given, for a part
    of the screen below the fold), and returns to desktop size."""
    for width, height in [*SCREEN_SIZES, ZOOMED_SIZE]:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        if scroll_to is not None:
            driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", scroll_to)
        driver.execute_script("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        low_contrast = driver.execute_script(LOW_CONTRAST_TEXT)
        assert low_contrast == [], f"text below 4.5:1 contrast on the {name} screen: {low_contrast}"
        overflow = driver.execute_script("return document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the {name} screen scrolls sideways by {overflow} px at {width} px wide"
        if (width, height) in SCREEN_SIZES:
            assert driver.save_screenshot(str(screenshots_dir() / f"{name}-{width}x{height}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def tab_through(driver, until_id: str, limit: int = 80) -> list:
    """Presses Tab from the current focus until the element `until_id` has it; every element on the way must show
    a focus outline. The elements focused, in order."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    focused = []
    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        element = driver.switch_to.active_element
        style = driver.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth];", element)
        label = element.get_attribute("id") or element.get_attribute("href") or element.tag_name
        assert style[0] != "none" and style[1] != "0px", f"{label} has no visible focus outline"
        focused.append(label)
        if element.get_attribute("id") == until_id:
            return focused
    raise AssertionError(f"#{until_id} was not reached by Tab; focus went through {focused}")


def open_screen(driver, screen: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#tabs a[data-screen="{screen}"]').click()
    visible(driver, f"#screen-{screen}", f"the {screen} screen")


def activity_row(driver, actor: str, outcome: str):
    """The first activity row of `actor`'s READ with `outcome`, or False."""
    rows = driver.find_elements(
        By.CSS_SELECTOR, f'#activity-list li[data-actor="{actor}"][data-outcome="{outcome}"][data-action="{ACTION_READ}"]')
    return rows[0] if rows else False


def watch_for_activity(driver, actor: str, outcome: str) -> None:
    """Records in the page the clock time at which a matching activity row is added, to time it exactly."""
    driver.execute_script("""
        const [actor, outcome, action] = arguments;
        window.activitySeenAt = null;
        const matches = (node) => node.dataset && node.dataset.actor === actor && node.dataset.outcome === outcome
            && node.dataset.action === action;
        new MutationObserver((changes, observer) => {
            for (const change of changes) for (const node of change.addedNodes) if (matches(node)) {
                window.activitySeenAt = Date.now(); observer.disconnect(); return;
            }
        }).observe(document.getElementById('activity-list'), { childList: true });
    """, actor, outcome, str(ACTION_READ))


def activity_latency(driver, actor: str, outcome: str, command_returned_at: float) -> float:
    """Seconds from the command's return to the row's appearance (negative when it appeared first)."""
    wait_for(driver, lambda d: activity_row(d, actor, outcome), f"a {outcome} read by {actor} in the activity view",
             timeout=5.0)
    seen_at_ms = driver.execute_script("return window.activitySeenAt")
    assert seen_at_ms is not None, "the row was there before the observer started, so the timing is unknown"
    return seen_at_ms / 1000 - command_returned_at


def create_key(driver, node) -> str:
    """Opens the dashboard in a browser with no key, creates one with PASSPHRASE; the principal id shown."""
    driver.get(node.url)
    visible(driver, "#create-key-form", "the create-key form of a browser with no key")
    driver.find_element(By.ID, "create-passphrase").send_keys(PASSPHRASE)
    driver.find_element(By.ID, "create-passphrase-again").send_keys(PASSPHRASE)
    driver.find_element(By.ID, "create-key").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "principal-id").text.startswith("hl1"), "the principal id")
    wait_for(driver, lambda d: d.find_element(By.ID, "connection").text == "Live", "the connection to the node")
    return driver.find_element(By.ID, "principal-id").text


def give_access(driver, grantee: str, name: str) -> str:
    """Gives `grantee` reading of lab results for a week through the give-access form; the grant id."""
    open_screen(driver, "give")
    driver.find_element(By.ID, "grantee").send_keys(grantee)
    driver.find_element(By.ID, "grantee-name").send_keys(name)
    driver.find_element(By.CSS_SELECTOR, 'label[for="category-5"]').click()
    driver.find_element(By.CSS_SELECTOR, 'label[for="duration-1w"]').click()
    driver.find_element(By.ID, "give-submit").click()
    return visible(driver, "#give-result", "the confirmation of the grant").get_attribute("data-grant-id")


def decode_qr(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_patient_grants_sees_access_live_revokes_and_sees_denial(node, browsers, tmp_path):
    clinician_identity = tmp_path / "clinician.pem"
    clinician = node.keygen(clinician_identity)
    driver = browsers.start("patient")

    # Given a patient who opens the dashboard for the first time and creates a key in the page.
    driver.get(node.url)
    visible(driver, "#create-key-form", "the create-key form of a browser with no key")
    take_screenshots(driver, "onboarding")
    driver.find_element(By.ID, "create-passphrase").send_keys(PASSPHRASE)
    driver.find_element(By.ID, "create-passphrase-again").send_keys(PASSPHRASE)
    driver.find_element(By.ID, "create-key").click()
    principal_element = visible(driver, "#principal-id", "the patient's principal id after creating the key")
    wait_for(driver, lambda d: d.find_element(By.ID, "principal-id").text.startswith("hl1"), "the principal id text")
    patient = principal_element.text
    assert len(patient) == 41
    wait_for(driver, lambda d: d.find_element(By.ID, "chain-id").text not in ("", "—"), "the chain id from the node")
    assert driver.execute_script(
        "return import('/src/keystore.js').then(m => m.loadIdentity()).then(i => i.privateKey.extractable)") is False
    # The QR code on the identity screen decodes (by an independent decoder) to exactly the principal id.
    assert decode_qr(driver.find_element(By.ID, "identity-qr").screenshot_as_png) == [patient]
    take_screenshots(driver, "identity")

    # When the patient gives the clinician read and write access to lab results for a week.
    open_screen(driver, "give")
    # (Every control of the form is reachable by keyboard, with a visible focus.)
    focused = tab_through(driver, "give-submit")
    assert {"grantee", "grantee-name", "category-5", "action-1", "purpose", "note"} <= set(focused), focused
    driver.find_element(By.ID, "give-title").click()
    driver.find_element(By.ID, "grantee").send_keys(clinician)
    driver.find_element(By.ID, "grantee-name").send_keys(CLINICIAN_NAME)
    driver.find_element(By.CSS_SELECTOR, 'label[for="category-5"]').click()
    driver.find_element(By.CSS_SELECTOR, 'label[for="action-2"]').click()
    driver.find_element(By.CSS_SELECTOR, 'label[for="duration-1w"]').click()
    Select(driver.find_element(By.ID, "purpose")).select_by_visible_text("Treatment")
    driver.find_element(By.ID, "note").send_keys("diabetes follow-up")
    take_screenshots(driver, "give-access")
    driver.find_element(By.ID, "give-submit").click()
    result = visible(driver, "#give-result", "the confirmation of the grant")
    grant_id = result.get_attribute("data-grant-id")
    assert grant_id and len(grant_id) == 64, result.text

    # Then the clinician is listed under who can see what, with labs, until a week from now.
    open_screen(driver, "access")
    card = visible(driver, f'#access-list li[data-grantee="{clinician}"]', "the clinician's card")
    assert CLINICIAN_NAME in card.text and "Lab results" in card.text and "Add records" in card.text
    assert card.find_element(By.CSS_SELECTOR, f'li[data-grant-id="{grant_id}"]')

    # When the clinician writes a lab record for the patient and then queries it with the command line.
    lab_file = tmp_path / "glucose.json"
    lab_file.write_text(json.dumps(LAB_RESULT))
    written = node.cli("write", "--category", "labs", "--patient", patient, str(lab_file), identity=clinician_identity)
    assert written.exit_code == 0, f"the clinician's write failed: {written.stderr}"
    open_screen(driver, "activity")
    wait_for(driver, lambda d: d.find_element(By.ID, "connection").text == "Live", "the activity stream to be live")
    watch_for_activity(driver, clinician, "allowed")
    queried = node.cli("query", "--patient", patient, "--categories", "labs", identity=clinician_identity)
    returned_at = time.time()
    assert queried.exit_code == 0, f"the clinician's query failed: {queried.stderr}"

    # Then the query appears in the page's activity view within 1 s, as allowed.
    latency = activity_latency(driver, clinician, "allowed", returned_at)
    print(f"allowed query shown {latency * 1000:.0f} ms after the command returned")
    assert latency < ACTIVITY_LATENCY_LIMIT, f"the allowed query appeared {latency:.3f} s after the command returned"
    row = activity_row(driver, clinician, "allowed")
    assert CLINICIAN_NAME in row.text and "Lab results" in row.text and "Allowed" in row.text

    # And the patient sees the record among their own and reads its content, checked against its hash.
    open_screen(driver, "records")
    record = visible(driver, "#records-list li.record", "the lab record in the patient's records")
    assert "Lab results" in record.text and CLINICIAN_NAME in record.text
    record.find_element(By.CSS_SELECTOR, "button.view-record").click()
    content = visible(driver, "#record-content", "the record's content")
    assert json.loads(content.text) == LAB_RESULT
    take_screenshots(driver, "record")
    driver.find_element(By.ID, "record-close").click()
    take_screenshots(driver, "records")

    # The patient downloads all their data: a FHIR R4 Bundle that an independent FHIR implementation reads, with
    # the lab record, the grant as a Consent and the accesses as AuditEvents, the download's own read included.
    driver.find_element(By.ID, "records-export").click()
    bundle_file = wait_for(driver, lambda d: next(iter(sorted(d.downloads.glob("health-data-*.json"))), False),
                           "the downloaded FHIR Bundle")
    wait_for(driver, lambda d: d.find_element(By.ID, "records-export-status").text.startswith("Saved "),
             "the export's summary")
    bundle = json.loads(bundle_file.read_text())
    construct_fhir_element("Bundle", bundle)
    resources = [entry["resource"] for entry in bundle["entry"]]
    for resource in resources:
        construct_fhir_element(resource["resourceType"], resource)
    [consent] = [resource for resource in resources if resource["resourceType"] == "Consent"]
    assert consent["provision"]["actor"][0]["reference"]["identifier"]["value"] == clinician
    audit_events = [resource for resource in resources if resource["resourceType"] == "AuditEvent"]
    assert audit_events[-1]["purposeOfEvent"][0]["coding"][0]["code"] == "PATRQT", "the export's own read is last"
    assert clinician in {event["agent"][0]["who"]["identifier"]["value"] for event in audit_events}

    # When the patient revokes the clinician's access in the page, confirming in the dialog.
    open_screen(driver, "access")
    card = visible(driver, f'#access-list li[data-grantee="{clinician}"]', "the clinician's card before revoking")
    take_screenshots(driver, "who-can-see")
    card.find_element(By.CSS_SELECTOR, "button.revoke").click()
    visible(driver, "#revoke-dialog", "the revoke confirmation dialog")
    assert CLINICIAN_NAME in driver.find_element(By.ID, "revoke-text").text
    take_screenshots(driver, "revoke-confirmation")
    driver.find_element(By.ID, "revoke-confirm").click()
    wait_for(driver, ec.invisibility_of_element_located((By.CSS_SELECTOR, f'#access-list li[data-grantee="{clinician}"]')),
             "the clinician's card to go after revoking")
    assert "revoked" in visible(driver, "#page-notice", "the revocation notice").text

    # Then the clinician's next query is denied (exit code 2), and the denial shows in the activity view.
    open_screen(driver, "activity")
    watch_for_activity(driver, clinician, "denied")
    denied = node.cli("query", "--patient", patient, "--categories", "labs", identity=clinician_identity)
    returned_at = time.time()
    assert denied.exit_code == 2, f"expected the denied query to exit 2, got {denied.exit_code}: {denied.stderr}"
    latency = activity_latency(driver, clinician, "denied", returned_at)
    print(f"denied query shown {latency * 1000:.0f} ms after the command returned")
    assert latency < ACTIVITY_LATENCY_LIMIT, f"the denial appeared {latency:.3f} s after the command returned"
    assert "Denied" in activity_row(driver, clinician, "denied").text
    assert "denied" in visible(driver, "#activity-alert", "the alert for the denial").text
    # Every event shown was proven to be in the node's signed log, which the page says it verified that far.
    entry_indexes = [int(row.get_attribute("data-entry-index"))
                     for row in driver.find_elements(By.CSS_SELECTOR, "#activity-list li")]
    verified = visible(driver, "#log-verified", "the verified-log indicator").text
    assert verified.startswith("✓ Log verified up to entry "), verified
    assert int(verified.split("entry ")[1].split()[0]) > max(entry_indexes), (verified, entry_indexes)
    take_screenshots(driver, "activity")
    # Filters narrow the log to the denials.
    Select(driver.find_element(By.ID, "filter-outcome")).select_by_value("denied")
    shown = [row for row in driver.find_elements(By.CSS_SELECTOR, "#activity-list li") if row.is_displayed()]
    assert shown and all(row.get_attribute("data-outcome") == "denied" for row in shown)

    # Finally the exported backup, opened with its passphrase in a fresh browser, is the same patient.
    open_screen(driver, "identity")
    driver.find_element(By.ID, "export-backup").click()
    backup_file = wait_for(driver, lambda d: next(iter(sorted(d.downloads.glob("healthledger-key-*.json"))), False),
                           "the exported backup file")
    backup = json.loads(backup_file.read_text())
    assert backup["principalId"] == patient and backup["kdf"]["iterations"] >= 600000
    assert "PRIVATE" not in backup_file.read_text()
    second = browsers.start("restored")
    second.get(node.url)
    visible(second, "#restore-form", "the restore form in a fresh browser")
    second.find_element(By.ID, "restore-file").send_keys(str(backup_file))
    second.find_element(By.ID, "restore-passphrase").send_keys(PASSPHRASE)
    second.find_element(By.ID, "restore-key").click()
    wait_for(second, lambda d: d.find_element(By.ID, "principal-id").text == patient, "the restored principal id")
    open_screen(second, "activity")
    wait_for(second, lambda d: activity_row(d, clinician, "denied"), "the earlier denial in the restored browser")
    # And neither page logged an error (a CSP violation, a failed request, an uncaught exception) on the way.
    for browser in (driver, second):
        errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == [], f"the page logged errors: {errors}"


def test_wrong_backup_passphrase_is_refused_with_a_clear_message(node, browsers):
    # Given a backup of a key made in one browser.
    driver = browsers.start("maker")
    create_key(driver, node)
    visible(driver, "#export-backup", "the identity screen").click()
    backup_file = wait_for(driver, lambda d: next(iter(sorted(d.downloads.glob("healthledger-key-*.json"))), False),
                           "the exported backup file")
    # When another browser opens it with a wrong passphrase, then it says so and keeps no key.
    other = browsers.start("wrong")
    other.get(node.url)
    visible(other, "#restore-form", "the restore form")
    other.find_element(By.ID, "restore-file").send_keys(str(backup_file))
    other.find_element(By.ID, "restore-passphrase").send_keys("not the passphrase")
    other.find_element(By.ID, "restore-key").click()
    error = visible(other, "#restore-error", "the wrong-passphrase message")
    assert "Wrong passphrase" in error.text
    assert other.find_element(By.ID, "screen-identity").is_displayed() is False


# Grants through the page's own Ledger module, over a fetch that delivers the first Grant request to the node but
# loses its answer, as a dropped connection does: the outcome is unknown, so the same signed bytes must go again.
GRANT_WITH_LOST_ANSWER = """
    const [grantee, done] = [arguments[0], arguments[arguments.length - 1]];
    (async () => {
        const { Ledger, Action, DataCategory, Purpose } = await import('/src/ledger.js');
        const { loadIdentity, listPending } = await import('/src/keystore.js');
        const sent = [];
        const lossyFetch = async (url, init) => {
            const response = await fetch(url, init);
            if (String(url).endsWith('/healthledger.v1.Ledger/Grant')) {
                sent.push(Array.from(init.body).join(','));
                if (sent.length === 1) {
                    await response.arrayBuffer();
                    throw new TypeError('Failed to fetch: the connection dropped');
                }
            }
            return response;
        };
        const ledger = new Ledger(await loadIdentity(), { fetch: lossyFetch });
        await ledger.connect();
        const grantId = await ledger.grant({ grantee, actions: [Action.ACTION_READ],
            categories: [DataCategory.DATA_CATEGORY_VITALS], purposes: [Purpose.PURPOSE_TREATMENT],
            validUntilUnixMs: null, note: '' });
        const grants = await ledger.listGrants();
        return { grantId, sends: sent.length, sameBytes: new Set(sent).size === 1,
                 listed: grants.map((g) => g.grantId), pending: (await listPending()).length };
    })().then(done, (error) => done({ error: String(error && error.stack || error) }));
"""


def test_a_grant_whose_answer_is_lost_is_sent_again_with_the_same_bytes(node, browsers, tmp_path):
    clinician = node.keygen(tmp_path / "clinician.pem")
    driver = browsers.start("lossy")
    create_key(driver, node)
    driver.set_script_timeout(PAGE_TIMEOUT)
    # When the first Grant reaches the node but its answer is lost.
    outcome = driver.execute_async_script(GRANT_WITH_LOST_ANSWER, clinician)
    assert "error" not in outcome, outcome["error"]
    # Then the page sent the very same bytes again, took ALREADY_EXISTS as success, and exactly one grant exists.
    assert outcome["sends"] == 2 and outcome["sameBytes"], outcome
    assert outcome["listed"] == [outcome["grantId"]], outcome
    assert outcome["pending"] == 0, "the transaction was answered, so nothing should stay pending"


# Rewrites, in this browser's IndexedDB, the root of the last checkpoint the page verified, as if the node had
# shown another history before; the rewritten root's first 16 hex characters.
REWRITE_REMEMBERED_ROOT = """
    const done = arguments[arguments.length - 1];
    const opening = indexedDB.open("healthledger-dashboard");
    opening.onerror = () => done({ error: String(opening.error) });
    opening.onsuccess = () => {
        const store = opening.result.transaction("chains", "readwrite").objectStore("chains");
        const cursor = store.openCursor();
        cursor.onsuccess = () => {
            const state = cursor.result.value;
            const hex = state.checkpoint.rootHash;
            state.checkpoint.rootHash = (hex[0] === "0" ? "1" : "0") + hex.slice(1);
            const put = cursor.result.update(state);
            put.onsuccess = () => { opening.result.close(); done({ short: state.checkpoint.rootHash.slice(0, 16) }); };
            put.onerror = () => done({ error: String(put.error) });
        };
    };
"""


def test_a_node_whose_history_differs_from_what_this_device_saw_is_refused_loudly(node, browsers):
    driver = browsers.start("witness")
    create_key(driver, node)
    open_screen(driver, "activity")
    assert visible(driver, "#log-verified", "the verified-log indicator").text.startswith("✓ Log verified up to entry ")
    # Given a device that remembers another root for the log than the node now proves.
    driver.set_script_timeout(PAGE_TIMEOUT)
    seen = driver.execute_async_script(REWRITE_REMEMBERED_ROOT)
    assert "error" not in seen, seen
    # When the page opens again, then it alerts with the root it saw, and shows nothing from the node.
    driver.refresh()
    alert = visible(driver, "#log-alert", "the alert about the node's history")
    assert alert.get_attribute("role") == "alert"
    assert "does not match what this device saw before" in alert.text and seen["short"] in alert.text, alert.text
    assert not driver.find_element(By.ID, "tabs").is_displayed()
    assert not driver.find_element(By.ID, "screen-activity").is_displayed()
    assert driver.find_element(By.ID, "connection").text == "Not trusted"


def test_activity_follows_on_after_the_node_restarts_without_repeats(node, browsers, tmp_path):
    clinician_identity = tmp_path / "clinician.pem"
    clinician = node.keygen(clinician_identity)
    driver = browsers.start("follower")
    patient = create_key(driver, node)
    assert give_access(driver, clinician, CLINICIAN_NAME)
    open_screen(driver, "activity")
    wait_for(driver, lambda d: d.find_element(By.ID, "connection").text == "Live", "the activity stream to be live")

    def clinician_queries() -> None:
        result = node.cli("query", "--patient", patient, "--categories", "labs", identity=clinician_identity)
        assert result.exit_code == 0, f"the clinician's query failed: {result.stderr}"

    def allowed_rows() -> int:
        return len(driver.find_elements(By.CSS_SELECTOR, f'#activity-list li[data-actor="{clinician}"][data-outcome="allowed"]'))

    # Given a patient watching the activity of a clinician's query.
    clinician_queries()
    wait_for(driver, lambda d: allowed_rows() == 1, "the first query in the activity view")
    # When the node is killed and restarts on the same port, dropping the page's stream.
    node.crash_and_restart()
    # Then the page reconnects by itself: a new query shows up live, and no event is shown twice.
    clinician_queries()
    wait_for(driver, lambda d: allowed_rows() == 2, "the query after the restart in the activity view")
    sequences = [int(row.get_attribute("data-sequence")) for row in driver.find_elements(By.CSS_SELECTOR, "#activity-list li")]
    assert len(sequences) == len(set(sequences)), f"an event was shown twice: {sequences}"
    assert sequences == sorted(sequences, reverse=True), f"events out of order: {sequences}"


def test_emergency_access_stands_out_in_the_activity_view(emergency_setting, emergency_browsers):
    node, clinician = emergency_setting.node, emergency_setting.clinician
    driver = emergency_browsers.start("emergency")
    # Given a patient watching their activity, and an emergency clinician the operator registered.
    patient = create_key(driver, node)
    open_screen(driver, "activity")
    wait_for(driver, lambda d: d.find_element(By.ID, "connection").text == "Live", "the activity stream to be live")

    # When the clinician breaks the glass for allergies, without any grant, and reads them.
    opened = node.cli("emergency", patient, "--categories", "allergies", "--reason", REASON, "--for", "30m",
                      identity=emergency_setting.clinician_identity)
    assert opened.exit_code == 0, f"emergency access was refused: {opened.stderr}"
    read = node.cli("query", "--patient", patient, "--categories", "allergies", "--purpose", "emergency",
                    identity=emergency_setting.clinician_identity)
    assert read.exit_code == 0, f"the emergency read was refused: {read.stderr}"

    # Then the read appears flagged as emergency access, with the clinician's reason, and raises the alert banner.
    def clinician_rows():
        return driver.find_elements(By.CSS_SELECTOR, f'#activity-list li[data-actor="{clinician}"]')

    # (two events: the access opened, with its reason, and the read it allowed)
    wait_for(driver, lambda d: len(clinician_rows()) == 2, "the emergency access and read in the activity view")
    for row in clinician_rows():
        assert row.get_attribute("data-emergency") == "true", row.get_attribute("outerHTML")
        assert "emergency" in row.get_attribute("class").split() and "Emergency" in row.text, row.text
    assert any(REASON in row.text for row in clinician_rows()), [row.text for row in clinician_rows()]
    alert = visible(driver, "#activity-alert", "the alert for emergency access")
    assert alert.text.startswith("Emergency access:"), alert.text
    # And the "emergency access only" filter keeps it while hiding the patient's own reads.
    driver.find_element(By.CSS_SELECTOR, 'label[for="filter-emergency"]').click()
    shown = [r for r in driver.find_elements(By.CSS_SELECTOR, "#activity-list li") if r.is_displayed()]
    assert shown and all(r.get_attribute("data-emergency") == "true" for r in shown), [r.text for r in shown]
    take_screenshots(driver, "activity-emergency")


def drafted_consent(path: Path, patient: str, clinician: str) -> Path:
    """Examples/fhir's labs-and-vitals Consent made out to `patient` and `clinician`, written to `path`."""
    text = (REPO_ROOT / "Examples" / "fhir" / "consent-labs-vitals-treatment.json").read_text()
    path.write_text(text.replace(EXAMPLE_PATIENT, patient).replace(EXAMPLE_CLINICIAN, clinician))
    return path


def test_patient_imports_a_fhir_consent_reviews_and_signs_it(node, browsers, tmp_path):
    clinician_identity = tmp_path / "clinician.pem"
    clinician = node.keygen(clinician_identity)
    someone_else = node.keygen(tmp_path / "someone-else.pem")
    driver = browsers.start("consent")
    patient = create_key(driver, node)
    open_screen(driver, "give")

    # Given a consent the clinic drafted for this patient and clinician, when the patient picks its file.
    driver.find_element(By.ID, "consent-file").send_keys(
        str(drafted_consent(tmp_path / "consent.json", patient, clinician)))

    # Then the page shows what the node read in it: the nested deny first, then the grant, in the page's words.
    visible(driver, "#consent-proposal", "the proposed grants of the consent")
    assert driver.switch_to.active_element.get_attribute("id") == "consent-proposal-title", "focus moves to them"
    cards = driver.find_elements(By.CSS_SELECTOR, "#consent-grants li.proposal")
    assert [card.get_attribute("data-effect") for card in cards] == ["deny", "permit"]
    assert all(card.get_attribute("data-grantee") == clinician and clinician in card.text for card in cards)
    deny, permit = cards[0].text, cards[1].text
    assert "Refuse" in deny and "May not" in deny and "See records" in deny, deny
    assert "Vital signs" in deny and "Healthcare operations" in deny and "Lab results" not in deny, deny
    assert "Give access" in permit and "Lab results" in permit and "Vital signs" in permit, permit
    assert "Treatment" in permit and "Healthcare operations" in permit, permit
    # From 2026-01-01 to 2030-12-31 inclusive: [from, until) to the millisecond, whatever the browser's time zone.
    for card in cards:
        times = [element.get_attribute("datetime") for element in card.find_elements(By.CSS_SELECTOR, "time")]
        assert times == ["2026-01-01T00:00:00.000Z", "2031-01-01T00:00:00.000Z"], times
        assert "Records dated" in card.text and "Any date" in card.text, card.text
    summary = driver.find_element(By.ID, "consent-summary").text
    assert summary.startswith("consent.json states 2 grants: 1 gives access, 1 refuses it (refusals are signed first)."), summary
    take_screenshots(driver, "import-consent", scroll_to="import-consent")
    # Nothing is signed before the patient says so.
    open_screen(driver, "access")
    visible(driver, "#access-empty", "the empty access list before signing")
    open_screen(driver, "give")

    # When the patient signs.
    driver.find_element(By.ID, "consent-sign").click()
    result = visible(driver, "#consent-result", "the confirmation of the signed consent")
    assert result.text.startswith("Consent signed: 2 grants given."), result.text
    grant_ids = result.get_attribute("data-grant-ids").split()
    assert len(grant_ids) == 2 and all(len(grant_id) == 64 for grant_id in grant_ids), grant_ids
    assert not driver.find_element(By.ID, "consent-proposal").is_displayed()

    # Then both grants are listed under who can see what, the deny as a refusal.
    open_screen(driver, "access")
    card = visible(driver, f'#access-list li[data-grantee="{clinician}"]', "the clinician's card after signing")
    listed = {item.get_attribute("data-grant-id"): item.get_attribute("data-effect")
              for item in card.find_elements(By.CSS_SELECTOR, "li.grant")}
    assert listed == {grant_ids[0]: "deny", grant_ids[1]: "permit"}, listed

    # (The clinician's own view of them: the same two grants, in signing order, with the consent's end.)
    received = node.cli("grants", "--received", "--json", identity=clinician_identity)
    assert received.exit_code == 0, f"the clinician's grant list failed: {received.stderr}"
    grants = [json.loads(line) for line in received.stdout.splitlines() if line.strip()]
    assert [(grant["grant_id"], grant["effect"]) for grant in grants] == [(grant_ids[0], "deny"), (grant_ids[1], "permit")]
    assert all(grant["valid_until_unix_ms"] == 1924992000000 for grant in grants), grants

    # And the clinician may read labs for treatment, and is refused vitals for operations (exit code 2).
    allowed = node.cli("query", "--patient", patient, "--categories", "labs", "--purpose", "treatment",
                       identity=clinician_identity)
    assert allowed.exit_code == 0, f"the clinician's labs query failed: {allowed.stderr}"
    refused = node.cli("query", "--patient", patient, "--categories", "vitals", "--purpose", "operations",
                       identity=clinician_identity)
    assert refused.exit_code == 2, f"expected vitals for operations refused (exit 2): {refused.exit_code} {refused.stderr}"

    # When the patient picks a consent made out to someone else, then the page refuses it and offers nothing to sign.
    open_screen(driver, "give")
    driver.find_element(By.ID, "consent-file").send_keys(
        str(drafted_consent(tmp_path / "other-patient.json", someone_else, clinician)))
    error = visible(driver, "#consent-error", "the refusal of another patient's consent")
    assert f"This consent is for another patient ({someone_else})" in error.text, error.text
    assert not driver.find_element(By.ID, "consent-proposal").is_displayed()

    # And a consent the ledger cannot state is refused naming the element to fix.
    unsupported = drafted_consent(tmp_path / "disclose.json", patient, clinician)
    unsupported.write_text(unsupported.read_text().replace('"code": "access"', '"code": "disclose"'))
    driver.find_element(By.ID, "consent-file").send_keys(str(unsupported))
    wait_for(driver, lambda d: "Consent.provision.action[0]" in d.find_element(By.ID, "consent-error").text,
             "the element named in the refusal of an unsupported consent")
    assert not driver.find_element(By.ID, "consent-proposal").is_displayed()
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], f"the page logged errors: {errors}"
