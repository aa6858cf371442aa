/**
 * Bit-exact reimplementation of Pillow 9.4's resampling (`ImagingResample` and, for NEAREST,
 * `ImagingScaleAffine`): {@linkcode resize} for RGB images, {@linkcode resizeSamples} for images
 * of 1 to 4 byte bands or of one 32-bit integer band (Pillow's "I"). The mode rules of
 * `Image.resize` (NEAREST for palettes, premultiplied alpha) live in `resize_native.ts`.
 *
 * The five convolution filters (LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING) follow
 * `libImaging/Resample.c`: per output position the filter is centred at `(x + 0.5) * scale` in
 * input coordinates, its support widened by the downscale factor, the bounds rounded as Pillow
 * rounds them, the weights normalised to sum 1. For bytes the weights are converted to 22-bit
 * fixed point and each output byte is `clip((2^21 + Σ sample · weight) >> 22)`, band by band
 * (the same arithmetic for every band count). For 32-bit integers the sum is taken in double
 * precision with the normalised weights and rounded half away from zero (Pillow's `ROUND_UP`),
 * without clipping. The horizontal pass runs first, then the vertical one; a pass whose
 * dimension does not change is skipped, as in Pillow.
 *
 * NEAREST does not use the convolution: Pillow resizes with it through its affine scaling path
 * (`ImagingScaleAffine`), which walks source coordinates by repeatedly adding the floating-point
 * step `inSize / outSize` to a start of half a step and truncating; this module does the same,
 * so it reproduces the accumulated rounding of that walk. Positions the walk leaves outside
 * the source are 0.
 *
 * A `window` asks for part of the resized image only (for resize-then-centre-crop): just the
 * columns and rows inside it are computed, and the result equals cropping the full result.
 *
 * The two hot 8-bit passes — horizontal over RGB, vertical over any band count — run as
 * WebAssembly SIMD kernels (`resample_simd/`) with the same integer arithmetic, so the bytes are
 * the same; where the runtime has no WebAssembly SIMD, the TypeScript passes here run instead,
 * chosen once on first use ({@linkcode setResampleKernels} forces either).
 *
 * @module
 */

import {
  DESTINATION_PADDING,
  type PackedPass,
  packHorizontalRgb,
  packVertical,
  ResampleSimd,
  SOURCE_PADDING,
} from "./resample_simd/kernels.ts";
import type { RgbImage } from "./rgb_image.ts";

/** Pillow's resampling filter numbers (`PIL.Image.Resampling`), as used by `resample` in configs. */
export const ResampleFilter = {
  /** Nearest neighbour (Pillow's affine scaling path). */
  NEAREST: 0,
  /** Lanczos, support 3 (Pillow's `ANTIALIAS`). */
  LANCZOS: 1,
  /** Triangle filter, support 1. */
  BILINEAR: 2,
  /** Cubic convolution with a = -0.5, support 2: the CLIP default. */
  BICUBIC: 3,
  /** Box filter, support 0.5. */
  BOX: 4,
  /** Hamming-windowed sinc, support 1. */
  HAMMING: 5,
} as const;

/** One of Pillow's resampling filter numbers, 0..5 (see {@linkcode ResampleFilter}). */
export type ResampleFilter = typeof ResampleFilter[keyof typeof ResampleFilter];

/** A rectangle of the resized image, in output pixel coordinates. */
export interface ResizeWindow {
  /** First column (≥ 0). */
  readonly left: number;
  /** First row (≥ 0). */
  readonly top: number;
  /** Number of columns (≥ 1, `left + width` ≤ the output width). */
  readonly width: number;
  /** Number of rows (≥ 1, `top + height` ≤ the output height). */
  readonly height: number;
}

/** Fixed-point fraction bits of the filter weights, Pillow's `PRECISION_BITS` (32 - 8 - 2). */
const PRECISION_BITS = 22;
/** 1.0 in fixed point. */
const FIXED_ONE = 1 << PRECISION_BITS;
/** Initial accumulator value: one half in fixed point, so the final shift rounds. */
const FIXED_HALF = 1 << (PRECISION_BITS - 1);
/** Bytes per RGB pixel. */
const CHANNELS = 3;

/**
 * An image as interleaved samples: `bands` bytes per pixel, or one 32-bit integer per pixel
 * (Pillow's "I" mode), row-major without padding.
 */
export interface SampleImage {
  /** Width in pixels (≥ 1). */
  readonly width: number;
  /** Height in pixels (≥ 1). */
  readonly height: number;
  /** Samples per pixel: 1 to 4 for bytes, 1 for 32-bit integers. */
  readonly bands: number;
  /** `width * height * bands` samples. */
  readonly data: Uint8Array | Int32Array;
}

/** Pillow's single-precision constants of the Hamming window (`0.54f`, `0.46f`). */
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

/** Box filter: 1 on (-0.5, 0.5]. */
function boxKernel(x: number): number {
  return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

/** Triangle filter. */
function bilinearKernel(x: number): number {
  const ax = x < 0.0 ? -x : x;
  return ax < 1.0 ? 1.0 - ax : 0.0;
}

/** Hamming-windowed sinc, evaluated with the same operations and constants as Pillow. */
function hammingKernel(x: number): number {
  let ax = x < 0.0 ? -x : x;
  if (ax === 0.0) return 1.0;
  if (ax >= 1.0) return 0.0;
  ax = ax * Math.PI;
  return Math.sin(ax) / ax * (HAMMING_A + HAMMING_B * Math.cos(ax));
}

/** Keys' cubic convolution kernel with a = -0.5, in Pillow's evaluation order. */
function bicubicKernel(x: number): number {
  const a = -0.5;
  const ax = x < 0.0 ? -x : x;
  if (ax < 1.0) return ((a + 2.0) * ax - (a + 3.0)) * ax * ax + 1;
  if (ax < 2.0) return (((ax - 5) * ax + 8) * ax - 4) * a;
  return 0.0;
}

/** Normalised sinc, `sin(πx) / (πx)`. */
function sinc(x: number): number {
  if (x === 0.0) return 1.0;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

/** Lanczos-3 kernel (sinc windowed by a 3× wider sinc), zero outside [-3, 3). */
function lanczosKernel(x: number): number {
  if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
  return 0.0;
}

/** A convolution filter: kernel function and support radius at scale 1. */
interface ConvolutionFilter {
  readonly kernel: (x: number) => number;
  readonly support: number;
}

/** The convolution filters, indexed by Pillow filter number (NEAREST has none). */
const CONVOLUTION_FILTERS: readonly (ConvolutionFilter | undefined)[] = [
  undefined,
  { kernel: lanczosKernel, support: 3.0 },
  { kernel: bilinearKernel, support: 1.0 },
  { kernel: bicubicKernel, support: 2.0 },
  { kernel: boxKernel, support: 0.5 },
  { kernel: hammingKernel, support: 1.0 },
];

/**
 * Fixed-point weights of one resampling pass for a run of consecutive output positions:
 * output `first + i` reads `counts[i]` input samples starting at `starts[i]` with the weights
 * `weights[i * taps .. i * taps + counts[i]]`.
 */
interface PassCoefficients {
  /** Stride of `weights` per output position (Pillow's `ksize`). */
  readonly taps: number;
  /** First input index read, per output position. */
  readonly starts: Int32Array;
  /** Number of input samples read, per output position. */
  readonly counts: Int32Array;
  /** 22-bit fixed-point weights (the 8-bit passes). */
  readonly weights: Int32Array;
  /** The normalised weights before fixed-point conversion (the 32-bit passes), same layout. */
  readonly normalized: Float64Array;
  /** The weights packed for the SIMD horizontal RGB kernel, once used (`null`: not packable). */
  simdHorizontal?: PackedPass | null;
  /** The weights packed for the SIMD vertical kernel, once used (`null`: not packable). */
  simdVertical?: PackedPass | null;
}

/** Most coefficient sets kept; the least recently used one is dropped beyond this. */
const COEFFICIENT_CACHE_LIMIT = 64;
/** Coefficient sets by "inSize,outSize,filter,first,count", oldest first (a Map keeps insertion order). */
const coefficientCache = new Map<string, PassCoefficients>();

/**
 * The weights for output positions `first .. first + count - 1` of a pass from `inSize` to
 * `outSize` samples, cached (least recently used dropped beyond {@linkcode COEFFICIENT_CACHE_LIMIT}).
 */
function passCoefficients(
  inSize: number,
  outSize: number,
  filter: ConvolutionFilter,
  filterNumber: number,
  first: number,
  count: number,
): PassCoefficients {
  const key = `${inSize},${outSize},${filterNumber},${first},${count}`;
  const cached = coefficientCache.get(key);
  if (cached !== undefined) {
    coefficientCache.delete(key);
    coefficientCache.set(key, cached);
    return cached;
  }
  const computed = computePassCoefficients(inSize, outSize, filter, first, count);
  coefficientCache.set(key, computed);
  if (coefficientCache.size > COEFFICIENT_CACHE_LIMIT) {
    const oldest = coefficientCache.keys().next().value as string;
    coefficientCache.delete(oldest);
  }
  return computed;
}

/** Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for a run of outputs. */
function computePassCoefficients(
  inSize: number,
  outSize: number,
  filter: ConvolutionFilter,
  first: number,
  count: number,
): PassCoefficients {
  const scale = inSize / outSize;
  const filterScale = scale < 1.0 ? 1.0 : scale;
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const inverseFilterScale = 1.0 / filterScale;
  const starts = new Int32Array(count);
  const counts = new Int32Array(count);
  const weights = new Int32Array(count * taps);
  const normalized = new Float64Array(count * taps);
  const realWeights = new Float64Array(taps);
  for (let i = 0; i < count; i++) {
    const center = (first + i + 0.5) * scale;
    // Pillow rounds both bounds by adding 0.5 and truncating toward zero.
    let start = Math.trunc(center - support + 0.5);
    if (start < 0) start = 0;
    let end = Math.trunc(center + support + 0.5);
    if (end > inSize) end = inSize;
    const n = end - start;
    let sum = 0.0;
    for (let k = 0; k < n; k++) {
      const w = filter.kernel((k + start - center + 0.5) * inverseFilterScale);
      realWeights[k] = w;
      sum += w;
    }
    const base = i * taps;
    for (let k = 0; k < n; k++) {
      const w = sum !== 0.0 ? realWeights[k] / sum : realWeights[k];
      normalized[base + k] = w;
      weights[base + k] = w < 0
        ? Math.trunc(-0.5 + w * FIXED_ONE)
        : Math.trunc(0.5 + w * FIXED_ONE);
    }
    starts[i] = start;
    counts[i] = n;
  }
  return { taps, starts, counts, weights, normalized };
}

/** Byte buffer reused for the horizontal pass's output, when it is not too large to keep. */
let intermediateScratch = new Uint8Array(0);
/** Scratch buffers larger than this many bytes are allocated per call and not kept. */
const SCRATCH_RETAIN_LIMIT = 1 << 24;

/** A byte buffer of at least `length` bytes, reusing the kept scratch where possible. */
function intermediateBuffer(length: number): Uint8Array {
  if (length <= intermediateScratch.length) return intermediateScratch;
  const buffer = new Uint8Array(length);
  if (length <= SCRATCH_RETAIN_LIMIT) intermediateScratch = buffer;
  return buffer;
}

/** Which implementation runs the hot 8-bit passes (see {@linkcode setResampleKernels}). */
export type ResampleKernels = "simd" | "typescript";

/** The SIMD kernels in use; `undefined` for the TypeScript passes, `null` until chosen. */
let simdKernels: ResampleSimd | undefined | null = null;
/** The instance of the built-in module, once loaded (`undefined`: no WebAssembly SIMD). */
let builtinSimd: ResampleSimd | undefined | null = null;

/** The built-in kernels, instantiated on first call (`undefined` without WebAssembly SIMD). */
function builtinKernels(): ResampleSimd | undefined {
  if (builtinSimd === null) builtinSimd = ResampleSimd.load();
  return builtinSimd;
}

/** The kernels the 8-bit passes use: chosen automatically on the first resize. */
function activeKernels(): ResampleSimd | undefined {
  if (simdKernels === null) simdKernels = builtinKernels();
  return simdKernels;
}

/**
 * Chooses the implementation of the hot 8-bit passes for this module instance (each worker
 * has its own). Both give the same bytes; by default the choice is `"auto"`, made on the
 * first resize: the WebAssembly SIMD kernels where the runtime validates their module, else
 * the TypeScript passes.
 *
 * @param choice `"simd"`, `"typescript"`, or `"auto"` to choose as by default.
 * @param module For tests: a WebAssembly module to try instead of the built-in kernels (with
 *   `"auto"` or `"simd"`), e.g. one the runtime rejects, to exercise the fallback.
 * @returns The implementation now in use.
 * @throws {Error} For `"simd"` when the runtime has no WebAssembly SIMD (the module does not
 *   validate).
 */
export function setResampleKernels(
  choice: ResampleKernels | "auto",
  module?: Uint8Array<ArrayBuffer>,
): ResampleKernels {
  if (choice !== "auto" && choice !== "simd" && choice !== "typescript") {
    throw new RangeError(`resample kernels must be "auto", "simd" or "typescript", got ${choice}`);
  }
  const simd = choice === "typescript"
    ? undefined
    : module === undefined
    ? builtinKernels()
    : ResampleSimd.load(module);
  if (choice === "simd" && simd === undefined) {
    throw new Error(
      "the WebAssembly SIMD resampling kernels are not available: the runtime does not validate their module",
    );
  }
  simdKernels = simd;
  return resampleKernels();
}

/**
 * The implementation of the hot 8-bit passes in use (choosing it now if no resize has yet).
 *
 * @returns `"simd"` or `"typescript"`.
 */
export function resampleKernels(): ResampleKernels {
  return activeKernels() === undefined ? "typescript" : "simd";
}

/** The pass's weights packed for the SIMD horizontal RGB kernel, cached (`null`: not packable). */
function simdHorizontalPass(coefficients: PassCoefficients): PackedPass | null {
  if (coefficients.simdHorizontal === undefined) {
    coefficients.simdHorizontal = packHorizontalRgb(coefficients) ?? null;
  }
  return coefficients.simdHorizontal;
}

/** The pass's weights packed for the SIMD vertical kernel, cached (`null`: not packable). */
function simdVerticalPass(coefficients: PassCoefficients): PackedPass | null {
  if (coefficients.simdVertical === undefined) {
    coefficients.simdVertical = packVertical(coefficients) ?? null;
  }
  return coefficients.simdVertical;
}

/**
 * The 8-bit convolution of {@linkcode resizeConvolution} with the SIMD kernels: source rows
 * `firstRow .. endRow` are copied into the kernels' memory, the horizontal pass (the SIMD one
 * for RGB, else the TypeScript one writing there) and the vertical pass run there, and the
 * window's bytes are copied to `output`.
 *
 * @returns `false` (nothing done) when the kernels do not apply: a horizontal pass alone over
 *   bands other than RGB, weights that do not pack, or memory that cannot hold the work.
 */
function resampleBytesSimd(
  simd: ResampleSimd,
  image: SampleImage & { readonly data: Uint8Array },
  window: ResizeWindow,
  firstRow: number,
  endRow: number,
  horizontal: PassCoefficients | undefined,
  vertical: PassCoefficients | undefined,
  output: Uint8Array,
): boolean {
  const bands = image.bands;
  if (vertical === undefined && bands !== CHANNELS) return false;
  const horizontalPass = horizontal !== undefined && bands === CHANNELS
    ? simdHorizontalPass(horizontal)
    : undefined;
  const verticalPass = vertical !== undefined ? simdVerticalPass(vertical) : undefined;
  if (horizontalPass === null || verticalPass === null) return false;

  const stride = image.width * bands;
  const rows = endRow - firstRow;
  const rowBytes = window.width * bands;
  const twoPasses = horizontal !== undefined && vertical !== undefined;
  const regions = simd.layout([
    rows * stride + stride + SOURCE_PADDING,
    horizontalPass === undefined ? 0 : horizontalPass.records.length * 4,
    verticalPass === undefined ? 0 : verticalPass.records.length * 4,
    twoPasses ? rows * rowBytes + rowBytes + SOURCE_PADDING : 0,
    output.length + DESTINATION_PADDING,
  ]);
  if (regions === undefined) return false;
  const [source, horizontalWeights, verticalWeights, intermediate, target] = regions;
  try {
    simd.bytes.set(image.data.subarray(firstRow * stride, endRow * stride), source);
    let verticalSource = source;
    let verticalStride = stride;
    let columnOffset = window.left * bands;
    if (horizontal !== undefined) {
      const destination = twoPasses ? intermediate : target;
      if (horizontalPass !== undefined) {
        simd.horizontalRgb(source, stride, rows, horizontalPass, horizontalWeights, destination);
      } else {
        resampleHorizontalBands(
          simd.bytes.subarray(source),
          image.width,
          bands,
          0,
          rows,
          horizontal,
          simd.bytes.subarray(destination),
        );
      }
      verticalSource = intermediate;
      verticalStride = rowBytes;
      columnOffset = 0;
    }
    if (verticalPass !== undefined) {
      simd.vertical(
        verticalSource,
        verticalStride,
        firstRow,
        columnOffset,
        rowBytes,
        verticalPass,
        verticalWeights,
        target,
      );
    }
    output.set(simd.bytes.subarray(target, target + output.length));
  } finally {
    simd.release();
  }
  return true;
}

/** Fixed-point accumulator to byte: arithmetic shift, then clamp to 0..255 (Pillow's `clip8`). */
function clipToByte(accumulator: number): number {
  const value = accumulator >> PRECISION_BITS;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/** A double sum to a 32-bit sample, Pillow's `ROUND_UP`: half away from zero, then truncated. */
function roundToInt32(sum: number): number {
  return Math.trunc(sum >= 0.0 ? sum + 0.5 : sum - 0.5);
}

/**
 * Horizontal pass over RGB bytes: for `rows` source rows starting at `firstRow`, writes one
 * output row of `coefficients.counts.length` pixels each into `target` (packed, no padding).
 *
 * Sums are kept as 32-bit integers (`| 0`), as Pillow's C `int` accumulators are; the exact
 * sums always fit, and the hint keeps V8 on integer arithmetic.
 */
function resampleHorizontal(
  source: Uint8Array,
  sourceWidth: number,
  firstRow: number,
  rows: number,
  coefficients: PassCoefficients,
  target: Uint8Array,
): void {
  const { taps, starts, counts, weights } = coefficients;
  const outWidth = counts.length;
  const sourceStride = sourceWidth * CHANNELS;
  let o = 0;
  for (let row = 0; row < rows; row++) {
    const rowBase = (firstRow + row) * sourceStride;
    for (let x = 0; x < outWidth; x++) {
      let w = x * taps;
      const end = w + counts[x];
      let p = (rowBase + starts[x] * CHANNELS) | 0;
      let r = FIXED_HALF;
      let g = FIXED_HALF;
      let b = FIXED_HALF;
      for (; w < end; w++) {
        const weight = weights[w];
        r = (r + source[p] * weight) | 0;
        g = (g + source[p + 1] * weight) | 0;
        b = (b + source[p + 2] * weight) | 0;
        p = (p + CHANNELS) | 0;
      }
      target[o++] = clipToByte(r);
      target[o++] = clipToByte(g);
      target[o++] = clipToByte(b);
    }
  }
}

/**
 * Horizontal pass over bytes of any band count, one band at a time: the arithmetic of
 * {@linkcode resampleHorizontal}, used for the modes other than RGB.
 */
function resampleHorizontalBands(
  source: Uint8Array,
  sourceWidth: number,
  bands: number,
  firstRow: number,
  rows: number,
  coefficients: PassCoefficients,
  target: Uint8Array,
): void {
  const { taps, starts, counts, weights } = coefficients;
  const outWidth = counts.length;
  const sourceStride = sourceWidth * bands;
  let o = 0;
  for (let row = 0; row < rows; row++) {
    const rowBase = (firstRow + row) * sourceStride;
    for (let x = 0; x < outWidth; x++) {
      const first = x * taps;
      const end = first + counts[x];
      const pixel = rowBase + starts[x] * bands;
      for (let band = 0; band < bands; band++) {
        let sum = FIXED_HALF;
        let p = pixel + band;
        for (let w = first; w < end; w++) {
          sum = (sum + source[p] * weights[w]) | 0;
          p += bands;
        }
        target[o++] = clipToByte(sum);
      }
    }
  }
}

/**
 * Vertical pass: output row `i` combines `counts[i]` rows of `source` from row
 * `starts[i] - rowOffset` (rows are `sourceStride` bytes; the columns of interest start at byte
 * `columnOffset`), writing `rowBytes` bytes per row into `target`. Four bytes of a row are
 * accumulated at a time, in 32-bit integers as in {@linkcode resampleHorizontal}.
 */
function resampleVertical(
  source: Uint8Array,
  sourceStride: number,
  rowOffset: number,
  columnOffset: number,
  rowBytes: number,
  coefficients: PassCoefficients,
  target: Uint8Array,
): void {
  const { taps, starts, counts, weights } = coefficients;
  const outHeight = counts.length;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const n = counts[y];
    const weightBase = y * taps;
    const rowStart = (starts[y] - rowOffset) * sourceStride + columnOffset;
    let i = 0;
    for (; i + 4 <= rowBytes; i += 4) {
      let a0 = FIXED_HALF;
      let a1 = FIXED_HALF;
      let a2 = FIXED_HALF;
      let a3 = FIXED_HALF;
      let p = rowStart + i;
      for (let k = 0; k < n; k++) {
        const weight = weights[weightBase + k];
        a0 = (a0 + source[p] * weight) | 0;
        a1 = (a1 + source[p + 1] * weight) | 0;
        a2 = (a2 + source[p + 2] * weight) | 0;
        a3 = (a3 + source[p + 3] * weight) | 0;
        p += sourceStride;
      }
      target[o++] = clipToByte(a0);
      target[o++] = clipToByte(a1);
      target[o++] = clipToByte(a2);
      target[o++] = clipToByte(a3);
    }
    for (; i < rowBytes; i++) {
      let a = FIXED_HALF;
      let p = rowStart + i;
      for (let k = 0; k < n; k++) {
        a = (a + source[p] * weights[weightBase + k]) | 0;
        p += sourceStride;
      }
      target[o++] = clipToByte(a);
    }
  }
}

/**
 * Horizontal pass over 32-bit integers (Pillow's `ImagingResampleHorizontal_32bpc`): the
 * double sum of sample × normalised weight, in order, rounded by {@linkcode roundToInt32}.
 */
function resampleHorizontalInt32(
  source: Int32Array,
  sourceWidth: number,
  firstRow: number,
  rows: number,
  coefficients: PassCoefficients,
  target: Int32Array,
): void {
  const { taps, starts, counts, normalized } = coefficients;
  const outWidth = counts.length;
  let o = 0;
  for (let row = 0; row < rows; row++) {
    const rowBase = (firstRow + row) * sourceWidth;
    for (let x = 0; x < outWidth; x++) {
      const first = x * taps;
      const end = first + counts[x];
      let p = rowBase + starts[x];
      let sum = 0.0;
      for (let w = first; w < end; w++) sum += source[p++] * normalized[w];
      target[o++] = roundToInt32(sum);
    }
  }
}

/**
 * Vertical pass over 32-bit integers (Pillow's `ImagingResampleVertical_32bpc`), with the
 * row and column offsets of {@linkcode resampleVertical} (in samples).
 */
function resampleVerticalInt32(
  source: Int32Array,
  sourceStride: number,
  rowOffset: number,
  columnOffset: number,
  rowLength: number,
  coefficients: PassCoefficients,
  target: Int32Array,
): void {
  const { taps, starts, counts, normalized } = coefficients;
  const outHeight = counts.length;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const n = counts[y];
    const weightBase = y * taps;
    const rowStart = (starts[y] - rowOffset) * sourceStride + columnOffset;
    for (let i = 0; i < rowLength; i++) {
      let sum = 0.0;
      let p = rowStart + i;
      for (let k = 0; k < n; k++) {
        sum += source[p] * normalized[weightBase + k];
        p += sourceStride;
      }
      target[o++] = roundToInt32(sum);
    }
  }
}

/**
 * Source indices of Pillow's nearest-neighbour scaling for output positions
 * `first .. first + count - 1` (-1 where the walk falls outside the source: Pillow fills 0).
 */
function nearestIndices(inSize: number, outSize: number, first: number, count: number): Int32Array {
  const indices = new Int32Array(count);
  const step = inSize / outSize;
  let position = step * 0.5;
  for (let i = 0; i < first; i++) position += step;
  for (let i = 0; i < count; i++) {
    const index = position < 0.0 ? -1 : Math.trunc(position);
    indices[i] = index < inSize ? index : -1;
    position += step;
  }
  return indices;
}

/** An empty sample array of the same type as `like`. */
function samplesLike(like: Uint8Array | Int32Array, length: number): Uint8Array | Int32Array {
  return like instanceof Int32Array ? new Int32Array(length) : new Uint8Array(length);
}

/** Nearest-neighbour resize of the window, as Pillow's `ImagingScaleAffine`. */
function resizeNearest(
  image: SampleImage,
  width: number,
  height: number,
  window: ResizeWindow,
): Uint8Array | Int32Array {
  const bands = image.bands;
  const columns = nearestIndices(image.width, width, window.left, window.width);
  const rows = nearestIndices(image.height, height, window.top, window.height);
  const output = samplesLike(image.data, window.width * window.height * bands);
  const source = image.data;
  const sourceStride = image.width * bands;
  let o = 0;
  for (let y = 0; y < window.height; y++) {
    const row = rows[y];
    if (row < 0) {
      o += window.width * bands;
      continue;
    }
    const rowBase = row * sourceStride;
    for (let x = 0; x < window.width; x++) {
      const column = columns[x];
      if (column >= 0) {
        const p = rowBase + column * bands;
        for (let band = 0; band < bands; band++) output[o + band] = source[p + band];
      }
      o += bands;
    }
  }
  return output;
}

/** Copies the window out of an image of the same size (Pillow returns a copy for equal sizes). */
function copyWindow(image: SampleImage, window: ResizeWindow): Uint8Array | Int32Array {
  const rowLength = window.width * image.bands;
  const output = samplesLike(image.data, rowLength * window.height);
  const stride = image.width * image.bands;
  for (let y = 0; y < window.height; y++) {
    const start = (window.top + y) * stride + window.left * image.bands;
    output.set(image.data.subarray(start, start + rowLength), y * rowLength);
  }
  return output;
}

/** Two-pass convolution resize of the window. */
function resizeConvolution(
  image: SampleImage,
  width: number,
  height: number,
  filterNumber: number,
  filter: ConvolutionFilter,
  window: ResizeWindow,
): Uint8Array | Int32Array {
  const bands = image.bands;
  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  const output = samplesLike(image.data, window.width * window.height * bands);
  const vertical = needVertical
    ? passCoefficients(image.height, height, filter, filterNumber, window.top, window.height)
    : undefined;
  // Source rows the vertical pass reads (or the window's rows when there is none).
  let firstRow = window.top;
  let endRow = window.top + window.height;
  if (vertical !== undefined) {
    const last = vertical.counts.length - 1;
    firstRow = vertical.starts[0];
    endRow = vertical.starts[last] + vertical.counts[last];
  }

  const horizontal = needHorizontal
    ? passCoefficients(image.width, width, filter, filterNumber, window.left, window.width)
    : undefined;
  if (image.data instanceof Uint8Array) {
    const simd = activeKernels();
    if (
      simd !== undefined &&
      resampleBytesSimd(
        simd,
        image as SampleImage & { readonly data: Uint8Array },
        window,
        firstRow,
        endRow,
        horizontal,
        vertical,
        output as Uint8Array,
      )
    ) {
      return output;
    }
  }

  let source = image.data;
  let sourceStride = image.width * bands;
  let rowOffset = 0;
  let columnOffset = window.left * bands;
  if (horizontal !== undefined) {
    const rows = endRow - firstRow;
    const length = rows * window.width * bands;
    if (image.data instanceof Int32Array) {
      const target = needVertical ? new Int32Array(length) : output as Int32Array;
      resampleHorizontalInt32(image.data, image.width, firstRow, rows, horizontal, target);
      source = target;
    } else {
      const target = needVertical ? intermediateBuffer(length) : output as Uint8Array;
      if (bands === CHANNELS) {
        resampleHorizontal(image.data, image.width, firstRow, rows, horizontal, target);
      } else {
        resampleHorizontalBands(image.data, image.width, bands, firstRow, rows, horizontal, target);
      }
      source = target;
    }
    if (!needVertical) return output;
    sourceStride = window.width * bands;
    rowOffset = firstRow;
    columnOffset = 0;
  }
  if (vertical === undefined) {
    throw new Error("unreachable: equal sizes are copied before convolution");
  }
  const rowLength = window.width * bands;
  if (source instanceof Int32Array) {
    resampleVerticalInt32(
      source,
      sourceStride,
      rowOffset,
      columnOffset,
      rowLength,
      vertical,
      output as Int32Array,
    );
  } else {
    resampleVertical(
      source,
      sourceStride,
      rowOffset,
      columnOffset,
      rowLength,
      vertical,
      output as Uint8Array,
    );
  }
  return output;
}

/** Throws a RangeError unless `value` is an integer in `min..max`. */
function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** Largest accepted output dimension (Pillow's sizes are C ints). */
const MAX_DIMENSION = 0x7fffffff;

/** Checks the arguments shared by both entry points and resamples; returns the window's samples. */
function resampleChecked(
  image: SampleImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  window: ResizeWindow | undefined,
): { region: ResizeWindow; data: Uint8Array | Int32Array } {
  checkInteger("width", width, 1, MAX_DIMENSION);
  checkInteger("height", height, 1, MAX_DIMENSION);
  checkInteger("filter", filter, 0, CONVOLUTION_FILTERS.length - 1);
  const region = window ?? { left: 0, top: 0, width, height };
  checkInteger("window.left", region.left, 0, width - 1);
  checkInteger("window.top", region.top, 0, height - 1);
  checkInteger("window.width", region.width, 1, width - region.left);
  checkInteger("window.height", region.height, 1, height - region.top);

  let data: Uint8Array | Int32Array;
  const convolution = CONVOLUTION_FILTERS[filter];
  if (width === image.width && height === image.height) {
    data = copyWindow(image, region);
  } else if (convolution === undefined) {
    data = resizeNearest(image, width, height, region);
  } else {
    data = resizeConvolution(image, width, height, filter, convolution, region);
  }
  return { region, data };
}

/**
 * Resizes an RGB image exactly as Pillow 9.4's `image.resize((width, height), filter)` does.
 *
 * @param image The source image.
 * @param width Output width in pixels (≥ 1).
 * @param height Output height in pixels (≥ 1).
 * @param filter Pillow filter number (see {@linkcode ResampleFilter}).
 * @param window If given, only this rectangle of the resized image is computed and returned;
 *   the result equals cropping the full result to it.
 * @returns A new image of the window's size (or `width` × `height`).
 * @throws {RangeError} When a size, the filter, the window or the image's data length is invalid.
 */
export function resize(
  image: RgbImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  window?: ResizeWindow,
): RgbImage {
  checkInteger("source width", image.width, 1, MAX_DIMENSION);
  checkInteger("source height", image.height, 1, MAX_DIMENSION);
  if (image.data.length !== image.width * image.height * CHANNELS) {
    throw new RangeError(
      `source data length must be width * height * 3 = ${
        image.width * image.height * CHANNELS
      }, got ${image.data.length}`,
    );
  }
  const samples = { width: image.width, height: image.height, bands: CHANNELS, data: image.data };
  const { region, data } = resampleChecked(samples, width, height, filter, window);
  return { width: region.width, height: region.height, data: data as Uint8Array };
}

/**
 * Resamples an image of 1 to 4 byte bands, or of one 32-bit integer band, exactly as Pillow
 * 9.4's `ImagingResample` (or, for NEAREST, its affine scaling) does for a mode of that layout
 * ("L", "LA", "RGB", "RGBA", "CMYK", …; "I"). Mode rules that `Image.resize` adds on top — the
 * NEAREST filter for "1" and "P", premultiplied alpha for "LA" and "RGBA" — are not applied
 * here (see `resizeNative`).
 *
 * @param image The source samples.
 * @param width Output width in pixels (≥ 1).
 * @param height Output height in pixels (≥ 1).
 * @param filter Pillow filter number (see {@linkcode ResampleFilter}).
 * @param window If given, only this rectangle of the resized image is computed and returned;
 *   the result equals cropping the full result to it.
 * @returns New samples of the window's size (or `width` × `height`), of the source's type.
 * @throws {RangeError} When a size, the band count, the filter, the window or the data length
 *   is invalid.
 */
export function resizeSamples(
  image: SampleImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  window?: ResizeWindow,
): SampleImage {
  checkInteger("source width", image.width, 1, MAX_DIMENSION);
  checkInteger("source height", image.height, 1, MAX_DIMENSION);
  checkInteger("bands", image.bands, 1, image.data instanceof Int32Array ? 1 : 4);
  const expected = image.width * image.height * image.bands;
  if (image.data.length !== expected) {
    throw new RangeError(
      `source data length must be width * height * bands = ${expected}, got ${image.data.length}`,
    );
  }
  const { region, data } = resampleChecked(image, width, height, filter, window);
  return { width: region.width, height: region.height, bands: image.bands, data };
}
