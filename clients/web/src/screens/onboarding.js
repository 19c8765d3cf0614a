// The first screen in a browser with no key: create a key (setting the backup passphrase) or restore one.

import { MIN_PASSPHRASE_LENGTH } from "../backup.js";
import { byId, showMessage, withBusy } from "../dom.js";
import { describeError } from "../errors.js";
import { createIdentity, restoreIdentity } from "../keys.js";
import { saveIdentity } from "../keystore.js";

/** Wires the create and restore forms; `onReady(identity)` runs once a key is stored. */
export function setUpOnboarding(onReady) {
  const createForm = byId("create-key-form");
  const createError = byId("create-key-error");
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const passphrase = byId("create-passphrase").value;
    if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
      showMessage(createError, `The passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters.`);
      byId("create-passphrase").focus();
      return;
    }
    if (passphrase !== byId("create-passphrase-again").value) {
      showMessage(createError, "The two passphrases differ; type the same one twice.");
      byId("create-passphrase-again").focus();
      return;
    }
    await withBusy(byId("create-key"), createError, async () => {
      const identity = await createIdentity(passphrase);
      await saveIdentity(identity);
      createForm.reset();
      onReady(identity, { created: true });
    }, describeError);
  });

  const restoreForm = byId("restore-form");
  const restoreError = byId("restore-error");
  restoreForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = byId("restore-file").files[0];
    if (file === undefined) {
      showMessage(restoreError, "Choose your backup file first.");
      return;
    }
    await withBusy(byId("restore-key"), restoreError, async () => {
      const identity = await restoreIdentity(await file.text(), byId("restore-passphrase").value);
      await saveIdentity(identity);
      restoreForm.reset();
      onReady(identity, { created: false });
    }, describeError);
  });
}
