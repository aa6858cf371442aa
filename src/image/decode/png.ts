/**
 * PNG decoding to the Pillow mode Pillow 9.4's `Image.open(f)` gives (see `../native_image.ts`).
 *
 * Modes (Pillow's `PngImagePlugin._MODES`): 1-bit grey is "1" (0 or 255); 2-, 4- and 8-bit
 * grey are "L" (scaled ×85, ×17, ×1); 16-bit grey is "I" (the 16-bit value); palette images of
 * any depth are "P", whose palette is a 256-entry table that starts as a grey ramp (so indices
 * beyond the PLTE, or a missing PLTE, give grey); 8-bit grey+alpha is "LA"; 16-bit grey+alpha is
 * "RGBA" with R = G = B; colour is "RGB" or "RGBA". 16-bit samples keep their high byte (except
 * for "I"). tRNS, gAMA, sRGB, iCCP and cHRM do not change the mode or the pixels. Any non-zero
 * interlace method means Adam7, as in Pillow.
 *
 * Container: chunks before the first IDAT must have valid names and CRCs and pass Pillow's
 * per-chunk checks; IDAT CRCs are not checked; the image data is the run of consecutive IDAT
 * chunks. As with Pillow's row-by-row zlib decoder, the data must give every row (or end
 * cleanly after a whole row, leaving the rest zero), surplus data is ignored, and a zlib error
 * fails unless it lies beyond where Pillow stops reading (see {@linkcode inflateImageData};
 * Pillow also feeds zlib in 64 KiB pieces, which is not modelled). After the image data,
 * chunks are walked as Pillow's `load_end` does: a chunk whose data runs past the end of the
 * file fails, a cut chunk header or a missing IEND does not.
 *
 * @module
 */

import { constants, crc32, inflateSync } from "node:zlib";
import { ImageDecodeError } from "../../errors.ts";
import { bandsOf, type NativeImage, type PillowMode } from "../native_image.ts";
import { checkImageSize } from "./pixel_limit.ts";
import { concatBytes } from "../../io/bytes.ts";

/**
 * Inflated bytes tolerated beyond what the image needs (Pillow ignores surplus data); a cap
 * against zlib bombs.
 */
const SLACK_OUTPUT_BYTES = 1 << 20;

/** Adam7 passes as (x0, y0, dx, dy). */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Channels per colour type, for the (bit depth, colour type) pairs Pillow supports. */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Pillow's mode per colour type, for 8-bit samples (see {@linkcode pillowMode}). */
const MODES: Readonly<Record<number, PillowMode>> = {
  0: "L",
  2: "RGB",
  3: "P",
  4: "LA",
  6: "RGBA",
};

/** Bit depths Pillow accepts per colour type (PngImagePlugin._MODES). */
const BIT_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** IHDR fields Pillow uses. */
interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

/** What the chunk checks remember between chunks (Pillow's PngStream state). */
interface ChunkState {
  header?: PngHeader;
  /** PLTE payload, kept only when a palette IHDR preceded it. */
  palette?: Uint8Array;
  /** acTL frame count when valid, as Pillow's `im_n_frames`. */
  frameCount?: number;
  /** Whether the IDAT image is an APNG default image outside the animation (no fcTL before). */
  defaultImage?: boolean;
  /** Last fcTL sequence number. */
  sequence?: number;
}

/**
 * Decodes a PNG file.
 *
 * @param bytes The whole file.
 * @param source How to name the input in error messages.
 * @returns The image in its Pillow mode.
 * @throws ImageDecodeError for anything Pillow 9.4 refuses, and for truncated data.
 */
export function decodePng(bytes: Uint8Array, source: string): NativeImage {
  const fail: (message: string) => never = (message) => {
    throw new ImageDecodeError("png", `${source}: ${message}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const state: ChunkState = {};

  // Chunks up to the first IDAT: names, lengths and CRCs are all checked.
  let pos = 8;
  for (;;) {
    if (pos + 8 > bytes.length) fail(`file ends in the chunk header at offset ${pos}`);
    const length = view.getUint32(pos);
    const type = chunkType(bytes, pos + 4);
    if (type === undefined) fail(`invalid chunk type at offset ${pos + 4}`);
    if (type === "IDAT") {
      state.defaultImage = state.frameCount !== undefined && state.sequence === undefined;
      break;
    }
    if (type === "IEND") fail(`IEND at offset ${pos} before any IDAT chunk`);
    if (type === "fdAT") fail(`fdAT chunk at offset ${pos} before any IDAT chunk`);
    const dataEnd = pos + 8 + length;
    if (dataEnd > bytes.length) {
      fail(`${type} chunk at offset ${pos} runs past the end of the file`);
    }
    const problem = checkChunk(type, bytes.subarray(pos + 8, dataEnd), state, true);
    if (problem) fail(`${type} chunk at offset ${pos}: ${problem}`);
    if (dataEnd + 4 > bytes.length) {
      fail(`file ends in the CRC of the ${type} chunk at offset ${pos}`);
    }
    if (crc32(bytes.subarray(pos + 4, dataEnd)) !== view.getUint32(dataEnd)) {
      fail(`bad CRC in the ${type} chunk at offset ${pos}`);
    }
    pos = dataEnd + 4;
  }
  const header = state.header ?? fail("no IHDR chunk before the image data");
  checkImageSize("png", source, header.width, header.height);

  // The run of consecutive IDAT chunks (CRCs unchecked, as in Pillow).
  const parts: Uint8Array[] = [];
  let cutInIdat = false;
  for (;;) {
    const length = view.getUint32(pos);
    const dataStart = pos + 8;
    const dataEnd = dataStart + length;
    parts.push(bytes.subarray(dataStart, Math.min(dataEnd, bytes.length)));
    if (dataEnd > bytes.length) {
      cutInIdat = true;
      break;
    }
    pos = dataEnd + 4;
    if (pos + 8 > bytes.length || chunkType(bytes, pos + 4) !== "IDAT") break;
  }

  const needed = rawSize(header);
  const stream = concatenate(parts);
  const raw = inflateImageData(stream, header, needed, fail);
  if (cutInIdat && parts.length > 1) {
    // Pillow stops reading IDAT chunks once the image is complete and then skips the rest of
    // the chunks by length: a cut IDAT chunk it did not need is an error there.
    const before = stream.subarray(0, stream.length - parts[parts.length - 1].length);
    if (inflateUpTo(before, needed).output.length >= needed) {
      fail("file ends inside an IDAT chunk after the image data");
    }
  }
  if (!cutInIdat) checkTrailingChunks(bytes, view, pos, state, fail);

  const { width, height } = header;
  const mode = pillowMode(header);
  if (mode === "I") {
    const data = new Int32Array(width * height);
    unfilterAndConvert(raw, header, 1, data, fail);
    return { mode, width, height, data };
  }
  const data = new Uint8Array(width * height * bandsOf(mode));
  unfilterAndConvert(raw, header, bandsOf(mode), data, fail);
  if (mode === "P") return { mode, width, height, data, palette: paletteTable(state) };
  return { mode, width, height, data };
}

/** The mode Pillow opens an image of this header in (PngImagePlugin._MODES). */
function pillowMode(header: PngHeader): PillowMode {
  const { bitDepth, colorType } = header;
  if (colorType === 0 && bitDepth === 1) return "1";
  if (colorType === 0 && bitDepth === 16) return "I";
  if (colorType === 4 && bitDepth === 16) return "RGBA";
  return MODES[colorType];
}

/** The four-character type at `offset` when it matches Pillow's `\w\w\w\w`, else undefined. */
function chunkType(bytes: Uint8Array, offset: number): string | undefined {
  let type = "";
  for (let i = 0; i < 4; i++) {
    const c = bytes[offset + i];
    const word = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!word) return undefined;
    type += String.fromCharCode(c);
  }
  return type;
}

/**
 * Pillow's per-chunk handling (PngStream.chunk_*), for the parts that can fail or that matter
 * for the pixels. Returns a description of the problem, or undefined.
 */
function checkChunk(
  type: string,
  data: Uint8Array,
  state: ChunkState,
  beforeImage: boolean,
): string | undefined {
  switch (type) {
    case "IHDR": {
      if (data.length < 13) return "shorter than 13 bytes";
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const [bitDepth, colorType] = [data[8], data[9]];
      if (data[11] !== 0) return `unknown filter method ${data[11]}`;
      if (beforeImage) {
        // Pillow fails later, when the image has no mode; the message is clearer here.
        if (!BIT_DEPTHS[colorType]?.includes(bitDepth)) {
          return `unsupported bit depth ${bitDepth} for colour type ${colorType}`;
        }
        state.header = {
          width: view.getUint32(0),
          height: view.getUint32(4),
          bitDepth,
          colorType,
          interlaced: data[12] !== 0,
        };
      }
      return undefined;
    }
    case "PLTE":
      if (beforeImage && state.header?.colorType === 3) {
        const entries = Math.floor(data.length / 3);
        if (entries > 256) return `${entries} palette entries (at most 256)`;
        state.palette = data;
      }
      return undefined;
    case "tRNS": {
      const colorType = state.header?.colorType;
      if (colorType === 0 && data.length < 2) return "shorter than 2 bytes";
      if (colorType === 2 && data.length < 6) return "shorter than 6 bytes";
      return undefined;
    }
    case "gAMA":
      return data.length < 4 ? "shorter than 4 bytes" : undefined;
    case "cHRM":
      return data.length % 4 !== 0 ? "length not a multiple of 4" : undefined;
    case "sRGB":
      return data.length < 1 ? "empty" : undefined;
    case "pHYs":
      return data.length < 9 ? "shorter than 9 bytes" : undefined;
    case "iCCP": {
      // Pillow reads the byte at the first NUL (or the last byte when there is none).
      if (data.length === 0) return "empty";
      const nul = data.indexOf(0);
      const method = data[nul >= 0 ? nul : data.length - 1];
      return method !== 0 ? `unknown compression method ${method}` : undefined;
    }
    case "zTXt": {
      const nul = data.indexOf(0);
      const method = nul >= 0 && nul + 1 < data.length ? data[nul + 1] : 0;
      return method !== 0 ? `unknown compression method ${method}` : undefined;
    }
    case "acTL": {
      if (data.length < 8) return "shorter than 8 bytes";
      const frames = new DataView(data.buffer, data.byteOffset).getUint32(0);
      if (state.frameCount !== undefined) state.frameCount = undefined;
      else if (frames !== 0 && frames <= 0x80000000) state.frameCount = frames;
      return undefined;
    }
    case "fcTL": {
      if (data.length < 26) return "shorter than 26 bytes";
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const sequence = view.getUint32(0);
      const expected = state.sequence === undefined ? 0 : state.sequence + 1;
      if (sequence !== expected) return `sequence number ${sequence}, expected ${expected}`;
      state.sequence = sequence;
      const [width, height, x, y] = [4, 8, 12, 16].map((o) => view.getUint32(o));
      const image = state.header;
      if (image && (x + width > image.width || y + height > image.height)) {
        return "frame outside the image";
      }
      if (
        beforeImage && (x !== 0 || y !== 0 || width !== image?.width || height !== image.height)
      ) {
        return "a default image that is a sub-rectangle is not supported";
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Bytes of filtered scanlines (with their filter bytes) the image needs. */
function rawSize(header: PngHeader): number {
  const bitsPerPixel = header.bitDepth * CHANNELS[header.colorType];
  const rowBytes = (w: number) => Math.ceil((w * bitsPerPixel) / 8);
  if (!header.interlaced) return header.height * (1 + rowBytes(header.width));
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((header.width - x0) / dx);
    const h = Math.ceil((header.height - y0) / dy);
    if (w > 0 && h > 0) total += h * (1 + rowBytes(w));
  }
  return total;
}

/** The IDAT payloads as one zlib stream (no copy for a single chunk). */
function concatenate(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

/** What a zlib stream gives before it ends, fails or passes `needed` + slack bytes. */
interface InflateResult {
  /** The output produced without error (all of it when `error` is undefined). */
  output: Uint8Array;
  /** zlib's complaint about the data, if any. */
  error?: string;
}

/**
 * Inflates `stream` as far as it is valid, giving up to `needed` + {@linkcode
 * SLACK_OUTPUT_BYTES} bytes. A stream that simply stops gives what it has; on corrupt data the
 * longest error-free prefix of the input is found by bisection (only on that error path).
 */
function inflateUpTo(stream: Uint8Array, needed: number): InflateResult {
  const limit = needed + SLACK_OUTPUT_BYTES;
  const attempt = (length: number): Uint8Array | Error => {
    try {
      return inflateSync(stream.subarray(0, length), {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: limit,
      });
    } catch (error) {
      return error as Error;
    }
  };
  const whole = attempt(stream.length);
  if (!(whole instanceof Error)) return { output: whole };
  let good = 0;
  let output: Uint8Array = new Uint8Array(0);
  let bad = stream.length;
  while (bad - good > 1) {
    const middle = (good + bad) >>> 1;
    const result = attempt(middle);
    if (result instanceof Error) {
      bad = middle;
    } else {
      good = middle;
      output = result;
    }
  }
  const tooLarge = (whole as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
  return { output, error: tooLarge ? undefined : whole.message };
}

/**
 * Inflates the image data with the outcome Pillow's row-by-row decoder has: it stops as soon as
 * the last row is complete, so corrupt data after that point goes unnoticed; and a zlib stream
 * that ends cleanly at a row boundary ends the image there (the missing rows stay zero, which
 * this function reproduces by zero-padding).
 */
function inflateImageData(
  stream: Uint8Array,
  header: PngHeader,
  needed: number,
  fail: (message: string) => never,
): Uint8Array {
  const { output, error } = inflateUpTo(stream, needed);
  // Pillow's zlib stops once the last row's bytes are out, so it misses bad data after surplus
  // output, and a back-reference that would be copied next (zlib checks its distance only when
  // copying). It still decodes the next code, the end of the stream and the checksum.
  const missed = output.length > needed ||
    (output.length === needed && error === "invalid distance too far back");
  if (error !== undefined && !missed) {
    return fail(`broken zlib stream in the image data: ${error}`);
  }
  if (output.length >= needed) return output;
  if (output.length > 0 && isRowBoundary(header, output.length) && streamEnds(stream)) {
    const padded = new Uint8Array(needed);
    padded.set(output);
    return padded;
  }
  return fail(`image data ends after ${output.length} of ${needed} bytes (truncated file?)`);
}

/** Whether the zlib stream is complete (has its end and a matching checksum). */
function streamEnds(stream: Uint8Array): boolean {
  try {
    inflateSync(stream);
    return true;
  } catch {
    return false;
  }
}

/** Whether `length` filtered bytes end exactly after a scanline (of any Adam7 pass). */
function isRowBoundary(header: PngHeader, length: number): boolean {
  const bitsPerPixel = header.bitDepth * CHANNELS[header.colorType];
  const passes = header.interlaced ? ADAM7 : [[0, 0, 1, 1] as const];
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((header.width - x0) / dx);
    const h = Math.ceil((header.height - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    const rowLength = 1 + Math.ceil((w * bitsPerPixel) / 8);
    if (length <= total + h * rowLength) return (length - total) % rowLength === 0;
    total += h * rowLength;
  }
  return false;
}

/**
 * Walks the chunks after the image data as Pillow's `load_end` does. Pillow stops quietly on
 * a cut header, an invalid chunk name, IEND, or (in an animation) the next fcTL; it fails on a
 * chunk whose data is cut and on its per-chunk checks. CRCs are not checked here.
 */
function checkTrailingChunks(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  state: ChunkState,
  fail: (message: string) => never,
): void {
  let pos = start;
  while (pos + 8 <= bytes.length) {
    const type = chunkType(bytes, pos + 4);
    if (type === undefined || type === "IEND") return;
    const frames = (state.frameCount ?? 1) + (state.defaultImage ? 1 : 0);
    if (type === "fcTL" && frames > 1) return;
    const length = view.getUint32(pos);
    const dataEnd = pos + 8 + length;
    if (dataEnd > bytes.length) {
      fail(`${type} chunk at offset ${pos} runs past the end of the file`);
    }
    const problem = checkChunk(type, bytes.subarray(pos + 8, dataEnd), state, false);
    if (problem) fail(`${type} chunk at offset ${pos}: ${problem}`);
    pos = dataEnd + 4;
  }
}

/** The 256-entry RGB table Pillow uses for palette images: a grey ramp under the PLTE. */
function paletteTable(state: ChunkState): Uint8Array {
  const table = new Uint8Array(768);
  for (let i = 0; i < 256; i++) table[i * 3] = table[i * 3 + 1] = table[i * 3 + 2] = i;
  const plte = state.palette;
  if (plte) table.set(plte.subarray(0, plte.length - (plte.length % 3)));
  return table;
}

/**
 * Reverses the scanline filters in place and writes the pixels in their Pillow mode, `bands`
 * samples each, pass by pass for Adam7.
 */
function unfilterAndConvert(
  raw: Uint8Array,
  header: PngHeader,
  bands: number,
  out: Uint8Array | Int32Array,
  fail: (message: string) => never,
): void {
  const { width, height, bitDepth, colorType } = header;
  const bitsPerPixel = bitDepth * CHANNELS[colorType];
  const filterStride = Math.max(1, bitsPerPixel >> 3);
  const passes = header.interlaced ? ADAM7 : [[0, 0, 1, 1] as const];
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) continue;
    const rowBytes = Math.ceil((passWidth * bitsPerPixel) / 8);
    let previous = -1;
    for (let row = 0; row < passHeight; row++) {
      const filter = raw[offset];
      const start = offset + 1;
      if (!unfilterRow(raw, start, rowBytes, previous, filterStride, filter)) {
        fail(`unknown filter type ${filter} in scanline ${row} of pass ${x0},${y0}`);
      }
      const y = y0 + row * dy;
      convertRow(raw, start, passWidth, header, out, (y * width + x0) * bands, dx * bands);
      previous = start;
      offset = start + rowBytes;
    }
  }
}

/** Undoes one scanline's filter in place; `previous` is the prior row's start or -1. */
function unfilterRow(
  raw: Uint8Array,
  start: number,
  length: number,
  previous: number,
  bpp: number,
  filter: number,
): boolean {
  const end = start + length;
  switch (filter) {
    case 0:
      return true;
    case 1:
      for (let i = start + bpp; i < end; i++) raw[i] = (raw[i] + raw[i - bpp]) & 255;
      return true;
    case 2:
      if (previous >= 0) {
        for (let i = start, j = previous; i < end; i++, j++) raw[i] = (raw[i] + raw[j]) & 255;
      }
      return true;
    case 3:
      if (previous < 0) {
        for (let i = start + bpp; i < end; i++) raw[i] = (raw[i] + (raw[i - bpp] >> 1)) & 255;
      } else {
        for (let i = start, j = previous; i < end; i++, j++) {
          const left = i - start >= bpp ? raw[i - bpp] : 0;
          raw[i] = (raw[i] + ((left + raw[j]) >> 1)) & 255;
        }
      }
      return true;
    case 4:
      for (let i = start, j = previous; i < end; i++, j++) {
        const hasLeft = i - start >= bpp;
        const a = hasLeft ? raw[i - bpp] : 0;
        const b = previous >= 0 ? raw[j] : 0;
        const c = previous >= 0 && hasLeft ? raw[j - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        const predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        raw[i] = (raw[i] + predictor) & 255;
      }
      return true;
    default:
      return false;
  }
}

/**
 * Converts one unfiltered scanline of `count` pixels to Pillow's samples at `out[outStart]`,
 * stepping `outStep` samples per pixel (the mode's band count, or a multiple for Adam7 passes).
 */
function convertRow(
  raw: Uint8Array,
  start: number,
  count: number,
  header: PngHeader,
  out: Uint8Array | Int32Array,
  outStart: number,
  outStep: number,
): void {
  const { bitDepth, colorType } = header;
  let o = outStart;
  if (colorType === 0 && bitDepth === 16) {
    // Mode "I" from raw mode "I;16B".
    for (let i = 0, s = start; i < count; i++, s += 2, o += outStep) {
      out[o] = (raw[s] << 8) | raw[s + 1];
    }
    return;
  }
  if (bitDepth === 8 && (colorType === 0 || colorType === 3)) {
    for (let i = 0, s = start; i < count; i++, s++, o += outStep) out[o] = raw[s];
    return;
  }
  if (colorType === 0 || colorType === 3) {
    // 1, 2 or 4 bits per sample, most significant bits first; grey is scaled to 0..255
    // (x255 for "1", x85, x17), palette indices are not.
    const mask = (1 << bitDepth) - 1;
    const scale = colorType === 0 ? 255 / mask : 1;
    let shift = 8 - bitDepth;
    for (let i = 0, s = start; i < count; i++, o += outStep) {
      out[o] = ((raw[s] >> shift) & mask) * scale;
      if (shift === 0) {
        shift = 8 - bitDepth;
        s++;
      } else {
        shift -= bitDepth;
      }
    }
    return;
  }
  // Grey+alpha and colour: the high byte of each sample.
  const bytesPerSample = bitDepth >> 3;
  const stride = CHANNELS[colorType] * bytesPerSample;
  const b1 = bytesPerSample;
  const b2 = 2 * bytesPerSample;
  const b3 = 3 * bytesPerSample;
  if (colorType === 4 && bitDepth === 8) {
    for (let i = 0, s = start; i < count; i++, s += stride, o += outStep) {
      out[o] = raw[s];
      out[o + 1] = raw[s + 1];
    }
  } else if (colorType === 4) {
    // 16-bit grey+alpha opens as "RGBA" (raw mode "LA;16B").
    for (let i = 0, s = start; i < count; i++, s += stride, o += outStep) {
      out[o] = out[o + 1] = out[o + 2] = raw[s];
      out[o + 3] = raw[s + b1];
    }
  } else if (colorType === 2) {
    for (let i = 0, s = start; i < count; i++, s += stride, o += outStep) {
      out[o] = raw[s];
      out[o + 1] = raw[s + b1];
      out[o + 2] = raw[s + b2];
    }
  } else {
    for (let i = 0, s = start; i < count; i++, s += stride, o += outStep) {
      out[o] = raw[s];
      out[o + 1] = raw[s + b1];
      out[o + 2] = raw[s + b2];
      out[o + 3] = raw[s + b3];
    }
  }
}
