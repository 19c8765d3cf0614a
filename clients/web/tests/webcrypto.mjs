// Node before 19 has WebCrypto only as require("node:crypto").webcrypto, not as the global `crypto` the page
// (and a browser) uses: imported first by every test that signs or encrypts.
import { webcrypto } from "node:crypto";

if (globalThis.crypto?.subtle === undefined) {
  Object.defineProperty(globalThis, "crypto", { value: webcrypto, configurable: true });
}
