// Protobuf binary encoding for the dashboard's generated messages: a writer and a reader of the wire format
// (https://protobuf.dev/programming-guides/encoding/). Plain ES module, no dependencies; works unbundled in
// browsers and in Node 18+. 64-bit integers are BigInt, bytes are Uint8Array, strings are UTF-8 and decoding
// rejects invalid UTF-8 (a signed transaction body must mean exactly one thing).

/** Wire types, as the encoding spec numbers them. */
export const WireType = Object.freeze({
  VARINT: 0,
  FIXED64: 1,
  LENGTH_DELIMITED: 2,
  START_GROUP: 3,
  END_GROUP: 4,
  FIXED32: 5,
});

/** How deeply messages may nest before decoding gives up (the limit protobuf's own runtimes use). */
export const DEFAULT_DEPTH_LIMIT = 100;

const TWO_32 = 4294967296;
const MAX_UINT64 = 0xffffffffffffffffn;
const MIN_INT64 = -0x8000000000000000n;
const MAX_INT64 = 0x7fffffffffffffffn;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A malformed encoding or a value that cannot be encoded; the message says which field and why. */
export class ProtobufError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ProtobufError";
  }
}

// The buffer of the last finished writer, handed to the next one: allocating a fresh ArrayBuffer for every
// toBinary() costs more than encoding a small message.
let spareBuffer = null;
const SPARE_BUFFER_LIMIT = 64 * 1024;
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY_BYTES.buffer);

/** Builds one encoding in a growing buffer; nested messages are written in place and their length fixed up. */
export class BinaryWriter {
  constructor() {
    /** @type {Uint8Array} */
    this.buffer = spareBuffer ?? new Uint8Array(1024);
    spareBuffer = null;
    this.view = new DataView(this.buffer.buffer);
    this.pos = 0;
  }

  /** Makes room for `count` more bytes. */
  reserve(count) {
    const needed = this.pos + count;
    if (needed <= this.buffer.length) return;
    let size = Math.max(1024, this.buffer.length * 2);
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.pos));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  /** The bytes written, as a copy; the writer starts over empty and its buffer may serve the next writer. */
  finish() {
    const result = this.buffer.slice(0, this.pos);
    if (this.buffer.length <= SPARE_BUFFER_LIMIT) spareBuffer = this.buffer;
    this.buffer = EMPTY_BYTES;
    this.view = EMPTY_VIEW;
    this.pos = 0;
    return result;
  }

  /** Writes a field key: number and wire type. Returns the writer, so the value's write can follow. */
  tag(fieldNumber, wireType) {
    this.varint32((fieldNumber * 8 + wireType) >>> 0);
    return this;
  }

  /**
   * Writes `value` as the length-delimited message field `fieldNumber`; a plain object is first turned into
   * a `type` (a generated message class).
   */
  message(fieldNumber, value, type) {
    this.tag(fieldNumber, WireType.LENGTH_DELIMITED);
    const start = this.beginLengthDelimited();
    type.encode(value instanceof type ? value : new type(value), this);
    this.endLengthDelimited(start);
  }

  /** Writes an unsigned 32-bit value (0 ... 2^32-1) as a varint. */
  varint32(value) {
    this.reserve(5);
    const buffer = this.buffer;
    while (value > 0x7f) {
      buffer[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[this.pos++] = value;
  }

  /** Writes the 64-bit pattern `hi:lo` (two unsigned 32-bit halves) as a varint. */
  varint64(lo, hi) {
    this.reserve(10);
    const buffer = this.buffer;
    while (hi > 0 || lo > 0x7f) {
      buffer[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buffer[this.pos++] = lo;
  }

  /** int32: negative values are sign-extended to 10 bytes. */
  int32(value) {
    if (value !== (value | 0)) throw new ProtobufError(`int32 out of range: ${value}`);
    if (value >= 0) this.varint32(value);
    else this.varint64(value >>> 0, 0xffffffff);
  }

  /** uint32. */
  uint32(value) {
    if (value !== value >>> 0) throw new ProtobufError(`uint32 out of range: ${value}`);
    this.varint32(value);
  }

  /** sint32: ZigZag, so small negative numbers stay short. */
  sint32(value) {
    if (value !== (value | 0)) throw new ProtobufError(`sint32 out of range: ${value}`);
    this.varint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** An enum value: int32 on the wire. */
  enum(value) {
    this.int32(value);
  }

  /** bool: one byte, 0 or 1. */
  bool(value) {
    this.reserve(1);
    this.buffer[this.pos++] = value ? 1 : 0;
  }

  /** uint64 from a BigInt in 0 ... 2^64-1. */
  uint64(value) {
    if (typeof value !== "bigint" || value < 0n || value > MAX_UINT64) {
      throw new ProtobufError(`uint64 out of range: ${value}`);
    }
    this.bigVarint(value);
  }

  /** int64 from a BigInt in -2^63 ... 2^63-1 (two's complement on the wire). */
  int64(value) {
    checkInt64(value, "int64");
    this.bigVarint(value < 0n ? value + MAX_UINT64 + 1n : value);
  }

  /** sint64: ZigZag of a BigInt in the int64 range. */
  sint64(value) {
    checkInt64(value, "sint64");
    this.bigVarint(value < 0n ? -2n * value - 1n : 2n * value);
  }

  /** A non-negative BigInt below 2^64 as a varint. */
  bigVarint(value) {
    if (value < 0x100000000n) {
      this.varint32(Number(value));
    } else {
      this.varint64(Number(value & 0xffffffffn), Number(value >> 32n));
    }
  }

  /** fixed32: 4 bytes little-endian, unsigned. */
  fixed32(value) {
    if (value !== value >>> 0) throw new ProtobufError(`fixed32 out of range: ${value}`);
    this.reserve(4);
    this.view.setUint32(this.pos, value, true);
    this.pos += 4;
  }

  /** sfixed32: 4 bytes little-endian, signed. */
  sfixed32(value) {
    if (value !== (value | 0)) throw new ProtobufError(`sfixed32 out of range: ${value}`);
    this.reserve(4);
    this.view.setInt32(this.pos, value, true);
    this.pos += 4;
  }

  /** fixed64: 8 bytes little-endian, unsigned BigInt. */
  fixed64(value) {
    if (typeof value !== "bigint" || value < 0n || value > MAX_UINT64) {
      throw new ProtobufError(`fixed64 out of range: ${value}`);
    }
    this.reserve(8);
    this.view.setBigUint64(this.pos, value, true);
    this.pos += 8;
  }

  /** sfixed64: 8 bytes little-endian, signed BigInt. */
  sfixed64(value) {
    checkInt64(value, "sfixed64");
    this.reserve(8);
    this.view.setBigInt64(this.pos, value, true);
    this.pos += 8;
  }

  /** float: IEEE 754 binary32. */
  float(value) {
    this.reserve(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
  }

  /** double: IEEE 754 binary64. */
  double(value) {
    this.reserve(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** Length-delimited raw bytes. */
  bytes(value) {
    this.varint32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  /** Length-delimited UTF-8 text (lone surrogates become U+FFFD, as TextEncoder does). */
  string(value) {
    // At most 3 bytes per UTF-16 code unit, so encodeInto always fits.
    this.reserve(value.length * 3 + 5);
    const start = this.beginLengthDelimited();
    const { written } = utf8Encoder.encodeInto(value, this.buffer.subarray(this.pos));
    this.pos += written;
    this.endLengthDelimited(start);
  }

  /** Bytes copied as they are (unknown fields, already-encoded content). */
  raw(value) {
    this.reserve(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  /** Starts a length-delimited value whose size is not known yet: one byte is reserved for its length. */
  beginLengthDelimited() {
    this.reserve(1);
    return this.pos++;
  }

  /** Ends the value begun at `start`: writes its length, moving the body when the length needs more bytes. */
  endLengthDelimited(start) {
    let length = this.pos - start - 1;
    if (length < 0x80) {
      this.buffer[start] = length;
      return;
    }
    let extra = 0;
    for (let rest = length >>> 7; rest > 0; rest >>>= 7) extra++;
    this.reserve(extra);
    const buffer = this.buffer;
    buffer.copyWithin(start + 1 + extra, start + 1, this.pos);
    this.pos += extra;
    let at = start;
    while (length > 0x7f) {
      buffer[at++] = (length & 0x7f) | 0x80;
      length >>>= 7;
    }
    buffer[at] = length;
  }
}

function checkInt64(value, type) {
  if (typeof value !== "bigint" || value < MIN_INT64 || value > MAX_INT64) {
    throw new ProtobufError(`${type} out of range: ${value}`);
  }
}

/** Reads one encoding front to back. Every read checks bounds; errors name the field being read. */
export class BinaryReader {
  /**
   * @param {Uint8Array} bytes
   * @param {{ depthLimit?: number }} [options]
   */
  constructor(bytes, options) {
    if (!(bytes instanceof Uint8Array)) throw new ProtobufError("expected a Uint8Array to decode");
    this.buffer = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.end = bytes.length;
    this.depth = 0;
    this.depthLimit = options?.depthLimit ?? DEFAULT_DEPTH_LIMIT;
    /** Field number and wire type of the last key read. */
    this.fieldNumber = 0;
    this.wireType = 0;
  }

  /** Reads a field key; returns its field number (also kept with the wire type on the reader). */
  tag() {
    const start = this.pos;
    let key = this.buffer[start];
    if (key < 0x80 && start < this.end) {
      this.pos = start + 1;
    } else {
      const [lo, hi] = this.varint64();
      if (hi !== 0) throw new ProtobufError(`field key out of range at byte ${start}`);
      key = lo;
    }
    const fieldNumber = key >>> 3;
    const wireType = key & 7;
    if (fieldNumber === 0) throw new ProtobufError(`invalid field number 0 at byte ${this.pos}`);
    if (wireType > 5) throw new ProtobufError(`invalid wire type ${wireType} at byte ${this.pos}`);
    this.fieldNumber = fieldNumber;
    this.wireType = wireType;
    return fieldNumber;
  }

  /** Throws unless the last key had `wireType`; `field` names the field for the message. */
  expect(wireType, field) {
    if (this.wireType !== wireType) {
      throw new ProtobufError(`${field}: wire type ${this.wireType}, expected ${wireType}`);
    }
  }

  /** A varint truncated to its low 32 bits, as an unsigned number. */
  varint32() {
    const buffer = this.buffer;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) throw truncated(this);
      const byte = buffer[pos++];
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    if (pos >= this.end) throw truncated(this);
    let byte = buffer[pos++];
    result |= (byte & 0x0f) << 28;
    // Bytes 6 to 10 only carry bits above 32: check that the varint ends within 10 bytes.
    for (let index = 5; byte >= 0x80; index++) {
      if (index === 10) throw new ProtobufError(`varint longer than 10 bytes at byte ${this.pos}`);
      if (pos >= this.end) throw truncated(this);
      byte = buffer[pos++];
      if (index === 9 && byte > 1) throw new ProtobufError(`varint overflows 64 bits at byte ${this.pos}`);
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** A full 64-bit varint as [lo, hi] unsigned 32-bit halves. */
  varint64() {
    const buffer = this.buffer;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let byte = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) throw truncated(this);
      byte = buffer[pos++];
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return [lo >>> 0, 0];
      }
    }
    if (pos >= this.end) throw truncated(this);
    byte = buffer[pos++];
    lo |= (byte & 0x0f) << 28;
    hi = (byte & 0x7f) >> 4;
    if (byte >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (pos >= this.end) throw truncated(this);
        byte = buffer[pos++];
        if (shift === 31) {
          if (byte > 1) throw new ProtobufError(`varint overflows 64 bits at byte ${this.pos}`);
          hi |= byte << 31;
          break;
        }
        hi |= (byte & 0x7f) << shift;
        if (byte < 0x80) break;
      }
    }
    this.pos = pos;
    return [lo >>> 0, hi >>> 0];
  }

  /** int32 (a 10-byte varint for negative values; the low 32 bits count). */
  int32() {
    return this.varint32() | 0;
  }

  /** uint32. */
  uint32() {
    return this.varint32();
  }

  /** sint32 (ZigZag). */
  sint32() {
    const value = this.varint32();
    return (value >>> 1) ^ -(value & 1);
  }

  /** An enum number (int32 on the wire). */
  enum() {
    return this.varint32() | 0;
  }

  /** bool: any non-zero varint is true. */
  bool() {
    const [lo, hi] = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  /** uint64 as a BigInt. */
  uint64() {
    const [lo, hi] = this.varint64();
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** int64 as a BigInt. */
  int64() {
    const [lo, hi] = this.varint64();
    if (hi === 0) return BigInt(lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** sint64 (ZigZag) as a BigInt. */
  sint64() {
    const value = this.uint64();
    return (value & 1n) === 0n ? value >> 1n : -(value >> 1n) - 1n;
  }

  /** fixed32 (unsigned). */
  fixed32() {
    const value = this.view.getUint32(this.advance(4), true);
    return value;
  }

  /** sfixed32. */
  sfixed32() {
    return this.view.getInt32(this.advance(4), true);
  }

  /** fixed64 as a BigInt. */
  fixed64() {
    return this.view.getBigUint64(this.advance(8), true);
  }

  /** sfixed64 as a BigInt. */
  sfixed64() {
    return this.view.getBigInt64(this.advance(8), true);
  }

  /** float. */
  float() {
    return this.view.getFloat32(this.advance(4), true);
  }

  /** double. */
  double() {
    return this.view.getFloat64(this.advance(8), true);
  }

  /** Length-delimited bytes, copied (the result does not keep the input alive). */
  bytes() {
    const start = this.lengthDelimited();
    return this.buffer.slice(start, this.pos);
  }

  /** Length-delimited UTF-8 text; invalid UTF-8 is an error. */
  string() {
    const start = this.lengthDelimited();
    if (start === this.pos) return "";
    try {
      return utf8Decoder.decode(this.buffer.subarray(start, this.pos));
    } catch {
      throw new ProtobufError(`invalid UTF-8 in a string at byte ${start}`);
    }
  }

  /**
   * A length prefix, which must fit in what is left of the input. Read as the full 64-bit varint it is: a length of
   * 2^32 or more, cut to its low 32 bits, could otherwise pass as a small one.
   */
  lengthPrefix() {
    const byte = this.buffer[this.pos];
    let length;
    if (byte < 0x80 && this.pos < this.end) {
      this.pos++;
      length = byte;
    } else {
      const [lo, hi] = this.varint64();
      if (hi !== 0) throw truncated(this);
      length = lo;
    }
    if (length > this.end - this.pos) throw truncated(this);
    return length;
  }

  /** Reads a length prefix and moves past the body; returns where the body starts. */
  lengthDelimited() {
    const length = this.lengthPrefix();
    const start = this.pos;
    this.pos = start + length;
    return start;
  }

  /** The end position of a nested message whose length prefix comes next; enters one level of nesting. */
  beginMessage() {
    const length = this.lengthPrefix();
    if (++this.depth > this.depthLimit) {
      throw new ProtobufError(`messages nested deeper than ${this.depthLimit} levels`);
    }
    return this.pos + length;
  }

  /**
   * Reads a length-delimited message of `type` (a generated message class), merging into `existing` when
   * given, as protobuf merges a singular message field that occurs twice.
   */
  message(type, existing) {
    const end = this.beginMessage();
    const message = type.decode(this, end, existing ?? new type());
    this.endMessage(end);
    return message;
  }

  /** The end of a packed run of scalars whose length prefix comes next. */
  beginPacked() {
    const length = this.lengthPrefix();
    return this.pos + length;
  }

  /** Checks that a packed run's last element ended exactly at `end`; `field` names it for the error. */
  endPacked(end, field) {
    if (this.pos !== end) throw new ProtobufError(`${field}: a packed element overruns the packed length`);
  }

  /** Leaves a nested message, which must end exactly at `end`. */
  endMessage(end) {
    if (this.pos !== end) throw new ProtobufError(`a nested message overruns its length at byte ${this.pos}`);
    this.depth--;
  }

  /** Skips the value of the field whose key was just read; returns the field's bytes, key included. */
  skip(keyStart) {
    const fieldNumber = this.fieldNumber;
    this.skipValue(this.wireType, fieldNumber, 0);
    return this.buffer.slice(keyStart, this.pos);
  }

  /** Skips the value of the field whose key was just read, keeping nothing (unknown fields of a map entry). */
  skipField() {
    this.skipValue(this.wireType, this.fieldNumber, 0);
  }

  /** Skips a value of `wireType`; groups are skipped whole, up to their matching end. */
  skipValue(wireType, fieldNumber, groupDepth) {
    switch (wireType) {
      case WireType.VARINT:
        this.varint64();
        break;
      case WireType.FIXED64:
        this.advance(8);
        break;
      case WireType.LENGTH_DELIMITED:
        this.lengthDelimited();
        break;
      case WireType.FIXED32:
        this.advance(4);
        break;
      case WireType.START_GROUP: {
        if (groupDepth + this.depth >= this.depthLimit) {
          throw new ProtobufError(`groups nested deeper than ${this.depthLimit} levels`);
        }
        for (;;) {
          if (this.pos >= this.end) throw new ProtobufError(`group ${fieldNumber} has no end`);
          const inner = this.tag();
          if (this.wireType === WireType.END_GROUP) {
            if (inner !== fieldNumber) {
              throw new ProtobufError(`group ${fieldNumber} ended by end group ${inner}`);
            }
            return;
          }
          this.skipValue(this.wireType, inner, groupDepth + 1);
        }
      }
      default:
        throw new ProtobufError(`unexpected end group ${fieldNumber} at byte ${this.pos}`);
    }
  }

  /** Moves past `count` bytes; returns where they start. */
  advance(count) {
    const start = this.pos;
    if (count > this.end - start) throw truncated(this);
    this.pos = start + count;
    return start;
  }
}

function truncated(reader) {
  return new ProtobufError(`truncated input at byte ${reader.pos} of ${reader.end}`);
}

/** Orders strings by their UTF-8 bytes (code points), not by UTF-16 units, as deterministic maps are sorted. */
export function compareStrings(a, b) {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    let x = a.charCodeAt(index);
    let y = b.charCodeAt(index);
    if (x === y) continue;
    // Surrogates (astral code points) come after U+E000 ... U+FFFF in code point order.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** Orders map keys of any proto key type: numbers and BigInts numerically, false before true, strings by UTF-8. */
export function compareKeys(a, b) {
  if (typeof a === "string") return compareStrings(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A map's entries sorted by key, the order a deterministic encoding writes them in. */
export function sortedEntries(map) {
  const entries = Array.from(map);
  if (entries.length > 1) entries.sort((x, y) => compareKeys(x[0], y[0]));
  return entries;
}

/** Whether a double or float is written under implicit presence: any bit pattern but +0.0 (so -0.0 is). */
export function isNonZeroFloat(value) {
  return value !== 0 || Object.is(value, -0);
}

/** `value` as a Map: a Map is returned as it is, a plain object's entries converted with `key` and `convert`. */
export function toMap(value, key, convert) {
  const map = new Map();
  const entries = value instanceof Map ? value : Object.entries(value);
  for (const [k, v] of entries) map.set(key(k), convert(v));
  return map;
}

/** Map-key conversions for plain-object initialisers, whose keys are always strings. */
export const MapKey = Object.freeze({
  /** @param {unknown} key */
  number: (key) => Number(key),
  /** @param {unknown} key */
  bigint: (key) => BigInt(key),
  /** @param {unknown} key */
  bool: (key) => key === true || key === "true",
  /** @param {unknown} key */
  string: (key) => String(key),
});

/** A value unchanged (the conversion of fields that need none). */
export const same = (value) => value;

/** A BigInt from a BigInt, number or decimal string, for 64-bit fields given in an initialiser. */
export function toBigInt(value) {
  return typeof value === "bigint" ? value : BigInt(value);
}

/** Concatenates byte arrays. */
export function concatBytes(chunks) {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const result = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    result.set(chunk, offset);
    offset += chunk.length;
  }
  return result;
}

/** The name of enum number `value` in the frozen enum object `enumObject`, or the number as text. */
export function enumName(enumObject, value) {
  for (const name in enumObject) {
    if (enumObject[name] === value) return name;
  }
  return String(value);
}
