// Calls a running node's Ledger service over gRPC-Web with the committed generated client
// (clients/web/generated) and runtime (clients/web/lib), as the dashboard does, and prints what it observed as
// JSON for test_javascript_codegen.py. Usage: node live_ledger.mjs ORIGIN CA_FILE FORMAT
// Exits 3 when the node does not answer gRPC-Web at all (its response is not application/grpc-web*).
import { readFileSync } from "node:fs";

import { GrpcError, GrpcWebTransport } from "../../../clients/web/lib/grpc-web.js";
import { BlockHeader } from "../../../clients/web/generated/healthledger/v1/chain.js";
import { LedgerClient } from "../../../clients/web/generated/healthledger/v1/ledger_service.js";
import { http2Fetch } from "./http2_fetch.mjs";

const [origin, caFile, format] = process.argv.slice(2);
const fetch = http2Fetch(origin, { ca: readFileSync(caFile), servername: "localhost" });

// Probe: does the node speak gRPC-Web on this listener?
const probe = await fetch(`${origin}/healthledger.v1.Ledger/GetChainHead`, {
  method: "POST",
  headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
  body: new Uint8Array([0, 0, 0, 0, 0]),
});
const probeType = probe.headers.get("content-type") ?? "";
await probe.body?.cancel();
if (!probeType.startsWith("application/grpc-web")) {
  console.log(JSON.stringify({ unsupported: `status ${probe.status}, content-type ${probeType || "none"}` }));
  fetch.close();
  process.exit(3);
}

const client = new LedgerClient(new GrpcWebTransport({ baseUrl: origin, format, fetch }));
const observed = {};
const failure = (error) =>
  error instanceof GrpcError ? { code: error.codeName, message: error.message } : { thrown: String(error) };

try {
  const head = await client.getChainHead({}, { timeoutMs: 10000 });
  observed.chainHead = { chainId: head.chainId, height: String(head.height ?? ""), nodeKeys: head.nodeKeys.length };
} catch (error) {
  observed.chainHead = failure(error);
}

try {
  const heights = [];
  for await (const response of client.getBlocks({ startHeight: 1n })) {
    heights.push(String(BlockHeader.fromBinary(response.block.header).height));
  }
  observed.blocks = { heights };
} catch (error) {
  observed.blocks = failure(error);
}

try {
  const responses = [];
  for await (const response of client.getBlocks({ startHeight: 0n })) responses.push(response);
  observed.invalidBlocks = { responses: responses.length };
} catch (error) {
  observed.invalidBlocks = failure(error);
}

try {
  await client.listGrants({});
  observed.unauthenticated = { ok: true };
} catch (error) {
  observed.unauthenticated = failure(error);
}

// A followed stream the client leaves early must end without hanging the connection.
try {
  let received = 0;
  for await (const _ of client.getBlocks({ startHeight: 1n, follow: true })) {
    received += 1;
    break;
  }
  const again = await client.getChainHead({});
  observed.leftEarly = { received, chainIdAfter: again.chainId };
} catch (error) {
  observed.leftEarly = failure(error);
}

fetch.close();
console.log(JSON.stringify(observed));
