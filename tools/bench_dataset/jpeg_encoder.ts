/**
 * A baseline JPEG encoder, written for the benchmark dataset: the files it writes are what
 * Pillow's `Image.save(f, "JPEG", quality=q)` writes by default (libjpeg's defaults), so that
 * decoding them costs what decoding a typical dataset's JPEGs costs:
 *
 * - baseline sequential DCT (SOF0), JFIF APP0, 8-bit YCbCr (the JFIF conversion);
 * - the example quantisation tables of the JPEG standard (Annex K.1) scaled by libjpeg's
 *   quality rule (`jpeg_quality_scaling`, values limited to 1..255);
 * - the standard Huffman tables of Annex K.3 (no per-image optimisation);
 * - chroma subsampled 4:2:0 (2×2 averaging) or kept 4:4:4.
 *
 * The forward DCT is the Arai–Agui–Nakajima factorisation in floating point (libjpeg's "float"
 * method); the coefficients can differ from libjpeg's integer DCT by one quantisation step now
 * and then, which changes nothing for a decoder's cost. Output is deterministic.
 *
 * @module
 */

/** Options of {@linkcode encodeJpeg}. */
export interface JpegEncodeOptions {
  /** libjpeg quality, 1..100 (Pillow's default is 75). */
  readonly quality: number;
  /** Chroma subsampling: `420` (Pillow's default) or `444`. */
  readonly subsampling: 420 | 444;
}

/** Annex K.1 luminance quantisation table, natural (row-major) order. */
const LUMA_QUANT = [
  16,
  11,
  10,
  16,
  24,
  40,
  51,
  61,
  12,
  12,
  14,
  19,
  26,
  58,
  60,
  55,
  14,
  13,
  16,
  24,
  40,
  57,
  69,
  56,
  14,
  17,
  22,
  29,
  51,
  87,
  80,
  62,
  18,
  22,
  37,
  56,
  68,
  109,
  103,
  77,
  24,
  35,
  55,
  64,
  81,
  104,
  113,
  92,
  49,
  64,
  78,
  87,
  103,
  121,
  120,
  101,
  72,
  92,
  95,
  98,
  112,
  100,
  103,
  99,
];

/** Annex K.1 chrominance quantisation table, natural order. */
const CHROMA_QUANT = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
  99,
];

/** Zig-zag order: the natural index of the k-th coefficient in the bitstream. */
const ZIGZAG = [
  0,
  1,
  8,
  16,
  9,
  2,
  3,
  10,
  17,
  24,
  32,
  25,
  18,
  11,
  4,
  5,
  12,
  19,
  26,
  33,
  40,
  48,
  41,
  34,
  27,
  20,
  13,
  6,
  7,
  14,
  21,
  28,
  35,
  42,
  49,
  56,
  57,
  50,
  43,
  36,
  29,
  22,
  15,
  23,
  30,
  37,
  44,
  51,
  58,
  59,
  52,
  45,
  38,
  31,
  39,
  46,
  53,
  60,
  61,
  54,
  47,
  55,
  62,
  63,
];

/** A Huffman table as DHT stores it: code counts per length 1..16, then the symbols. */
interface HuffmanSpec {
  readonly counts: readonly number[];
  readonly symbols: readonly number[];
}

/** Annex K.3 tables. */
const DC_LUMA: HuffmanSpec = {
  counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
  symbols: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const DC_CHROMA: HuffmanSpec = {
  counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  symbols: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};
const AC_LUMA: HuffmanSpec = {
  counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  symbols: [
    0x01,
    0x02,
    0x03,
    0x00,
    0x04,
    0x11,
    0x05,
    0x12,
    0x21,
    0x31,
    0x41,
    0x06,
    0x13,
    0x51,
    0x61,
    0x07,
    0x22,
    0x71,
    0x14,
    0x32,
    0x81,
    0x91,
    0xa1,
    0x08,
    0x23,
    0x42,
    0xb1,
    0xc1,
    0x15,
    0x52,
    0xd1,
    0xf0,
    0x24,
    0x33,
    0x62,
    0x72,
    0x82,
    0x09,
    0x0a,
    0x16,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x25,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x34,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe1,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf1,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
  ],
};
const AC_CHROMA: HuffmanSpec = {
  counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  symbols: [
    0x00,
    0x01,
    0x02,
    0x03,
    0x11,
    0x04,
    0x05,
    0x21,
    0x31,
    0x06,
    0x12,
    0x41,
    0x51,
    0x07,
    0x61,
    0x71,
    0x13,
    0x22,
    0x32,
    0x81,
    0x08,
    0x14,
    0x42,
    0x91,
    0xa1,
    0xb1,
    0xc1,
    0x09,
    0x23,
    0x33,
    0x52,
    0xf0,
    0x15,
    0x62,
    0x72,
    0xd1,
    0x0a,
    0x16,
    0x24,
    0x34,
    0xe1,
    0x25,
    0xf1,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x26,
    0x27,
    0x28,
    0x29,
    0x2a,
    0x35,
    0x36,
    0x37,
    0x38,
    0x39,
    0x3a,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x49,
    0x4a,
    0x53,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5a,
    0x63,
    0x64,
    0x65,
    0x66,
    0x67,
    0x68,
    0x69,
    0x6a,
    0x73,
    0x74,
    0x75,
    0x76,
    0x77,
    0x78,
    0x79,
    0x7a,
    0x82,
    0x83,
    0x84,
    0x85,
    0x86,
    0x87,
    0x88,
    0x89,
    0x8a,
    0x92,
    0x93,
    0x94,
    0x95,
    0x96,
    0x97,
    0x98,
    0x99,
    0x9a,
    0xa2,
    0xa3,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xa9,
    0xaa,
    0xb2,
    0xb3,
    0xb4,
    0xb5,
    0xb6,
    0xb7,
    0xb8,
    0xb9,
    0xba,
    0xc2,
    0xc3,
    0xc4,
    0xc5,
    0xc6,
    0xc7,
    0xc8,
    0xc9,
    0xca,
    0xd2,
    0xd3,
    0xd4,
    0xd5,
    0xd6,
    0xd7,
    0xd8,
    0xd9,
    0xda,
    0xe2,
    0xe3,
    0xe4,
    0xe5,
    0xe6,
    0xe7,
    0xe8,
    0xe9,
    0xea,
    0xf2,
    0xf3,
    0xf4,
    0xf5,
    0xf6,
    0xf7,
    0xf8,
    0xf9,
    0xfa,
  ],
};

/** Code and length of each symbol (Annex C), indexed by symbol. */
interface HuffmanCodes {
  readonly code: Uint16Array;
  readonly length: Uint8Array;
}

function huffmanCodes(spec: HuffmanSpec): HuffmanCodes {
  const code = new Uint16Array(256);
  const length = new Uint8Array(256);
  let next = 0;
  let k = 0;
  for (let bits = 1; bits <= 16; bits++) {
    for (let i = 0; i < spec.counts[bits - 1]; i++) {
      const symbol = spec.symbols[k++];
      code[symbol] = next++;
      length[symbol] = bits;
    }
    next <<= 1;
  }
  return { code, length };
}

/** libjpeg's `jpeg_quality_scaling` applied to a base table, with baseline limits (1..255). */
export function scaledQuantTable(base: readonly number[], quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  return Uint8Array.from(
    base,
    (value) => Math.min(255, Math.max(1, Math.floor((value * scale + 50) / 100))),
  );
}

/** AAN output scale factors, one per frequency. */
const AAN_SCALE = [
  1.0,
  1.387039845,
  1.306562965,
  1.175875602,
  1.0,
  0.785694958,
  0.5411961,
  0.275899379,
];

/** Reciprocals that turn AAN DCT outputs into quantised coefficients, natural order. */
function quantDivisors(table: Uint8Array): Float32Array {
  const out = new Float32Array(64);
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 8; col++) {
      const i = row * 8 + col;
      out[i] = 1 / (table[i] * AAN_SCALE[row] * AAN_SCALE[col] * 8);
    }
  }
  return out;
}

/** In-place forward DCT of an 8×8 block (Arai–Agui–Nakajima, floating point, unscaled). */
function forwardDct(block: Float32Array): void {
  for (let pass = 0; pass < 2; pass++) {
    // Pass 0 transforms the rows (step 1 within, 8 between), pass 1 the columns.
    const step = pass === 0 ? 1 : 8;
    const stride = pass === 0 ? 8 : 1;
    for (let line = 0; line < 8; line++) {
      const o = line * stride;
      const d0 = block[o], d1 = block[o + step], d2 = block[o + 2 * step];
      const d3 = block[o + 3 * step], d4 = block[o + 4 * step], d5 = block[o + 5 * step];
      const d6 = block[o + 6 * step], d7 = block[o + 7 * step];
      const tmp0 = d0 + d7, tmp7 = d0 - d7, tmp1 = d1 + d6, tmp6 = d1 - d6;
      const tmp2 = d2 + d5, tmp5 = d2 - d5, tmp3 = d3 + d4, tmp4 = d3 - d4;
      // Even part.
      const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
      block[o] = tmp10 + tmp11;
      block[o + 4 * step] = tmp10 - tmp11;
      const z1 = (tmp12 + tmp13) * 0.707106781;
      block[o + 2 * step] = tmp13 + z1;
      block[o + 6 * step] = tmp13 - z1;
      // Odd part.
      const odd10 = tmp4 + tmp5, odd11 = tmp5 + tmp6, odd12 = tmp6 + tmp7;
      const z5 = (odd10 - odd12) * 0.382683433;
      const z2 = 0.5411961 * odd10 + z5;
      const z4 = 1.306562965 * odd12 + z5;
      const z3 = odd11 * 0.707106781;
      const z11 = tmp7 + z3, z13 = tmp7 - z3;
      block[o + 5 * step] = z13 + z2;
      block[o + 3 * step] = z13 - z2;
      block[o + step] = z11 + z4;
      block[o + 7 * step] = z11 - z4;
    }
  }
}

/** Appends bytes and entropy-coded bits (with 0xFF byte stuffing) to a growing buffer. */
class JpegWriter {
  #bytes = new Uint8Array(1 << 16);
  #length = 0;
  #bitBuffer = 0;
  #bitCount = 0;

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.#length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  byte(value: number): void {
    this.#reserve(1);
    this.#bytes[this.#length++] = value;
  }

  word(value: number): void {
    this.byte(value >> 8);
    this.byte(value & 0xff);
  }

  bytes(values: ArrayLike<number>): void {
    this.#reserve(values.length);
    for (let i = 0; i < values.length; i++) this.#bytes[this.#length++] = values[i];
  }

  /** Writes the low `count` bits of `value`, most significant first (count ≤ 16). */
  bits(value: number, count: number): void {
    this.#bitBuffer = (this.#bitBuffer << count) | (value & ((1 << count) - 1));
    this.#bitCount += count;
    while (this.#bitCount >= 8) {
      this.#bitCount -= 8;
      const byte = (this.#bitBuffer >>> this.#bitCount) & 0xff;
      this.byte(byte);
      if (byte === 0xff) this.byte(0);
    }
    this.#bitBuffer &= (1 << this.#bitCount) - 1;
  }

  /** Pads the last byte with 1 bits, as the standard asks before a marker. */
  flushBits(): void {
    if (this.#bitCount > 0) this.bits(0x7f, 8 - this.#bitCount);
  }

  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}

/** One image component's samples, padded to whole MCUs by repeating the last row and column. */
interface Plane {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** Colour planes level-shifted by −128: Y at full size, Cb and Cr subsampled as asked. */
function colourPlanes(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
  subsample: boolean,
): Plane[] {
  const mcu = subsample ? 16 : 8;
  const paddedWidth = Math.ceil(width / mcu) * mcu;
  const paddedHeight = Math.ceil(height / mcu) * mcu;
  const size = paddedWidth * paddedHeight;
  const y = new Float32Array(size), cb = new Float32Array(size), cr = new Float32Array(size);
  for (let row = 0; row < paddedHeight; row++) {
    const sourceRow = Math.min(row, height - 1) * width;
    for (let col = 0; col < paddedWidth; col++) {
      const p = (sourceRow + Math.min(col, width - 1)) * 4;
      const r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
      const i = row * paddedWidth + col;
      y[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
      cb[i] = -0.168735892 * r - 0.331264108 * g + 0.5 * b;
      cr[i] = 0.5 * r - 0.418687589 * g - 0.081312411 * b;
    }
  }
  const luma = { data: y, width: paddedWidth, height: paddedHeight };
  if (!subsample) {
    return [luma, { ...luma, data: cb }, { ...luma, data: cr }];
  }
  const halfWidth = paddedWidth / 2, halfHeight = paddedHeight / 2;
  const half = (full: Float32Array): Plane => {
    const out = new Float32Array(halfWidth * halfHeight);
    for (let row = 0; row < halfHeight; row++) {
      const top = 2 * row * paddedWidth, bottom = top + paddedWidth;
      for (let col = 0; col < halfWidth; col++) {
        const x = 2 * col;
        out[row * halfWidth + col] =
          (full[top + x] + full[top + x + 1] + full[bottom + x] + full[bottom + x + 1]) / 4;
      }
    }
    return { data: out, width: halfWidth, height: halfHeight };
  };
  return [luma, half(cb), half(cr)];
}

function writeHuffmanTable(out: JpegWriter, tableClass: number, id: number, spec: HuffmanSpec) {
  out.byte((tableClass << 4) | id);
  out.bytes(spec.counts);
  out.bytes(spec.symbols);
}

/** Number of bits of |value| (the JPEG magnitude category). */
function category(value: number): number {
  return 32 - Math.clz32(value < 0 ? -value : value);
}

/**
 * Encodes an RGBA (or RGBX) image as a baseline JFIF JPEG; alpha is ignored.
 *
 * @param image `width × height` pixels, 4 bytes each, rows without padding.
 * @returns The JPEG file.
 * @throws {RangeError} for an empty image, one larger than 65,535 pixels across, or a data length
 *   that does not match the size.
 */
export function encodeJpeg(
  image: { readonly width: number; readonly height: number; readonly data: ArrayLike<number> },
  options: JpegEncodeOptions,
): Uint8Array {
  const { width, height } = image;
  if (!(width >= 1 && height >= 1 && width <= 65535 && height <= 65535)) {
    throw new RangeError(`JPEG size must be 1..65535 pixels each way, got ${width}×${height}`);
  }
  if (image.data.length !== width * height * 4) {
    throw new RangeError(
      `RGBA data of ${width}×${height} needs ${width * height * 4} bytes, got ${image.data.length}`,
    );
  }
  const subsample = options.subsampling === 420;
  const lumaTable = scaledQuantTable(LUMA_QUANT, options.quality);
  const chromaTable = scaledQuantTable(CHROMA_QUANT, options.quality);
  const out = new JpegWriter();
  // SOI, then JFIF APP0 (version 1.01, no density unit, 1:1), as libjpeg writes it.
  out.word(0xffd8);
  out.word(0xffe0);
  out.word(16);
  out.bytes([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  // DQT: both tables, 8-bit, zig-zag order.
  out.word(0xffdb);
  out.word(2 + 2 * 65);
  for (const [id, table] of [lumaTable, chromaTable].entries()) {
    out.byte(id);
    for (let k = 0; k < 64; k++) out.byte(table[ZIGZAG[k]]);
  }
  // SOF0: 8-bit, three components (Y sampled 2×2 or 1×1, chroma 1×1).
  out.word(0xffc0);
  out.word(8 + 3 * 3);
  out.byte(8);
  out.word(height);
  out.word(width);
  out.byte(3);
  out.bytes([1, subsample ? 0x22 : 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
  // DHT: the four standard tables.
  out.word(0xffc4);
  const specs = [DC_LUMA, AC_LUMA, DC_CHROMA, AC_CHROMA];
  out.word(2 + specs.reduce((n, s) => n + 17 + s.symbols.length, 0));
  writeHuffmanTable(out, 0, 0, DC_LUMA);
  writeHuffmanTable(out, 1, 0, AC_LUMA);
  writeHuffmanTable(out, 0, 1, DC_CHROMA);
  writeHuffmanTable(out, 1, 1, AC_CHROMA);
  // SOS: all three components, full spectral range.
  out.word(0xffda);
  out.word(6 + 2 * 3);
  out.byte(3);
  out.bytes([1, 0x00, 2, 0x11, 3, 0x11]);
  out.bytes([0, 63, 0]);

  const planes = colourPlanes(image.data as Uint8ClampedArray, width, height, subsample);
  const components = [
    { plane: planes[0], divisors: quantDivisors(lumaTable), dc: DC_LUMA, ac: AC_LUMA },
    { plane: planes[1], divisors: quantDivisors(chromaTable), dc: DC_CHROMA, ac: AC_CHROMA },
    { plane: planes[2], divisors: quantDivisors(chromaTable), dc: DC_CHROMA, ac: AC_CHROMA },
  ].map((c) => ({ ...c, dcCodes: huffmanCodes(c.dc), acCodes: huffmanCodes(c.ac), previous: 0 }));
  const block = new Float32Array(64);
  const coefficients = new Int32Array(64);

  const encodeBlock = (component: (typeof components)[number], x: number, y: number) => {
    const { data, width: stride } = component.plane;
    for (let row = 0; row < 8; row++) {
      const from = (y + row) * stride + x;
      for (let col = 0; col < 8; col++) block[row * 8 + col] = data[from + col];
    }
    forwardDct(block);
    const divisors = component.divisors;
    for (let k = 0; k < 64; k++) {
      const natural = ZIGZAG[k];
      coefficients[k] = Math.round(block[natural] * divisors[natural]);
    }
    const { dcCodes, acCodes } = component;
    const diff = coefficients[0] - component.previous;
    component.previous = coefficients[0];
    const dcBits = category(diff);
    out.bits(dcCodes.code[dcBits], dcCodes.length[dcBits]);
    if (dcBits > 0) out.bits(diff < 0 ? diff - 1 : diff, dcBits);
    let run = 0;
    for (let k = 1; k < 64; k++) {
      const value = coefficients[k];
      if (value === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        out.bits(acCodes.code[0xf0], acCodes.length[0xf0]);
        run -= 16;
      }
      const bits = category(value);
      const symbol = (run << 4) | bits;
      out.bits(acCodes.code[symbol], acCodes.length[symbol]);
      out.bits(value < 0 ? value - 1 : value, bits);
      run = 0;
    }
    if (run > 0) out.bits(acCodes.code[0], acCodes.length[0]);
  };

  const mcuSize = subsample ? 16 : 8;
  const [luma, cb, cr] = components;
  for (let my = 0; my < luma.plane.height; my += mcuSize) {
    for (let mx = 0; mx < luma.plane.width; mx += mcuSize) {
      encodeBlock(luma, mx, my);
      if (subsample) {
        encodeBlock(luma, mx + 8, my);
        encodeBlock(luma, mx, my + 8);
        encodeBlock(luma, mx + 8, my + 8);
      }
      const cx = subsample ? mx / 2 : mx, cy = subsample ? my / 2 : my;
      encodeBlock(cb, cx, cy);
      encodeBlock(cr, cx, cy);
    }
  }
  out.flushBits();
  out.word(0xffd9);
  return out.finish();
}
