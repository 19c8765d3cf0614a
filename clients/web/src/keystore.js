// The browser's IndexedDB database of the dashboard: the patient's identity (its signing key as a
// non-extractable CryptoKey, which IndexedDB stores without ever exposing its bytes), transactions signed
// but not yet answered, kept so a reload resends the very same bytes, and per chain the node keys pinned on
// first use and the last checkpoint verified, so a node that later rewrites its history is caught.

const DATABASE_NAME = "healthledger-dashboard";
/** Version 2 added the chains store; upgrading keeps the identity and pending transactions. */
const DATABASE_VERSION = 2;
const IDENTITY_STORE = "identity";
const PENDING_STORE = "pending";
const CHAINS_STORE = "chains";
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
      const existing = opening.result.objectStoreNames;
      for (const name of [IDENTITY_STORE, PENDING_STORE, CHAINS_STORE]) {
        if (!existing.contains(name)) opening.result.createObjectStore(name);
      }
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

/** The trust state of a chain (pinned node keys, last checkpoint verified; see proofs.js) as a LogVerifier
 * store: kept across reloads, never sent anywhere. */
export function chainTrustStore(chainId) {
  return {
    load: async () => request((await store(CHAINS_STORE, "readonly")).get(chainId)),
    save: async (state) => {
      await request((await store(CHAINS_STORE, "readwrite")).put(state, chainId));
    },
  };
}
