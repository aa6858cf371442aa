/**
 * The WebAssembly SIMD resampling kernels (src/image/resample_simd/kernels.ts) against the
 * TypeScript passes of src/image/resize.ts: identical bytes on seeded random sizes, scales,
 * windows, filters and band counts; the weight packing; that resize really runs the kernels of
 * the module in use; and the fallback to the TypeScript passes where a module does not validate.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MAX_MEMORY_BYTES,
  packHorizontalRgb,
  packVertical,
  type PassWeights,
  ResampleSimd,
  resampleWasmBytes,
  RETAINED_MEMORY_BYTES,
} from "../../../src/image/resample_simd/kernels.ts";
import {
  ResampleFilter,
  resampleKernels,
  resize,
  resizeSamples,
  type ResizeWindow,
  type SampleImage,
  setResampleKernels,
} from "../../../src/image/resize.ts";
import { assembleWat } from "../../../tools/build_resample_wasm.ts";
import { SeededRandom } from "../../../tools/seeded_random.ts";

/** The convolution filters (NEAREST does not use the passes). */
const CONVOLUTIONS = [
  ResampleFilter.LANCZOS,
  ResampleFilter.BILINEAR,
  ResampleFilter.BICUBIC,
  ResampleFilter.BOX,
  ResampleFilter.HAMMING,
] as const;

/** A uniform integer in `min..max`. */
function integer(random: SeededRandom, min: number, max: number): number {
  return min + Math.floor(random.next() * (max - min + 1));
}

/** Random bytes with runs of 0 and 255 (so overshoot is clipped) among uniform values. */
function randomBytes(random: SeededRandom, length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const u = random.next();
    data[i] = u < 0.1 ? 0 : u < 0.2 ? 255 : Math.floor(random.next() * 256);
  }
  return data;
}

/** A random window of a `width` × `height` result (the whole of it one time in five). */
function randomWindow(random: SeededRandom, width: number, height: number): ResizeWindow {
  if (random.next() < 0.2) return { left: 0, top: 0, width, height };
  const left = integer(random, 0, width - 1);
  const top = integer(random, 0, height - 1);
  return {
    left,
    top,
    width: integer(random, 1, width - left),
    height: integer(random, 1, height - top),
  };
}

/** A random output size for an input size: downscales (to 1/20), upscales (to 4×) and equal. */
function randomTarget(random: SeededRandom, size: number): number {
  const u = random.next();
  if (u < 0.15) return size;
  if (u < 0.5) return integer(random, 1, Math.max(1, size));
  if (u < 0.6) return Math.max(1, Math.round(size / integer(random, 5, 20)));
  return integer(random, size, size * 4 + 3);
}

/** Resizes with each implementation; returns [typescript, simd] results. */
function bothWays(
  image: SampleImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  window: ResizeWindow,
): [SampleImage, SampleImage] {
  setResampleKernels("typescript");
  const expected = resizeSamples(image, width, height, filter, window);
  setResampleKernels("simd");
  const actual = resizeSamples(image, width, height, filter, window);
  return [expected, actual];
}

Deno.test("SIMD kernels give the TypeScript passes' bytes on random sizes, scales, windows and filters", () => {
  const random = new SeededRandom(0x5eed_2024);
  const mismatches: string[] = [];
  try {
    for (let n = 0; n < 600; n++) {
      const bands = n % 2 === 0 ? 3 : integer(random, 1, 4);
      const sourceWidth = integer(random, 1, n % 10 === 0 ? 400 : 90);
      const sourceHeight = integer(random, 1, n % 10 === 5 ? 400 : 90);
      const image: SampleImage = {
        width: sourceWidth,
        height: sourceHeight,
        bands,
        data: randomBytes(random, sourceWidth * sourceHeight * bands),
      };
      const width = randomTarget(random, sourceWidth);
      const height = randomTarget(random, sourceHeight);
      const filter = CONVOLUTIONS[n % CONVOLUTIONS.length];
      const window = randomWindow(random, width, height);
      const [expected, actual] = bothWays(image, width, height, filter, window);
      if (!sameBytes(expected.data, actual.data)) {
        mismatches.push(
          `${sourceWidth}x${sourceHeight}x${bands} -> ${width}x${height} filter ${filter} ` +
            JSON.stringify(window),
        );
      }
    }
  } finally {
    setResampleKernels("auto");
  }
  assert.deepEqual(mismatches, []);
});

Deno.test("SIMD kernels match on extreme scales, many taps and the preprocessing shape", () => {
  const random = new SeededRandom(77);
  const cases: [number, number, number, number, ResampleFilter][] = [
    [640, 480, 298, 224, ResampleFilter.BICUBIC],
    [1500, 7, 2, 3, ResampleFilter.LANCZOS],
    [3, 1100, 5, 1, ResampleFilter.HAMMING],
    [1, 1, 301, 97, ResampleFilter.BICUBIC],
    [2, 2, 1, 1, ResampleFilter.BOX],
    [17, 900, 17, 13, ResampleFilter.LANCZOS],
    [900, 17, 5, 17, ResampleFilter.BILINEAR],
  ];
  try {
    for (const [sourceWidth, sourceHeight, width, height, filter] of cases) {
      for (const bands of [1, 2, 3, 4]) {
        const image: SampleImage = {
          width: sourceWidth,
          height: sourceHeight,
          bands,
          data: randomBytes(random, sourceWidth * sourceHeight * bands),
        };
        const whole = { left: 0, top: 0, width, height };
        for (const window of [whole, randomWindow(random, width, height)]) {
          const [expected, actual] = bothWays(image, width, height, filter, window);
          assert.ok(
            sameBytes(expected.data, actual.data),
            `${sourceWidth}x${sourceHeight}x${bands} -> ${width}x${height} filter ${filter} ` +
              JSON.stringify(window),
          );
        }
      }
    }
  } finally {
    setResampleKernels("auto");
  }
});

Deno.test("packed weights split into 16-bit halves that add back to the weights", () => {
  const weights = new Int32Array([
    ...[4194304, -1, 0, 32767, 32768, -32768, -32769, 2097152, -4194304],
    ...[123456, -654321, 1, 0, 0, 0, 0, 0, 0],
  ]);
  const pass: PassWeights = {
    taps: 9,
    starts: new Int32Array([5, 0]),
    counts: new Int32Array([9, 2]),
    weights,
  };
  const lane = (pair: number, second: boolean) => second ? pair >> 16 : (pair << 16) >> 16;

  const horizontal = packHorizontalRgb(pass)!;
  assert.equal(horizontal.recordInts, 2 + 4 * 3);
  assert.deepEqual([horizontal.records[0], horizontal.records[1]], [15, 3]);
  assert.equal(horizontal.records[horizontal.recordInts + 1], 1);
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 12; k++) {
      const at = i * horizontal.recordInts + 2 + Math.floor(k / 4) * 4 + (k % 4 < 2 ? 0 : 2);
      const second = k % 2 === 1;
      const hi = lane(horizontal.records[at], second);
      const lo = lane(horizontal.records[at + 1], second);
      assert.ok(lo >= 0 && lo < 32768);
      const expected = k < pass.counts[i] ? weights[i * 9 + k] : 0;
      if (i === 1 && k >= 4) continue; // past the pixel's groups: not read
      assert.equal(hi * 32768 + lo, expected, `pixel ${i} tap ${k}`);
    }
  }

  const vertical = packVertical(pass)!;
  assert.equal(vertical.recordInts, 2 + 2 * 5);
  assert.deepEqual([vertical.records[1], vertical.records[vertical.recordInts + 1]], [5, 1]);
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 2 * vertical.records[i * vertical.recordInts + 1]; k++) {
      const at = i * vertical.recordInts + 2 + 2 * Math.floor(k / 2);
      const hi = lane(vertical.records[at], k % 2 === 1);
      const lo = lane(vertical.records[at + 1], k % 2 === 1);
      const expected = k < pass.counts[i] ? weights[i * 9 + k] : 0;
      assert.equal(hi * 32768 + lo, expected, `row ${i} tap ${k}`);
    }
  }

  const huge = { ...pass, weights: new Int32Array(18).fill(0x40000000) };
  assert.equal(packHorizontalRgb(huge), undefined);
  assert.equal(packVertical(huge), undefined);
});

Deno.test("a job beyond the retained memory gets a memory of its own, dropped after it", () => {
  const simd = ResampleSimd.load()!;
  assert.deepEqual(simd.layout([1000, 1, 17, 0, 5]), [0, 1008, 1024, 1056, 1056]);
  const retained = simd.bytes.buffer;
  simd.bytes[5] = 42;
  assert.deepEqual(simd.layout([RETAINED_MEMORY_BYTES, 16]), [0, RETAINED_MEMORY_BYTES]);
  assert.ok(simd.bytes.length >= RETAINED_MEMORY_BYTES + 16);
  assert.notEqual(simd.bytes.buffer, retained);
  simd.release();
  assert.equal(simd.bytes.buffer, retained);
  assert.equal(simd.bytes[5], 42);
  assert.ok(simd.bytes.length < RETAINED_MEMORY_BYTES);
  assert.equal(simd.layout([MAX_MEMORY_BYTES, 1]), undefined);
  assert.equal(simd.bytes.buffer, retained);
});

Deno.test("SIMD kernels match on an image beyond the retained memory", () => {
  const random = new SeededRandom(5);
  const image = { width: 9000, height: 2500, data: randomBytes(random, 9000 * 2500 * 3) };
  assert.ok(image.data.length > RETAINED_MEMORY_BYTES);
  const window = { left: 3, top: 2, width: 14, height: 15 };
  try {
    setResampleKernels("typescript");
    const expected = resize(image, 20, 19, ResampleFilter.BOX, window).data;
    setResampleKernels("simd");
    assert.deepEqual(resize(image, 20, 19, ResampleFilter.BOX, window).data, expected);
  } finally {
    setResampleKernels("auto");
  }
});

/** Kernels that write nothing: every result that goes through them stays zero. */
const NO_OP_KERNELS = `(module
  (memory (export "memory") 1)
  (func (export "horizontalRgb") (param i32 i32 i32 i32 i32 i32 i32))
  (func (export "vertical") (param i32 i32 i32 i32 i32 i32 i32)))`;

Deno.test("resize runs the kernels of the module in use for the passes they cover", async () => {
  const noOp = await assembleWat(NO_OP_KERNELS, "no_op.wat");
  const random = new SeededRandom(9);
  // [bands, target width, target height, whether the kernels run]
  const cases: [number, number, number, boolean][] = [
    [3, 20, 15, true], // both passes
    [3, 20, 40, true], // horizontal RGB only
    [3, 37, 15, true], // vertical only
    [1, 20, 15, true], // TypeScript horizontal pass into the kernels' memory, SIMD vertical
    [4, 37, 15, true], // vertical only, 4 bands
    [2, 20, 40, false], // horizontal only, not RGB: the TypeScript pass
  ];
  try {
    for (const [bands, width, height, runs] of cases) {
      const image: SampleImage = {
        width: 37,
        height: 40,
        bands,
        data: randomBytes(random, 37 * 40 * bands).map((v) => v | 1),
      };
      setResampleKernels("typescript");
      const expected = resizeSamples(image, width, height, ResampleFilter.BILINEAR).data;
      assert.ok(expected.some((v) => v !== 0));
      assert.equal(setResampleKernels("simd", noOp), "simd");
      const actual = resizeSamples(image, width, height, ResampleFilter.BILINEAR).data;
      const label = `${bands} bands -> ${width}x${height}`;
      if (runs) assert.ok(actual.every((v) => v === 0), label);
      else assert.deepEqual(actual, expected, label);
    }
  } finally {
    setResampleKernels("auto");
  }
});

Deno.test("the TypeScript passes are used where the kernels' module does not validate", async () => {
  const noOp = await assembleWat(NO_OP_KERNELS, "no_op.wat");
  const invalid = resampleWasmBytes().slice(0, -1);
  assert.equal(WebAssembly.validate(invalid), false);
  assert.equal(ResampleSimd.load(invalid), undefined);
  const random = new SeededRandom(11);
  const image = { width: 31, height: 23, data: randomBytes(random, 31 * 23 * 3) };
  try {
    setResampleKernels("typescript");
    const expected = resize(image, 12, 9, ResampleFilter.BICUBIC).data;
    // The no-op kernels would give zeros; an invalid module leaves "auto" on TypeScript.
    setResampleKernels("simd", noOp);
    assert.ok(resize(image, 12, 9, ResampleFilter.BICUBIC).data.every((v) => v === 0));
    assert.equal(setResampleKernels("auto", invalid), "typescript");
    assert.equal(resampleKernels(), "typescript");
    assert.deepEqual(resize(image, 12, 9, ResampleFilter.BICUBIC).data, expected);
    assert.throws(() => setResampleKernels("simd", invalid), /SIMD .* not available/);
    assert.equal(setResampleKernels("auto"), "simd", "this runtime has WebAssembly SIMD");
    assert.deepEqual(resize(image, 12, 9, ResampleFilter.BICUBIC).data, expected);
    assert.throws(() => setResampleKernels("fast" as "auto"), /got fast/);
  } finally {
    setResampleKernels("auto");
  }
});

/** Whether two sample arrays hold the same values. */
function sameBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
