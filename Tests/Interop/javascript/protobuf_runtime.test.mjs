// Unit tests of clients/web/lib/protobuf.js through generated code for Tests/WireFixtures/proto: the corners
// the differential tests do not reach (limits, error messages, initialisers, map order of astral keys).
// Run: FIXTURES_MODULE=<generated wire_fixtures.js> node --test protobuf_runtime.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { BinaryWriter, ProtobufError, compareStrings } from "../../../clients/web/lib/protobuf.js";

const fixtures = await import(pathToFileURL(process.env.FIXTURES_MODULE).href);
const { Choices, Keywords, Level, Level_name, Maps, OptionalScalars, RepeatedScalars, Scalars, TreeNode } = fixtures;

function nestedTree(depth) {
  let node = new TreeNode({ label: "leaf" });
  for (let level = 1; level < depth; level++) node = new TreeNode({ child: node });
  return node;
}

test("messages nested up to the depth limit decode, one level more is rejected", () => {
  assert.equal(TreeNode.fromBinary(nestedTree(100).toBinary()).child.child.label, "");
  assert.throws(() => TreeNode.fromBinary(nestedTree(102).toBinary()), /nested deeper than 100 levels/);
  assert.doesNotThrow(() => TreeNode.fromBinary(nestedTree(102).toBinary(), { depthLimit: 200 }));
});

test("invalid UTF-8 in a string field is an error, not replacement characters", () => {
  const bytes = new Uint8Array([0x4a, 0x02, 0xc3, 0x28]); // field 9 (string_value), "\xc3(" is not UTF-8
  assert.throws(() => Scalars.fromBinary(bytes), (error) => error instanceof ProtobufError && /invalid UTF-8/.test(error.message));
});

test("a known field with another wire type is rejected with the field's full name", () => {
  const bytes = new Uint8Array([0x48, 0x01]); // field 9 (string_value) as a varint
  assert.throws(() => Scalars.fromBinary(bytes), /healthledger\.fixtures\.v1\.Scalars\.string_value: wire type 0, expected 2/);
});

test("truncated input says where it ended", () => {
  const bytes = new Scalars({ stringValue: "hello" }).toBinary().subarray(0, 4);
  assert.throws(() => Scalars.fromBinary(bytes), /truncated input at byte \d+ of 4/);
});

test("a length prefix of 2^32 or more is refused, not cut to its low 32 bits", () => {
  // Varints of 2^32 + 2 and 2^49: their low 32 bits are 2 and 0, which would fit what follows.
  const lengths = [
    [0x82, 0x80, 0x80, 0x80, 0x10],
    [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
  ];
  for (const length of lengths) {
    const cases = [
      [Scalars, [0x4a, ...length, 0x68, 0x69]], // string_value
      [TreeNode, [0x12, ...length, 0x0a, 0x00]], // child, a nested message
      [RepeatedScalars, [0x22, ...length, 0x01, 0x02]], // uint64s, packed
      [Scalars, [0xc2, 0x3e, ...length, 0x68, 0x69]], // field 1000, unknown, skipped
    ];
    for (const [type, bytes] of cases) {
      assert.throws(
        () => type.fromBinary(new Uint8Array(bytes)),
        (error) => error instanceof ProtobufError && /truncated input/.test(error.message),
        `${type.typeName}: ${bytes.map((byte) => byte.toString(16)).join(" ")}`,
      );
    }
  }
});

test("a message larger than 64 KiB gets multi-byte length prefixes at every level", () => {
  const big = "x".repeat(70000) + "\u00e9\u{1F600}";
  const tree = new TreeNode({ child: { child: { label: big } } });
  const decoded = TreeNode.fromBinary(tree.toBinary());
  assert.equal(decoded.child.child.label, big);
  assert.deepEqual(decoded.toBinary(), tree.toBinary());
});

test("initialisers convert plain objects, numbers and strings to messages and BigInts", () => {
  const message = new Maps({
    int64ToInt64: { "-5": "7", 3: 4 },
    boolToLevel: { true: Level.LEVEL_HIGH },
    stringToLeaf: { a: { name: "leaf", weight: 12 } },
  });
  assert.equal(message.int64ToInt64.get(-5n), 7n);
  assert.equal(message.int64ToInt64.get(3n), 4n);
  assert.equal(message.boolToLevel.get(true), 2);
  assert.equal(message.stringToLeaf.get("a").weight, 12n);
  assert.equal(message.stringToLeaf.get("a").constructor.typeName, "healthledger.fixtures.v1.Leaf");
  const choices = new Choices({ choice: { case: "leaf", value: { name: "n" } }, second: { case: "stamp", value: 9 } });
  assert.equal(choices.choice.value.constructor.typeName, "healthledger.fixtures.v1.Leaf");
  assert.equal(choices.second.value, 9n);
  assert.deepEqual(Choices.fromBinary(choices.toBinary()).choice.value.name, "n");
});

test("map entries are written in key order: numbers numerically, strings by UTF-8 bytes", () => {
  const keys = ["\u{10000}", "\uffff", "b", "a", ""];
  const message = new Maps({ stringToString: new Map(keys.map((key) => [key, key])) });
  const decoded = Maps.fromBinary(message.toBinary());
  assert.deepEqual([...decoded.stringToString.keys()], ["", "a", "b", "\uffff", "\u{10000}"]);
  assert.ok(compareStrings("\uffff", "\u{10000}") < 0);
  const numbers = new Maps({ int32ToString: new Map([[5, "five"], [-1, "minus"], [0, "zero"]]) });
  assert.deepEqual([...Maps.fromBinary(numbers.toBinary()).int32ToString.keys()], [-1, 0, 5]);
});

test("optional fields set to zero are written; unset ones are not", () => {
  assert.equal(new OptionalScalars().toBinary().length, 0);
  const zeros = new OptionalScalars({ int32Value: 0, boolValue: false, stringValue: "", uint64Value: 0n });
  const decoded = OptionalScalars.fromBinary(zeros.toBinary());
  assert.equal(decoded.int32Value, 0);
  assert.equal(decoded.boolValue, false);
  assert.equal(decoded.uint64Value, 0n);
  assert.equal(decoded.sint32Value, undefined);
});

test("out-of-range values are refused when encoding, never wrapped", () => {
  assert.throws(() => new Scalars({ uint64Value: -1n }).toBinary(), /uint64 out of range/);
  assert.throws(() => new Scalars({ int64Value: 2n ** 63n }).toBinary(), /int64 out of range/);
  assert.throws(() => new Scalars({ int32Value: 2 ** 31 }).toBinary(), /int32 out of range/);
  assert.throws(() => new Scalars({ uint32Value: 1.5 }).toBinary(), /uint32 out of range/);
});

test("field names that are JavaScript keywords are ordinary properties", () => {
  const message = new Keywords({ default: "d", class: "c", in: ["x"], where: { k: "v" }, case: { case: "switch", value: "s" } });
  const decoded = Keywords.fromBinary(message.toBinary());
  assert.equal(decoded.default, "d");
  assert.equal(decoded.class, "c");
  assert.deepEqual(decoded.in, ["x"]);
  assert.equal(decoded.where.get("k"), "v");
  assert.deepEqual(decoded.case, { case: "switch", value: "s" });
});

test("enums are frozen objects of full names, with a name function for any number", () => {
  assert.ok(Object.isFrozen(Level));
  assert.equal(Level.LEVEL_FLOOR, -2147483648);
  assert.equal(Level_name(1), "LEVEL_LOW");
  assert.equal(Level_name(12345), "12345");
  const unknown = Scalars.fromBinary(new Scalars({ levelValue: 12345 }).toBinary());
  assert.equal(unknown.levelValue, 12345);
});

test("a writer reused after finish starts empty and does not share bytes with the result", () => {
  const writer = new BinaryWriter();
  writer.tag(1, 2).string("first");
  const first = writer.finish();
  const other = new BinaryWriter();
  other.tag(1, 2).string("second");
  writer.tag(1, 2).string("third");
  assert.deepEqual(new TextDecoder().decode(first.subarray(2)), "first");
  assert.deepEqual(new TextDecoder().decode(other.finish().subarray(2)), "second");
  assert.deepEqual(new TextDecoder().decode(writer.finish().subarray(2)), "third");
});
