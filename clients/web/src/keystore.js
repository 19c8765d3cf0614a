// The browser's IndexedDB database of the dashboard: the patient's identity (its signing key as a
// non-extractable CryptoKey, which IndexedDB stores without ever exposing its bytes) and transactions signed
// but not yet answered, kept so a reload resends the very same bytes.

const DATABASE_NAME = "healthledger-dashboard";
const DATABASE_VERSION = 1;
const IDENTITY_STORE = "identity";
const PENDING_STORE = "pending";
const IDENTITY_KEY = "current";

function request(operation) {
  return new Promise((resolve, reject) => {
    operation.onsuccess = () => resolve(operation.result);
    operation.onerror = () => reject(operation.error);
  });
}

let opened = null;

function database() {
  opened ??= new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE_NAME, DATABASE_VERSION);
    opening.onupgradeneeded = () => {
      opening.result.createObjectStore(IDENTITY_STORE);
      opening.result.createObjectStore(PENDING_STORE);
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
    opening.onblocked = () => reject(new Error("The key store is open in another tab that must be closed first."));
  });
  return opened;
}

async function store(name, mode) {
  return (await database()).transaction(name, mode).objectStore(name);
}

/** The stored identity, or undefined before a key was created or restored. */
export async function loadIdentity() {
  return request((await store(IDENTITY_STORE, "readonly")).get(IDENTITY_KEY));
}

/** Stores the identity (replacing any earlier one). */
export async function saveIdentity(identity) {
  await request((await store(IDENTITY_STORE, "readwrite")).put(identity, IDENTITY_KEY));
}

/** Keeps a signed transaction under its id until the node has answered it. */
export async function savePending(transactionId, pending) {
  await request((await store(PENDING_STORE, "readwrite")).put(pending, transactionId));
}

/** Forgets a transaction the node has answered. */
export async function deletePending(transactionId) {
  await request((await store(PENDING_STORE, "readwrite")).delete(transactionId));
}

/** Every transaction signed but not yet answered, as [id, pending] pairs. */
export async function listPending() {
  const pendingStore = await store(PENDING_STORE, "readonly");
  const [keys, values] = await Promise.all([request(pendingStore.getAllKeys()), request(pendingStore.getAll())]);
  return keys.map((key, index) => [key, values[index]]);
}
