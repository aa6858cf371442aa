/**
 * The WebAssembly SIMD kernels of Pillow's two hot 8-bit resampling passes (resample.wat): the
 * horizontal pass over RGB bytes and the vertical pass over bytes of any band count, with the
 * same integer arithmetic as `../resize.ts` (22-bit fixed-point weights, 32-bit wrapping sums
 * started at 2^21, `>> 22`, clamped to 0..255), so their bytes are identical.
 *
 * {@linkcode ResampleSimd.load} instantiates the module (once per caller: each worker has its
 * own), or gives `undefined` where the runtime lacks WebAssembly SIMD. The kernels work inside
 * the module's memory: the caller lays out regions there with {@linkcode ResampleSimd.layout},
 * copies the source in, runs the passes and copies the result out. Weights are packed once per
 * coefficient set by {@linkcode packHorizontalRgb} and {@linkcode packVertical}: each 22-bit
 * weight w is split as `hi * 2^15 + lo` (`lo = w & 0x7fff`) into two 16-bit halves, so that a
 * pair of samples is multiplied and added by one `i32x4.dot_i16x8_s` per half.
 *
 * Padding the caller provides (the kernels read and write past the exact extent, in ways that
 * never change a result): a source region must stay readable one row and 32 bytes past its
 * last row read (zero-weight taps, 16-byte chunks); a destination region needs 16 bytes after
 * its end (3-byte pixels are stored as 4 bytes, rows in 16-byte chunks, in increasing order, so
 * each overlap is overwritten by the next store).
 *
 * @module
 */

import { RESAMPLE_WASM_BASE64 } from "./resample_wasm.ts";

/**
 * Fixed-point weights of one resampling pass, as `../resize.ts` computes them: output `i` reads
 * `counts[i]` input samples from `starts[i]` with weights `weights[i * taps ..]`.
 */
export interface PassWeights {
  /** Stride of `weights` per output position. */
  readonly taps: number;
  /** First input index read, per output position. */
  readonly starts: Int32Array;
  /** Number of input samples read, per output position. */
  readonly counts: Int32Array;
  /** 22-bit fixed-point weights. */
  readonly weights: Int32Array;
}

/** Weights of one pass in a kernel's record layout (see resample.wat). */
export interface PackedPass {
  /** One record per output position, `recordInts` int32 each. */
  readonly records: Int32Array;
  /** Int32 values per record. */
  readonly recordInts: number;
  /** Output positions (records). */
  readonly outputs: number;
  /** First input index read, per output position. */
  readonly starts: Int32Array;
}

/** Padding a source region needs past its last row read, beyond one more row (see the module doc). */
export const SOURCE_PADDING = 32;
/** Padding a destination region needs after its end. */
export const DESTINATION_PADDING = 16;

/** Bits of a weight's low half (`lo = w & 0x7fff`, `hi = w >> 15`). */
const LOW_BITS = 15;
/** Bytes per RGB pixel. */
const RGB = 3;
/** Bytes of one WebAssembly memory page. */
const PAGE_BYTES = 65536;
/**
 * Most bytes of memory the kernels are given (offsets stay positive int32 values); work that
 * needs more is left to the TypeScript passes.
 */
export const MAX_MEMORY_BYTES = 0x7fff0000;
/** Most bytes of memory kept between calls (a job of a larger image gets a memory of its own). */
export const RETAINED_MEMORY_BYTES: number = 1 << 26;

/** The assembled module's bytes. */
export function resampleWasmBytes(): Uint8Array<ArrayBuffer> {
  const binary = atob(RESAMPLE_WASM_BASE64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Two 16-bit values in one int32, the first in the low half (little-endian lane order). */
function packPair(first: number, second: number): number {
  return (first & 0xffff) | (second << 16);
}

/** Whether `weight >> 15` fits a signed 16-bit lane (always, for normalised weights). */
function splits(weight: number): boolean {
  const hi = weight >> LOW_BITS;
  return hi >= -32768 && hi <= 32767;
}

/**
 * Packs a horizontal pass over RGB bytes: per output pixel the byte offset of its first pixel
 * read, its count of 4-tap groups and per group the split weights of taps (0, 1) and (2, 3);
 * taps past the pixel's count have weight 0.
 *
 * @param pass The pass's weights.
 * @returns The records, or `undefined` when a weight does not split into 16-bit halves.
 */
export function packHorizontalRgb(pass: PassWeights): PackedPass | undefined {
  const { taps, starts, counts, weights } = pass;
  const outputs = counts.length;
  let maxCount = 0;
  for (let i = 0; i < outputs; i++) if (counts[i] > maxCount) maxCount = counts[i];
  const maxGroups = Math.ceil(maxCount / 4);
  const recordInts = 2 + 4 * maxGroups;
  const records = new Int32Array(outputs * recordInts);
  const hi = new Int32Array(4);
  const lo = new Int32Array(4);
  for (let i = 0; i < outputs; i++) {
    const record = i * recordInts;
    const count = counts[i];
    const groups = Math.ceil(count / 4);
    records[record] = starts[i] * RGB;
    records[record + 1] = groups;
    for (let g = 0; g < groups; g++) {
      for (let t = 0; t < 4; t++) {
        const k = g * 4 + t;
        const weight = k < count ? weights[i * taps + k] : 0;
        if (!splits(weight)) return undefined;
        hi[t] = weight >> LOW_BITS;
        lo[t] = weight & ((1 << LOW_BITS) - 1);
      }
      const at = record + 2 + g * 4;
      records[at] = packPair(hi[0], hi[1]);
      records[at + 1] = packPair(lo[0], lo[1]);
      records[at + 2] = packPair(hi[2], hi[3]);
      records[at + 3] = packPair(lo[2], lo[3]);
    }
  }
  return { records, recordInts, outputs, starts };
}

/**
 * Packs a vertical pass: per output row a placeholder for the byte offset of its first source
 * row (filled in by {@linkcode ResampleSimd.vertical}), its count of row pairs and per pair the
 * split weights of its two rows; the second row of a last, odd pair has weight 0.
 *
 * @param pass The pass's weights.
 * @returns The records, or `undefined` when a weight does not split into 16-bit halves.
 */
export function packVertical(pass: PassWeights): PackedPass | undefined {
  const { taps, starts, counts, weights } = pass;
  const outputs = counts.length;
  let maxCount = 0;
  for (let i = 0; i < outputs; i++) if (counts[i] > maxCount) maxCount = counts[i];
  const maxPairs = Math.ceil(maxCount / 2);
  const recordInts = 2 + 2 * maxPairs;
  const records = new Int32Array(outputs * recordInts);
  for (let i = 0; i < outputs; i++) {
    const record = i * recordInts;
    const count = counts[i];
    const pairs = Math.ceil(count / 2);
    records[record + 1] = pairs;
    for (let j = 0; j < pairs; j++) {
      const first = weights[i * taps + 2 * j];
      const second = 2 * j + 1 < count ? weights[i * taps + 2 * j + 1] : 0;
      if (!splits(first) || !splits(second)) return undefined;
      const mask = (1 << LOW_BITS) - 1;
      records[record + 2 + 2 * j] = packPair(first >> LOW_BITS, second >> LOW_BITS);
      records[record + 3 + 2 * j] = packPair(first & mask, second & mask);
    }
  }
  return { records, recordInts, outputs, starts };
}

/** The module's exports. */
interface ResampleExports {
  readonly memory: WebAssembly.Memory;
  readonly horizontalRgb: (
    src: number,
    srcStride: number,
    rows: number,
    coefs: number,
    recordBytes: number,
    outWidth: number,
    dst: number,
  ) => void;
  readonly vertical: (
    src: number,
    srcStride: number,
    coefs: number,
    recordBytes: number,
    outHeight: number,
    rowBytes: number,
    dst: number,
  ) => void;
}

/** A new instance of the kernels (with a memory of one page). */
function instantiate(module: WebAssembly.Module): ResampleExports {
  return new WebAssembly.Instance(module).exports as unknown as ResampleExports;
}

/**
 * The kernels, compiled, with an instance whose memory grows as needed and is kept between
 * calls (up to {@linkcode RETAINED_MEMORY_BYTES}).
 */
export class ResampleSimd {
  /** The compiled module, for instances beyond the retained memory. */
  readonly #module: WebAssembly.Module;
  /** The instance whose memory is kept between calls. */
  readonly #retained: ResampleExports;
  /** The instance of the current layout: the retained one, or one for an oversized job. */
  #exports: ResampleExports;
  #bytes: Uint8Array;
  #ints: Int32Array;

  private constructor(module: WebAssembly.Module) {
    this.#module = module;
    this.#retained = instantiate(module);
    this.#exports = this.#retained;
    this.#bytes = new Uint8Array(this.#exports.memory.buffer);
    this.#ints = new Int32Array(this.#exports.memory.buffer);
  }

  /**
   * Compiles and instantiates the kernels.
   *
   * @param bytes The module (the assembled resample.wat unless given, e.g. by a test).
   * @returns The instance, or `undefined` when the runtime does not validate the module (no
   *   WebAssembly SIMD).
   */
  static load(bytes: Uint8Array<ArrayBuffer> = resampleWasmBytes()): ResampleSimd | undefined {
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) return undefined;
    return new ResampleSimd(new WebAssembly.Module(bytes));
  }

  /**
   * Places regions of the given byte lengths one after another in memory, each 16-byte aligned,
   * growing the memory as needed. Earlier contents are not kept. Up to
   * {@linkcode RETAINED_MEMORY_BYTES} in all, the memory is kept for later calls; a larger job
   * gets a memory of its own, dropped by {@linkcode ResampleSimd.release}.
   *
   * @param lengths Byte length of each region (padding included).
   * @returns The byte offset of each region, or `undefined` when they would not fit in
   *   {@linkcode MAX_MEMORY_BYTES} or the memory cannot grow.
   */
  layout(lengths: readonly number[]): number[] | undefined {
    const offsets: number[] = [];
    let end = 0;
    for (const length of lengths) {
      offsets.push(end);
      end += Math.ceil(length / 16) * 16;
    }
    if (end > MAX_MEMORY_BYTES) return undefined;
    try {
      this.#exports = end > RETAINED_MEMORY_BYTES ? instantiate(this.#module) : this.#retained;
      const memory = this.#exports.memory;
      if (end > memory.buffer.byteLength) {
        memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE_BYTES));
      }
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      this.release();
      return undefined;
    }
    this.#refreshViews();
    return offsets;
  }

  /** Drops the memory of an oversized job, if the current layout has one. */
  release(): void {
    if (this.#exports === this.#retained) return;
    this.#exports = this.#retained;
    this.#refreshViews();
  }

  /** Points the views at the current instance's memory (a grown memory has a new buffer). */
  #refreshViews(): void {
    const buffer = this.#exports.memory.buffer;
    if (this.#bytes.buffer !== buffer) {
      this.#bytes = new Uint8Array(buffer);
      this.#ints = new Int32Array(buffer);
    }
  }

  /** The memory as bytes (valid until the next {@linkcode ResampleSimd.layout}). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /**
   * Horizontal pass over RGB bytes: `rows` rows of `srcStride` bytes from `src`, each to
   * `pass.outputs` packed pixels from `dst` on.
   *
   * @param src Offset of the first source row.
   * @param srcStride Bytes per source row.
   * @param rows Rows to resample.
   * @param pass The packed weights ({@linkcode packHorizontalRgb}).
   * @param coefs Offset of a region of `pass.records.length * 4` bytes for the weights.
   * @param dst Offset of the destination region.
   */
  horizontalRgb(
    src: number,
    srcStride: number,
    rows: number,
    pass: PackedPass,
    coefs: number,
    dst: number,
  ): void {
    this.#ints.set(pass.records, coefs >> 2);
    this.#exports.horizontalRgb(
      src,
      srcStride,
      rows,
      coefs,
      pass.recordInts * 4,
      pass.outputs,
      dst,
    );
  }

  /**
   * Vertical pass: output row `y` combines the source rows from `pass.starts[y] - rowOffset`
   * (rows of `srcStride` bytes from `src`, the bytes of interest from `columnOffset`) into
   * `rowBytes` bytes at `dst + y * rowBytes`.
   *
   * @param src Offset of the source region (its row `0` is image row `rowOffset`).
   * @param srcStride Bytes per source row.
   * @param rowOffset Image row of the region's first row.
   * @param columnOffset Byte of a row where the output's columns start.
   * @param rowBytes Bytes per output row.
   * @param pass The packed weights ({@linkcode packVertical}).
   * @param coefs Offset of a region of `pass.records.length * 4` bytes for the weights.
   * @param dst Offset of the destination region.
   */
  vertical(
    src: number,
    srcStride: number,
    rowOffset: number,
    columnOffset: number,
    rowBytes: number,
    pass: PackedPass,
    coefs: number,
    dst: number,
  ): void {
    const ints = this.#ints;
    const first = coefs >> 2;
    ints.set(pass.records, first);
    const { recordInts, outputs, starts } = pass;
    for (let y = 0; y < outputs; y++) {
      ints[first + y * recordInts] = (starts[y] - rowOffset) * srcStride + columnOffset;
    }
    this.#exports.vertical(src, srcStride, coefs, recordInts * 4, outputs, rowBytes, dst);
  }
}
