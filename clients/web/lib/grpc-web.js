// gRPC-Web client runtime for the dashboard's generated clients
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md): frames requests, reads the response body
// as it arrives, yields each message as its frame completes and reads the status from the trailer frame.
// Plain ES module over `fetch`; works unbundled in browsers and in Node 18+ (with a fetch that speaks HTTP/2
// to the node, since browsers reach it over TLS HTTP/2).

/** gRPC status codes by name. */
export const StatusCode = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
});

const codeNames = Object.freeze(Object.fromEntries(Object.entries(StatusCode).map(([name, code]) => [code, name])));

/** The name of a status code ("PERMISSION_DENIED"), or "CODE_<n>" for a number gRPC does not define. */
export function statusCodeName(code) {
  return codeNames[code] ?? `CODE_${code}`;
}

/** A call that ended with a status other than OK: `code`, `codeName`, the server's message and metadata. */
export class GrpcError extends Error {
  /**
   * @param {number} code
   * @param {string} message
   * @param {Record<string, string>} [metadata] Response headers and trailers, names in lower case.
   */
  constructor(code, message, metadata = {}) {
    super(message);
    this.name = "GrpcError";
    this.code = code;
    this.codeName = statusCodeName(code);
    this.metadata = metadata;
  }
}

/**
 * @typedef {object} CallOptions
 * @property {Record<string, string>} [metadata] Request metadata, e.g. `{ authorization: "Bearer <token>" }`.
 * @property {AbortSignal} [signal] Cancels the call (it then fails with CANCELLED).
 * @property {number} [timeoutMs] Deadline: sent as `grpc-timeout`, and the call fails with DEADLINE_EXCEEDED.
 */

/** The gRPC code of an HTTP status, for responses without grpc-status (gRPC's http-grpc-status-mapping.md). */
export function codeForHttpStatus(status) {
  switch (status) {
    case 400:
      return StatusCode.INTERNAL;
    case 401:
      return StatusCode.UNAUTHENTICATED;
    case 403:
      return StatusCode.PERMISSION_DENIED;
    case 404:
      return StatusCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return StatusCode.UNAVAILABLE;
    default:
      return StatusCode.UNKNOWN;
  }
}

/** The grpc-timeout header value of a deadline: at most 8 digits, in the finest unit that fits. */
export function grpcTimeout(milliseconds) {
  if (milliseconds < 1e8) return `${milliseconds}m`;
  const seconds = Math.ceil(milliseconds / 1000);
  if (seconds < 1e8) return `${seconds}S`;
  return `${Math.min(99999999, Math.ceil(seconds / 3600))}H`;
}

/** One length-prefixed gRPC-Web frame: flag byte (0x80 marks trailers), 4-byte big-endian length, payload. */
export function encodeFrame(payload, flags = 0) {
  const frame = new Uint8Array(5 + payload.length);
  frame[0] = flags;
  new DataView(frame.buffer).setUint32(1, payload.length, false);
  frame.set(payload, 5);
  return frame;
}

/** Parses a trailer frame's payload (`name: value` lines, CRLF-separated) into lower-case names. */
export function parseTrailers(payload) {
  const trailers = {};
  const text = new TextDecoder().decode(payload);
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    addMetadata(trailers, line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return trailers;
}

function addMetadata(metadata, name, value) {
  metadata[name] = name in metadata ? `${metadata[name]}, ${value}` : value;
}

/** Percent-decodes grpc-message; text that is not valid percent-encoding is kept as it is. */
export function decodeGrpcMessage(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Splits a gRPC-Web response body into frames as its chunks arrive; messages and trailers come out in order. */
export class FrameParser {
  constructor() {
    this.buffer = new Uint8Array(0);
  }

  /**
   * Adds a chunk and returns the frames it completed, each `{ trailer: boolean, payload: Uint8Array }`.
   * @param {Uint8Array} chunk
   */
  push(chunk) {
    if (this.buffer.length === 0) {
      this.buffer = chunk;
    } else {
      const joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer);
      joined.set(chunk, this.buffer.length);
      this.buffer = joined;
    }
    const frames = [];
    let offset = 0;
    while (this.buffer.length - offset >= 5) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + offset, 5);
      const flags = view.getUint8(0);
      const length = view.getUint32(1, false);
      if (this.buffer.length - offset - 5 < length) break;
      if ((flags & 0x01) !== 0) {
        throw new GrpcError(StatusCode.INTERNAL, "compressed gRPC-Web frame, but no compression was negotiated");
      }
      const payload = this.buffer.slice(offset + 5, offset + 5 + length);
      frames.push({ trailer: (flags & 0x80) !== 0, payload });
      offset += 5 + length;
    }
    this.buffer = offset === 0 ? this.buffer : this.buffer.slice(offset);
    return frames;
  }

  /** Whether a partial frame is left over. */
  get hasPartialFrame() {
    return this.buffer.length > 0;
  }
}

/** Decodes a base64 response body (`-text` format) as it arrives: whole 4-character groups at a time, so the
 * padded segments a server may concatenate (one per flush) decode correctly. */
export class Base64ChunkDecoder {
  constructor() {
    this.pending = "";
  }

  /** Adds text and returns the bytes of every complete group. @param {string} text */
  push(text) {
    this.pending += text.replace(/\s+/g, "");
    const usable = this.pending.length - (this.pending.length % 4);
    if (usable === 0) return new Uint8Array(0);
    const groups = this.pending.slice(0, usable);
    this.pending = this.pending.slice(usable);
    const parts = [];
    let start = 0;
    // Padding may only end a segment: decode segment by segment.
    for (let index = 0; index < groups.length; index += 4) {
      if (groups[index + 3] === "=") {
        parts.push(base64ToBytes(groups.slice(start, index + 4)));
        start = index + 4;
      }
    }
    if (start < groups.length) parts.push(base64ToBytes(groups.slice(start)));
    return concat(parts);
  }

  /** Whether undecoded characters are left over. */
  get hasPending() {
    return this.pending.length > 0;
  }
}

function base64ToBytes(text) {
  let binary;
  try {
    binary = atob(text);
  } catch {
    throw new GrpcError(StatusCode.INTERNAL, "malformed base64 in a gRPC-Web text response");
  }
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function bytesToBase64(bytes) {
  let binary = "";
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}

function concat(parts) {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const part of parts) length += part.length;
  const result = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

/** Calls gRPC services over gRPC-Web with `fetch`; generated clients (`new LedgerClient(transport)`) use it. */
export class GrpcWebTransport {
  /**
   * @param {{ baseUrl?: string, format?: "binary" | "text", fetch?: typeof fetch }} [options]
   *   `baseUrl` defaults to the page's origin, `format` to "binary", `fetch` to the global one.
   */
  constructor(options = {}) {
    const base = options.baseUrl ?? globalThis.location?.origin;
    if (!base) throw new Error("GrpcWebTransport needs a baseUrl outside a browser page");
    this.baseUrl = base.replace(/\/+$/, "");
    this.format = options.format ?? "binary";
    if (this.format !== "binary" && this.format !== "text") throw new Error(`unknown format ${this.format}`);
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** A unary call: one request, one response. */
  async unary(path, request, responseType, options) {
    return single(this.call(path, [request], responseType, options));
  }

  /** A server-streaming call: one request, responses as an async iterable. */
  serverStream(path, request, responseType, options) {
    return this.call(path, [request], responseType, options);
  }

  /** A client-streaming call: every request (array, iterable or async iterable) in one body, one response. */
  async clientStream(path, requests, requestType, responseType, options) {
    const collected = await collect(requests, requestType);
    return single(this.call(path, collected, responseType, options));
  }

  /** A bidirectional call, half-duplex as gRPC-Web is: every request first, then the responses. */
  bidiStream(path, requests, requestType, responseType, options) {
    const transport = this;
    return (async function* () {
      const collected = await collect(requests, requestType);
      yield* transport.call(path, collected, responseType, options);
    })();
  }

  /**
   * Sends `requests` (messages with `toBinary()`) to `path` and yields decoded responses as their frames
   * complete; throws GrpcError for every status but OK.
   */
  async *call(path, requests, responseType, options = {}) {
    const controller = new AbortController();
    let deadlineExceeded = false;
    let timer;
    const onAbort = () => controller.abort();
    if (options.signal) {
      if (options.signal.aborted) throw new GrpcError(StatusCode.CANCELLED, "the call was cancelled");
      options.signal.addEventListener("abort", onAbort, { once: true });
    }
    const headers = {
      "content-type": this.format === "text" ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
      accept: this.format === "text" ? "application/grpc-web-text" : "application/grpc-web",
      "x-grpc-web": "1",
      "x-user-agent": "healthledger-grpc-web/1",
    };
    if (options.timeoutMs !== undefined) {
      const milliseconds = Math.max(0, Math.ceil(options.timeoutMs));
      headers["grpc-timeout"] = grpcTimeout(milliseconds);
      timer = setTimeout(() => {
        deadlineExceeded = true;
        controller.abort();
      }, milliseconds);
    }
    for (const [name, value] of Object.entries(options.metadata ?? {})) headers[name.toLowerCase()] = value;

    const frames = concat(requests.map((request) => encodeFrame(request.toBinary())));
    const body = this.format === "text" ? bytesToBase64(frames) : frames;
    const failure = (error) => {
      if (deadlineExceeded) return new GrpcError(StatusCode.DEADLINE_EXCEEDED, "deadline exceeded");
      if (options.signal?.aborted) return new GrpcError(StatusCode.CANCELLED, "the call was cancelled");
      if (error instanceof GrpcError) return error;
      return new GrpcError(StatusCode.UNAVAILABLE, `request failed: ${error?.message ?? error}`);
    };

    let reader;
    try {
      let response;
      try {
        response = await this.fetch(this.baseUrl + path, {
          method: "POST",
          headers,
          body,
          signal: controller.signal,
        });
      } catch (error) {
        throw failure(error);
      }
      const metadata = {};
      response.headers.forEach((value, name) => addMetadata(metadata, name.toLowerCase(), value));
      // A trailers-only response carries its status in the headers.
      if (metadata["grpc-status"] !== undefined) {
        const code = Number(metadata["grpc-status"]);
        if (code !== StatusCode.OK) {
          throw new GrpcError(code, decodeGrpcMessage(metadata["grpc-message"] ?? ""), metadata);
        }
      }
      if (response.status !== 200) {
        throw new GrpcError(codeForHttpStatus(response.status), `HTTP status ${response.status}`, metadata);
      }
      if (!response.body) throw new GrpcError(StatusCode.INTERNAL, "the response has no body", metadata);

      reader = response.body.getReader();
      const parser = new FrameParser();
      const text = this.format === "text" ? new Base64ChunkDecoder() : undefined;
      const utf8 = this.format === "text" ? new TextDecoder() : undefined;
      let trailers;
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw failure(error);
        }
        if (chunk.done) break;
        const bytes = text ? text.push(utf8.decode(chunk.value, { stream: true })) : chunk.value;
        for (const frame of parser.push(bytes)) {
          if (trailers) throw new GrpcError(StatusCode.INTERNAL, "a frame after the trailers", metadata);
          if (frame.trailer) {
            trailers = parseTrailers(frame.payload);
            continue;
          }
          let message;
          try {
            message = responseType.fromBinary(frame.payload);
          } catch (error) {
            throw new GrpcError(StatusCode.INTERNAL, `malformed response message: ${error.message}`, metadata);
          }
          yield message;
        }
      }
      reader = undefined;
      if (parser.hasPartialFrame || text?.hasPending) {
        throw new GrpcError(StatusCode.INTERNAL, "the response ended inside a frame", metadata);
      }
      for (const [name, value] of Object.entries(trailers ?? {})) addMetadata(metadata, name, value);
      const status = trailers?.["grpc-status"] ?? (metadata["grpc-status"] !== undefined ? "0" : undefined);
      if (status === undefined) {
        throw new GrpcError(codeForHttpStatus(response.status), "the response has no grpc-status", metadata);
      }
      const code = Number(status);
      if (code !== StatusCode.OK) {
        throw new GrpcError(code, decodeGrpcMessage(trailers["grpc-message"] ?? ""), metadata);
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      // Stopped early (the caller broke out of its loop, or an error): release the connection's stream.
      if (reader) {
        controller.abort();
        reader.cancel().catch(() => {});
      }
    }
  }
}

/** The one response of a unary or client-streaming call. */
async function single(responses) {
  let result;
  let count = 0;
  for await (const response of responses) {
    result = response;
    count++;
  }
  if (count !== 1) {
    throw new GrpcError(StatusCode.INTERNAL, `expected one response message, received ${count}`);
  }
  return result;
}

/** Requests from an array, iterable or async iterable, each turned into a message of `requestType`. */
async function collect(requests, requestType) {
  const collected = [];
  if (requests[Symbol.asyncIterator]) {
    for await (const request of requests) collected.push(requestType.from(request));
  } else {
    for (const request of requests) collected.push(requestType.from(request));
  }
  return collected;
}
