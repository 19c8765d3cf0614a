// QR Code encoder after ISO/IEC 18004:2015, for sharing a principal id: byte mode, error correction level M,
// versions 1 to 10 (up to 213 bytes), and the mask with the lowest penalty score. Pure: it returns the
// module matrix; src/qr-svg.js draws it.

/** Error-correction blocks per version at level M: EC codewords per block and data codewords per block. */
const LEVEL_M_BLOCKS = [
  null,
  { ecPerBlock: 10, dataBlocks: [16] },
  { ecPerBlock: 16, dataBlocks: [28] },
  { ecPerBlock: 26, dataBlocks: [44] },
  { ecPerBlock: 18, dataBlocks: [32, 32] },
  { ecPerBlock: 24, dataBlocks: [43, 43] },
  { ecPerBlock: 16, dataBlocks: [27, 27, 27, 27] },
  { ecPerBlock: 18, dataBlocks: [31, 31, 31, 31] },
  { ecPerBlock: 22, dataBlocks: [38, 38, 39, 39] },
  { ecPerBlock: 22, dataBlocks: [36, 36, 36, 37, 37] },
  { ecPerBlock: 26, dataBlocks: [43, 43, 43, 43, 44] },
];

/** Centre coordinates of alignment patterns per version (Annex E). */
const ALIGNMENT_CENTRES = [
  null,
  [],
  [6, 18],
  [6, 22],
  [6, 26],
  [6, 30],
  [6, 34],
  [6, 22, 38],
  [6, 24, 42],
  [6, 26, 46],
  [6, 28, 50],
];

/** Remainder bits after the codewords (section 7.7.2). */
const REMAINDER_BITS = [0, 0, 7, 7, 7, 7, 7, 0, 0, 0, 0];

/** Highest version this encoder makes. */
export const MAX_VERSION = 10;
const LEVEL_M_FORMAT_BITS = 0b00;

/** A QR symbol: its version, mask and `size` × `size` modules, `modules[row][column]` true for dark. */
export class QrCode {
  /** A symbol of the given version and mask pattern. */
  constructor(version, mask, modules) {
    this.version = version;
    this.mask = mask;
    this.modules = modules;
    this.size = modules.length;
  }
}

function dataCapacity(version) {
  return LEVEL_M_BLOCKS[version].dataBlocks.reduce((sum, n) => sum + n, 0);
}

function countBits(version) {
  return version <= 9 ? 8 : 16;
}

/** The smallest version (1 to 10) whose level-M symbol holds `byteCount` bytes in byte mode, or 0 when none. */
export function smallestVersion(byteCount) {
  for (let version = 1; version <= MAX_VERSION; version++) {
    if (4 + countBits(version) + 8 * byteCount <= 8 * dataCapacity(version)) return version;
  }
  return 0;
}

// --- Data codewords (section 7.4) ---

function dataCodewords(bytes, version) {
  const bits = [];
  const push = (value, length) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  push(0b0100, 4);
  push(bytes.length, countBits(version));
  for (const byte of bytes) push(byte, 8);
  const capacityBits = 8 * dataCapacity(version);
  push(0, Math.min(4, capacityBits - bits.length));
  push(0, (8 - (bits.length % 8)) % 8);
  const codewords = [];
  for (let i = 0; i < bits.length; i += 8) {
    codewords.push(bits.slice(i, i + 8).reduce((byte, bit) => (byte << 1) | bit, 0));
  }
  for (let pad = 0xec; codewords.length < dataCapacity(version); pad ^= 0xec ^ 0x11) codewords.push(pad);
  return codewords;
}

// --- Reed-Solomon error correction over GF(256) with x^8 + x^4 + x^3 + x^2 + 1 (section 7.5.2) ---

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let value = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = value;
    LOG[value] = i;
    value <<= 1;
    if (value & 0x100) value ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}

function multiply(a, b) {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

/** Coefficients of (x - α^0)(x - α^1)…(x - α^(degree-1)), highest power first, leading 1 dropped. */
function generatorPolynomial(degree) {
  let coefficients = [1];
  for (let i = 0; i < degree; i++) {
    const next = new Array(coefficients.length + 1).fill(0);
    for (let j = 0; j < coefficients.length; j++) {
      next[j] ^= coefficients[j];
      next[j + 1] ^= multiply(coefficients[j], EXP[i]);
    }
    coefficients = next;
  }
  return coefficients.slice(1);
}

function errorCorrection(data, generator) {
  const remainder = new Array(generator.length).fill(0);
  for (const codeword of data) {
    const factor = codeword ^ remainder.shift();
    remainder.push(0);
    for (let i = 0; i < generator.length; i++) remainder[i] ^= multiply(generator[i], factor);
  }
  return remainder;
}

/** Data and error-correction codewords, split into blocks and interleaved (section 7.6). */
function finalCodewords(data, version) {
  const { ecPerBlock, dataBlocks } = LEVEL_M_BLOCKS[version];
  const generator = generatorPolynomial(ecPerBlock);
  const blocks = [];
  let offset = 0;
  for (const length of dataBlocks) {
    const block = data.slice(offset, offset + length);
    offset += length;
    blocks.push({ data: block, ec: errorCorrection(block, generator) });
  }
  const result = [];
  const longest = Math.max(...dataBlocks);
  for (let i = 0; i < longest; i++) for (const block of blocks) if (i < block.data.length) result.push(block.data[i]);
  for (let i = 0; i < ecPerBlock; i++) for (const block of blocks) result.push(block.ec[i]);
  return result;
}

// --- Function patterns (section 6.3) ---

/** Matrix of a version with its function patterns, and which modules those patterns reserve. */
function functionPatterns(version) {
  const size = 17 + 4 * version;
  const dark = Array.from({ length: size }, () => new Array(size).fill(false));
  const reserved = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (row, column, isDark) => {
    dark[row][column] = isDark;
    reserved[row][column] = true;
  };
  for (const [top, left] of [
    [0, 0],
    [0, size - 7],
    [size - 7, 0],
  ]) {
    // Finder pattern with its light separator ring, clipped to the symbol.
    for (let dy = -1; dy <= 7; dy++) {
      for (let dx = -1; dx <= 7; dx++) {
        const row = top + dy;
        const column = left + dx;
        if (row < 0 || row >= size || column < 0 || column >= size) continue;
        const ring = Math.max(Math.abs(dy - 3), Math.abs(dx - 3));
        set(row, column, ring !== 2 && ring !== 4);
      }
    }
  }
  for (let i = 8; i < size - 8; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  const centres = ALIGNMENT_CENTRES[version];
  const last = centres.length - 1;
  centres.forEach((row, i) => {
    centres.forEach((column, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return; // finder corners
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) set(row + dy, column + dx, Math.max(Math.abs(dy), Math.abs(dx)) !== 1);
      }
    });
  });
  // Format information areas (written per mask later), and the dark module.
  for (let i = 0; i <= 8; i++) {
    reserved[8][i] = true;
    reserved[i][8] = true;
  }
  for (let i = 0; i < 8; i++) {
    reserved[8][size - 1 - i] = true;
    reserved[size - 1 - i][8] = true;
  }
  set(size - 8, 8, true);
  if (version >= 7) {
    const bits = versionInformation(version);
    for (let i = 0; i < 18; i++) {
      const isDark = ((bits >>> i) & 1) === 1;
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      set(a, b, isDark);
      set(b, a, isDark);
    }
  }
  return { size, dark, reserved };
}

/** 18-bit version information: the version and its BCH(18,6) remainder under x^12+x^11+x^10+x^9+x^8+x^5+x^2+1. */
function versionInformation(version) {
  let remainder = version;
  for (let i = 0; i < 12; i++) remainder = (remainder << 1) ^ ((remainder >>> 11) * 0x1f25);
  return (version << 12) | (remainder & 0xfff);
}

/** 15-bit format information for level M and a mask: BCH(15,5) under 0x537, masked with 0x5412. */
export function formatInformation(mask) {
  const data = (LEVEL_M_FORMAT_BITS << 3) | mask;
  let remainder = data;
  for (let i = 0; i < 10; i++) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
  return ((data << 10) | (remainder & 0x3ff)) ^ 0x5412;
}

function drawFormatInformation(dark, size, mask) {
  const bits = formatInformation(mask);
  const bit = (i) => ((bits >>> i) & 1) === 1;
  // Around the top-left finder: bits 0–7 down column 8 (skipping the timing row), 8–14 leftwards on row 8.
  for (let i = 0; i <= 5; i++) dark[i][8] = bit(i);
  dark[7][8] = bit(6);
  dark[8][8] = bit(7);
  dark[8][7] = bit(8);
  for (let i = 9; i < 15; i++) dark[8][14 - i] = bit(i);
  // The copy split between the other two finders.
  for (let i = 0; i < 8; i++) dark[8][size - 1 - i] = bit(i);
  for (let i = 8; i < 15; i++) dark[size - 15 + i][8] = bit(i);
}

// --- Codeword placement (section 7.7.3) and masking (section 7.8) ---

function placeCodewords(dark, reserved, size, codewords, remainderBits) {
  const bits = [];
  for (const codeword of codewords) for (let i = 7; i >= 0; i--) bits.push((codeword >>> i) & 1);
  for (let i = 0; i < remainderBits; i++) bits.push(0);
  let index = 0;
  let upward = true;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5; // the vertical timing pattern takes a whole column
    for (let step = 0; step < size; step++) {
      const row = upward ? size - 1 - step : step;
      for (const column of [right, right - 1]) {
        if (reserved[row][column]) continue;
        dark[row][column] = index < bits.length && bits[index] === 1;
        index++;
      }
    }
    upward = !upward;
  }
}

const MASK_CONDITIONS = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (r, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

function applyMask(dark, reserved, size, mask) {
  const condition = MASK_CONDITIONS[mask];
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      if (!reserved[row][column] && condition(row, column)) dark[row][column] = !dark[row][column];
    }
  }
}

// --- Penalty score (section 7.8.3) ---

function lineRunsPenalty(line) {
  let penalty = 0;
  let runLength = 1;
  for (let i = 1; i <= line.length; i++) {
    if (i < line.length && line[i] === line[i - 1]) {
      runLength++;
    } else {
      if (runLength >= 5) penalty += 3 + (runLength - 5);
      runLength = 1;
    }
  }
  return penalty;
}

/** 1:1:3:1:1 dark finder-like patterns with 4 light modules on one side, light outside the symbol. */
function lineFinderPenalty(line) {
  const at = (i) => i >= 0 && i < line.length && line[i];
  const core = [true, false, true, true, true, false, true];
  let count = 0;
  for (let start = -4; start < line.length + 4; start++) {
    if (!core.every((isDark, k) => at(start + k) === isDark)) continue;
    const lightBefore = [1, 2, 3, 4].every((k) => !at(start - k));
    const lightAfter = [7, 8, 9, 10].every((k) => !at(start + k));
    if (lightBefore || lightAfter) count++;
  }
  return 40 * count;
}

/** The penalty score of a masked symbol; the mask with the lowest score is used. */
export function penaltyScore(modules) {
  const size = modules.length;
  let penalty = 0;
  const columns = Array.from({ length: size }, (_, c) => modules.map((row) => row[c]));
  for (const line of [...modules, ...columns]) penalty += lineRunsPenalty(line) + lineFinderPenalty(line);
  for (let row = 0; row < size - 1; row++) {
    for (let column = 0; column < size - 1; column++) {
      const colour = modules[row][column];
      if (
        colour === modules[row][column + 1] &&
        colour === modules[row + 1][column] &&
        colour === modules[row + 1][column + 1]
      ) {
        penalty += 3;
      }
    }
  }
  const darkCount = modules.reduce((sum, row) => sum + row.filter(Boolean).length, 0);
  const total = size * size;
  // k is how many 5 % steps the dark proportion lies away from 50 %.
  const k = Math.ceil(Math.abs(darkCount * 20 - total * 10) / total) - 1;
  penalty += 10 * Math.max(0, k);
  return penalty;
}

/** The QR code of `text` (UTF-8, byte mode, level M); `mask` forces a mask pattern (0–7), otherwise the one
 * with the lowest penalty. Throws when the text does not fit version 10. */
export function encodeQr(text, { mask } = {}) {
  const bytes = new TextEncoder().encode(text);
  const version = smallestVersion(bytes.length);
  if (version === 0) throw new Error(`${bytes.length} bytes do not fit a version ${MAX_VERSION} QR code`);
  const codewords = finalCodewords(dataCodewords(bytes, version), version);
  const { size, dark, reserved } = functionPatterns(version);
  placeCodewords(dark, reserved, size, codewords, REMAINDER_BITS[version]);
  const masks = mask === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [mask];
  let best = null;
  for (const candidate of masks) {
    const modules = dark.map((row) => row.slice());
    applyMask(modules, reserved, size, candidate);
    drawFormatInformation(modules, size, candidate);
    const score = masks.length === 1 ? 0 : penaltyScore(modules);
    if (best === null || score < best.score) best = { score, code: new QrCode(version, candidate, modules) };
  }
  return best.code;
}
