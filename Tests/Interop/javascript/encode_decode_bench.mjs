// Encode/decode cost of the committed generated JavaScript (clients/web/generated) on a signed-transaction body
// the dashboard builds for a Grant. Run by hand (never from tests): node encode_decode_bench.mjs
// Prints min and median over 7 repeats of 200,000 messages each.
import { Action, DataCategory, Effect, Grant, Purpose } from "../../../clients/web/generated/healthledger/v1/policy.js";
import { TransactionBody } from "../../../clients/web/generated/healthledger/v1/transaction.js";

const body = new TransactionBody({
  chainId: "healthledger-demo",
  author: "hl1" + "a".repeat(38),
  sequence: 42n,
  createdAtUnixMs: 1764190000000n,
  operation: {
    case: "grant",
    value: new Grant({
      patient: "hl1" + "a".repeat(38),
      grantee: "hl1" + "b".repeat(38),
      actions: [Action.ACTION_READ],
      categories: [DataCategory.DATA_CATEGORY_LABS, DataCategory.DATA_CATEGORY_VITALS],
      purposes: [Purpose.PURPOSE_TREATMENT],
      validUntilUnixMs: 1795726000000n,
      effect: Effect.EFFECT_PERMIT,
      note: "knee surgery follow-up",
    }),
  },
});
const bytes = body.toBinary();

function measure(label, run, count = 200000) {
  const perMessage = [];
  for (let repeat = 0; repeat < 7; repeat++) {
    const start = process.hrtime.bigint();
    for (let index = 0; index < count; index++) run();
    perMessage.push(Number(process.hrtime.bigint() - start) / count);
  }
  perMessage.sort((a, b) => a - b);
  console.log(`${label}: min ${perMessage[0].toFixed(0)} ns, median ${perMessage[3].toFixed(0)} ns per message`);
}

console.log(`TransactionBody with a Grant: ${bytes.length} bytes`);
measure("encode (toBinary)", () => body.toBinary());
measure("decode (fromBinary)", () => TransactionBody.fromBinary(bytes));
