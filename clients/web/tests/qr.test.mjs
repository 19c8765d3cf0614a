// The QR encoder's structure: version choice, function patterns, format information. That the symbols
// decode, and match an independent encoder module for module, is checked by Tests/Browser/test_qr_encoder.py.
import "./webcrypto.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeQr, formatInformation, smallestVersion } from "../src/qr.js";

test("byte-mode capacities at level M pick the smallest version, up to 213 bytes in version 10", () => {
  assert.equal(smallestVersion(14), 1);
  assert.equal(smallestVersion(15), 2);
  assert.equal(smallestVersion(41), 3);
  assert.equal(smallestVersion(213), 10);
  assert.equal(smallestVersion(214), 0);
  assert.throws(() => encodeQr("x".repeat(214)), /do not fit/);
});

test("a principal id becomes a version 3 symbol with finder, timing and dark module in place", () => {
  const code = encodeQr("hl1s8lz2fpaalghza3qh2vxdqkufdudgy9p5u2t6m");
  assert.equal(code.version, 3);
  assert.equal(code.size, 29);
  const m = code.modules;
  for (const [row, column] of [[0, 0], [0, 22], [22, 0]]) {
    assert.ok(m[row][column] && m[row + 6][column + 6] && m[row + 3][column + 3], "finder corners and centre are dark");
    assert.ok(!m[row + 1][column + 1], "finder ring is light");
  }
  for (let i = 8; i < 21; i++) assert.equal(m[6][i], i % 2 === 0, `timing module ${i}`);
  assert.ok(m[code.size - 8][8], "the dark module");
});

test("format information is the standard's table for level M (ISO/IEC 18004 Table C.1)", () => {
  const table = ["101010000010010", "101000100100101", "101111001111100", "101101101001011",
    "100010111111001", "100000011001110", "100111110010111", "100101010100000"];
  table.forEach((bits, mask) => assert.equal(formatInformation(mask).toString(2).padStart(15, "0"), bits));
});

test("every forced mask gives a symbol of that mask, and the chosen mask is one of the eight", () => {
  for (let mask = 0; mask < 8; mask++) assert.equal(encodeQr("abc", { mask }).mask, mask);
  assert.ok([0, 1, 2, 3, 4, 5, 6, 7].includes(encodeQr("abc").mask));
});
