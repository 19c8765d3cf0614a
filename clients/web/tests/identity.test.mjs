// Principal ids, key ids and signing messages against the test vectors of docs/MOBILE.md section 3.
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex } from "../src/bytes.js";
import { keyIdOf, parsePrincipalId, principalIdOf, principalIdProblem } from "../src/principal.js";
import { sessionMessage } from "../src/signing.js";

const ED25519_PUBLIC_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const P256_PUBLIC_KEY =
  "04e3027f9a37073de4ddf2cd8acd377d810c633b615a507d2748bae458cc3c6afffeea4ca93353bc2d8e95ca7a812ada53b905ed262f9fc06516efbaee58441806";

test("given the guide's Ed25519 key, its key id and principal id are the published ones", async () => {
  const key = fromHex(ED25519_PUBLIC_KEY);
  assert.equal(await keyIdOf(key), "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
  assert.equal(await principalIdOf(key), "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8");
});

test("given the guide's P-256 key, its key id and principal id are the published ones", async () => {
  const key = fromHex(P256_PUBLIC_KEY);
  assert.equal(await keyIdOf(key), "81fe25243defd1717620ba986682dc4b78d410a1c150246d312c2f0bc260fa32");
  assert.equal(await principalIdOf(key), "hl1s8lz2fpaalghza3qh2vxdqkufdudgy9p5u2t6m");
});

test("when an id has a typo, upper case, a wrong length or a Bech32 (not Bech32m) checksum, it is refused with the reason", () => {
  const good = "hl1s8lz2fpaalghza3qh2vxdqkufdudgy9p5u2t6m";
  assert.equal(principalIdProblem(good), null);
  assert.equal(parsePrincipalId(`  ${good}\n`), good);
  assert.match(principalIdProblem(good.replace("s8lz", "s8lx")), /checksum/);
  assert.match(principalIdProblem(good.toUpperCase()), /lowercase/);
  assert.match(principalIdProblem(good.slice(0, 40)), /40 characters/);
  assert.match(principalIdProblem(good.replace("s8", "b8")), /"b"/);
  assert.throws(() => parsePrincipalId("hl1"), /has 3 characters/);
});

test("the session message is the guide's session.message for its chain, principal and challenge", () => {
  const challenge = Uint8Array.from({ length: 32 }, (_, i) => i);
  const message = sessionMessage("healthledger-local", "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8", challenge);
  assert.equal(
    toHex(message),
    "006865616c74686c65646765722e76312e73657373696f6e006865616c74686c65646765722d6c6f63616c00686c3179386c7272686170326a33787a636e746c703271676d376a79756468686d327471746774663800000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
  );
});
