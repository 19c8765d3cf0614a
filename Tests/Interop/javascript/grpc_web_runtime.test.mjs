// Unit tests of clients/web/lib/grpc-web.js against canned gRPC-Web response bodies, with a fetch that records
// the request and answers from a ReadableStream the test controls. Run: node --test grpc_web_runtime.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Base64ChunkDecoder,
  GrpcError,
  GrpcWebTransport,
  StatusCode,
  encodeFrame,
  grpcTimeout,
} from "../../../clients/web/lib/grpc-web.js";

const utf8 = new TextEncoder();

/** A message type whose encoding is its bytes, so frames can be checked without generated code. */
const Raw = {
  from: (value) => value,
  fromBinary: (bytes) => ({ bytes: Array.from(bytes) }),
};
const raw = (...bytes) => ({ toBinary: () => new Uint8Array(bytes) });

function trailerFrame(text) {
  return encodeFrame(utf8.encode(text), 0x80);
}

function concat(...parts) {
  const result = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

/** A fetch answering `status`, `headers` and a body made of `chunks` (pushed at once, or by the test). */
function fakeFetch({ status = 200, headers = {}, chunks = [], hold = false } = {}) {
  const calls = [];
  let controller;
  let markStarted;
  const started = new Promise((resolve) => (markStarted = resolve));
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const body = new ReadableStream({
      start(streamController) {
        controller = streamController;
        markStarted();
        for (const chunk of chunks) streamController.enqueue(chunk);
        if (!hold) streamController.close();
      },
    });
    init.signal?.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
    return new Response(body, { status, headers: { "content-type": "application/grpc-web+proto", ...headers } });
  };
  return { fetch, calls, started, push: (chunk) => controller.enqueue(chunk), close: () => controller.close() };
}

test("a unary call frames its request and reads a response split at every byte", async () => {
  const body = concat(encodeFrame(new Uint8Array([8, 1])), trailerFrame("grpc-status: 0\r\ngrpc-message: \r\n"));
  const chunks = Array.from(body, (byte) => new Uint8Array([byte]));
  const server = fakeFetch({ chunks });
  const transport = new GrpcWebTransport({ baseUrl: "https://node.example:8443/", fetch: server.fetch });
  const response = await transport.unary("/healthledger.v1.Ledger/Grant", raw(1, 2, 3), Raw, {
    metadata: { Authorization: "Bearer token" },
    timeoutMs: 1500,
  });
  assert.deepEqual(response, { bytes: [8, 1] });
  const { url, init } = server.calls[0];
  assert.equal(url, "https://node.example:8443/healthledger.v1.Ledger/Grant");
  assert.equal(init.method, "POST");
  assert.equal(init.headers["content-type"], "application/grpc-web+proto");
  assert.equal(init.headers["x-grpc-web"], "1");
  assert.equal(init.headers["grpc-timeout"], "1500m");
  assert.equal(init.headers.authorization, "Bearer token");
  assert.deepEqual(Array.from(init.body), [0, 0, 0, 0, 3, 1, 2, 3]);
});

test("a server stream yields each message as soon as its frame is complete", async () => {
  const server = fakeFetch({ hold: true });
  const transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  const iterator = transport.serverStream("/healthledger.v1.Ledger/AuditStream", raw(), Raw)[Symbol.asyncIterator]();
  const first = iterator.next();
  await server.started;
  const frame = encodeFrame(new Uint8Array([1]));
  server.push(frame.subarray(0, 3));
  server.push(concat(frame.subarray(3), encodeFrame(new Uint8Array([2])).subarray(0, 2)));
  assert.deepEqual((await first).value, { bytes: [1] });
  const second = iterator.next();
  server.push(concat(encodeFrame(new Uint8Array([2])).subarray(2), trailerFrame("grpc-status:0\r\n")));
  assert.deepEqual((await second).value, { bytes: [2] });
  server.close();
  assert.equal((await iterator.next()).done, true);
});

test("a status in the trailer frame becomes a GrpcError with the percent-decoded message and metadata", async () => {
  const server = fakeFetch({
    headers: { "x-request-id": "abc" },
    chunks: [trailerFrame("grpc-status: 7\r\ngrpc-message: no%20grant%20covers%20labs%20%E2%9C%93\r\nx-detail: d\r\n")],
  });
  const transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  await assert.rejects(transport.unary("/s/M", raw(), Raw), (error) => {
    assert.ok(error instanceof GrpcError);
    assert.equal(error.code, StatusCode.PERMISSION_DENIED);
    assert.equal(error.codeName, "PERMISSION_DENIED");
    assert.equal(error.message, "no grant covers labs \u2713");
    assert.equal(error.metadata["x-request-id"], "abc");
    assert.equal(error.metadata["x-detail"], "d");
    return true;
  });
});

test("a trailers-only response carries its status in the headers", async () => {
  const server = fakeFetch({ headers: { "grpc-status": "16", "grpc-message": "bad%20token" } });
  const transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  await assert.rejects(transport.unary("/s/M", raw(), Raw), { code: StatusCode.UNAUTHENTICATED, message: "bad token" });
});

test("HTTP errors without grpc-status map as gRPC's http-grpc-status-mapping says", async () => {
  const expected = { 400: "INTERNAL", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "UNIMPLEMENTED",
    429: "UNAVAILABLE", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "UNAVAILABLE", 500: "UNKNOWN", 415: "UNKNOWN" };
  for (const [status, codeName] of Object.entries(expected)) {
    const server = fakeFetch({ status: Number(status) });
    const transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
    await assert.rejects(transport.unary("/s/M", raw(), Raw), { codeName }, `HTTP ${status}`);
  }
});

test("a body that ends without trailers is UNKNOWN, one that ends inside a frame INTERNAL", async () => {
  let server = fakeFetch({ chunks: [encodeFrame(new Uint8Array([1]))] });
  let transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  await assert.rejects(transport.unary("/s/M", raw(), Raw), { codeName: "UNKNOWN" });
  server = fakeFetch({ chunks: [encodeFrame(new Uint8Array([1, 2, 3])).subarray(0, 6)] });
  transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  await assert.rejects(transport.unary("/s/M", raw(), Raw), { codeName: "INTERNAL" });
});

test("the text format sends base64 and reads base64 made of separately padded segments", async () => {
  const segments = [encodeFrame(new Uint8Array([7])), encodeFrame(new Uint8Array([8, 9])), trailerFrame("grpc-status: 0")]
    .map((frame) => Buffer.from(frame).toString("base64"));
  const text = segments.join("");
  const chunks = [text.slice(0, 5), text.slice(5, 13), text.slice(13)].map((part) => utf8.encode(part));
  const server = fakeFetch({ chunks, headers: { "content-type": "application/grpc-web-text+proto" } });
  const transport = new GrpcWebTransport({ baseUrl: "https://node.example", format: "text", fetch: server.fetch });
  const received = [];
  for await (const message of transport.serverStream("/s/M", raw(5), Raw)) received.push(message.bytes);
  assert.deepEqual(received, [[7], [8, 9]]);
  const { init } = server.calls[0];
  assert.equal(init.headers["content-type"], "application/grpc-web-text+proto");
  assert.equal(init.body, Buffer.from([0, 0, 0, 0, 1, 5]).toString("base64"));
});

test("base64 chunks decode group by group whatever their boundaries", () => {
  const decoder = new Base64ChunkDecoder();
  const parts = ["AQ", "==AgM", "=", "BAUG"].map((part) => Array.from(decoder.push(part)));
  assert.deepEqual(parts.flat(), [1, 2, 3, 4, 5, 6]);
  assert.equal(decoder.hasPending, false);
});

test("a client stream sends every request in one body", async () => {
  const server = fakeFetch({ chunks: [encodeFrame(new Uint8Array([1])), trailerFrame("grpc-status: 0")] });
  const transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  async function* requests() {
    yield raw(1);
    yield raw(2, 2);
  }
  await transport.clientStream("/s/Write", requests(), { from: (value) => value }, Raw);
  assert.deepEqual(Array.from(server.calls[0].init.body), [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 2, 2, 2]);
});

test("timeoutMs ends a silent call with DEADLINE_EXCEEDED, an aborted signal with CANCELLED", async () => {
  let server = fakeFetch({ hold: true });
  let transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  await assert.rejects(transport.unary("/s/M", raw(), Raw, { timeoutMs: 20 }), { codeName: "DEADLINE_EXCEEDED" });
  server = fakeFetch({ hold: true });
  transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(transport.unary("/s/M", raw(), Raw, { signal: controller.signal }), { codeName: "CANCELLED" });
});

test("a compressed frame is rejected, since the client never offers compression", async () => {
  const frame = encodeFrame(new Uint8Array([1]), 0x01);
  const server = fakeFetch({ chunks: [frame, trailerFrame("grpc-status: 0")] });
  const transport = new GrpcWebTransport({ baseUrl: "https://node.example", fetch: server.fetch });
  await assert.rejects(transport.unary("/s/M", raw(), Raw), { codeName: "INTERNAL" });
});

test("grpc-timeout never has more than 8 digits", () => {
  assert.equal(grpcTimeout(1500), "1500m");
  assert.equal(grpcTimeout(99999999), "99999999m");
  assert.equal(grpcTimeout(100000000), "100000S");
  assert.equal(grpcTimeout(1e12), "277778H");
});
