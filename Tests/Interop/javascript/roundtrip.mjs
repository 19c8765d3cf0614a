// Re-encodes protobuf messages with the generated JavaScript, for the differential tests in
// test_javascript_codegen.py. Usage: node roundtrip.mjs GENERATED_DIR < requests.json > responses.json
//
// Requests: a JSON array of { type: "pkg.Message", mode, data: base64 }. Modes:
//   "reencode"  fromBinary, then toBinary;
//   "rebuild"   fromBinary, then the message rebuilt through constructors from plain objects (64-bit values as
//               decimal strings, maps as plain objects, nested messages as plain objects), then toBinary;
//   "types"     no data: answers the fully qualified names of every generated message class.
// Responses: a JSON array of { ok: true, data: base64 } or { ok: false, error }.
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

async function modulesUnder(directory) {
  const found = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...(await modulesUnder(path)));
    else if (entry.name.endsWith(".js")) found.push(path);
  }
  return found.sort();
}

/** A decoded message as an initialiser object of plain values, so rebuilding exercises every conversion. */
function plain(value) {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) {
    const object = {};
    for (const [key, entry] of value) object[String(key)] = plain(entry);
    return object;
  }
  if (value !== null && typeof value === "object") {
    const object = {};
    for (const [key, entry] of Object.entries(value)) object[key] = plain(entry);
    return object;
  }
  return value;
}

const registry = new Map();
for (const path of await modulesUnder(resolve(process.argv[2]))) {
  const module = await import(pathToFileURL(path).href);
  for (const exported of Object.values(module)) {
    if (typeof exported === "function" && typeof exported.typeName === "string") {
      registry.set(exported.typeName, exported);
    }
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const responses = requests.map(({ type, mode, data }) => {
  if (mode === "types") return { ok: true, types: [...registry.keys()].sort() };
  const messageClass = registry.get(type);
  if (!messageClass) return { ok: false, error: `unknown type ${type}` };
  try {
    const bytes = new Uint8Array(Buffer.from(data, "base64"));
    let message = messageClass.fromBinary(bytes);
    if (mode === "rebuild") message = new messageClass(plain(message));
    return { ok: true, data: Buffer.from(message.toBinary()).toString("base64") };
  } catch (error) {
    return { ok: false, error: `${error.name}: ${error.message}` };
  }
});
process.stdout.write(JSON.stringify(responses));
