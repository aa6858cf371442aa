/**
 * Tests of src/image/resize.ts against Pillow 9.4 (tests/data/resize/, made by
 * tools/vectors/make_resize_vectors.py), windowed-versus-full equality, hand-computed cases and
 * argument validation.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { ResampleFilter, resize, type ResizeWindow } from "../../src/image/resize.ts";
import type { RgbImage } from "../../src/image/rgb_image.ts";
import { syntheticImage } from "../_synthetic_image.ts";

/** One Pillow reference case from cases.json. */
interface ResizeCase {
  input: { width: number; height: number; seed: number };
  width: number;
  height: number;
  filter: ResampleFilter;
  window?: ResizeWindow;
  offset: number;
  length: number;
}

const dataDir = new URL("../data/resize/", import.meta.url);
const manifest = JSON.parse(Deno.readTextFileSync(new URL("cases.json", dataDir))) as {
  pillow: string;
  cases: ResizeCase[];
};
const expectedBytes = new Uint8Array(
  gunzipSync(Deno.readFileSync(new URL("outputs.bin.gz", dataDir))),
);

const filterNames = Object.fromEntries(
  Object.entries(ResampleFilter).map(([name, value]) => [value, name]),
) as Record<number, string>;

/** Synthetic inputs by "width×height#seed", built once. */
const inputs = new Map<string, RgbImage>();
function inputFor(spec: ResizeCase["input"]): RgbImage {
  const key = `${spec.width}x${spec.height}#${spec.seed}`;
  let image = inputs.get(key);
  if (image === undefined) {
    image = syntheticImage(spec.width, spec.height, spec.seed);
    inputs.set(key, image);
  }
  return image;
}

function describe(c: ResizeCase): string {
  const window = c.window === undefined
    ? ""
    : ` window ${c.window.left},${c.window.top} ${c.window.width}x${c.window.height}`;
  return `${c.input.width}x${c.input.height} -> ${c.width}x${c.height} ${
    filterNames[c.filter]
  }${window}`;
}

Deno.test("resize matches Pillow 9.4 byte for byte on every reference case", () => {
  assert.ok(manifest.cases.length >= 100, "the reference set is complete");
  const mismatches: string[] = [];
  let comparedBytes = 0;
  for (const c of manifest.cases) {
    const result = resize(inputFor(c.input), c.width, c.height, c.filter, c.window);
    const expected = expectedBytes.subarray(c.offset, c.offset + c.length);
    assert.equal(result.width, c.window?.width ?? c.width, describe(c));
    assert.equal(result.height, c.window?.height ?? c.height, describe(c));
    assert.equal(result.data.length, expected.length, describe(c));
    let differing = 0;
    let maxDifference = 0;
    for (let i = 0; i < expected.length; i++) {
      const difference = Math.abs(result.data[i] - expected[i]);
      if (difference !== 0) {
        differing++;
        if (difference > maxDifference) maxDifference = difference;
      }
    }
    comparedBytes += expected.length;
    if (differing > 0) {
      mismatches.push(`${describe(c)}: ${differing} bytes differ, by up to ${maxDifference}`);
    }
  }
  assert.equal(comparedBytes, expectedBytes.length);
  assert.deepEqual(mismatches, []);
});

Deno.test("a window equals the same rectangle cropped from the full result", () => {
  const image = syntheticImage(53, 41, 101);
  const sizes: [number, number][] = [[117, 29], [20, 88], [53, 17], [31, 41], [166, 166]];
  for (const [width, height] of sizes) {
    for (const filter of Object.values(ResampleFilter)) {
      const full = resize(image, width, height, filter);
      const windows: ResizeWindow[] = [
        { left: 0, top: 0, width, height },
        { left: width - 1, top: height - 1, width: 1, height: 1 },
        { left: width >> 2, top: height >> 3, width: width >> 1, height: (height >> 1) + 1 },
        { left: 1, top: 0, width: width - 2 || 1, height },
      ];
      for (const window of windows) {
        const part = resize(image, width, height, filter, window);
        assert.equal(part.width, window.width);
        assert.equal(part.height, window.height);
        assert.deepEqual(
          part.data,
          crop(full, window).data,
          `${width}x${height} ${filterNames[filter]} ${JSON.stringify(window)}`,
        );
      }
    }
  }
});

Deno.test("hand-computed cases", () => {
  // Two pixels -> one with BILINEAR: each weighs 1/2, so (10 + 21) / 2 = 15.5 rounds up to 16.
  const pair: RgbImage = { width: 2, height: 1, data: new Uint8Array([10, 0, 255, 21, 1, 254]) };
  assert.deepEqual(resize(pair, 1, 1, ResampleFilter.BILINEAR).data, new Uint8Array([16, 1, 255]));
  // BOX 4 -> 2 averages pairs: (0 + 255) / 2 = 127.5 -> 128; (100 + 101) / 2 = 100.5 -> 101.
  const row: RgbImage = {
    width: 4,
    height: 1,
    data: new Uint8Array([0, 0, 0, 255, 255, 255, 100, 100, 100, 101, 101, 101]),
  };
  assert.deepEqual(
    resize(row, 2, 1, ResampleFilter.BOX).data,
    new Uint8Array([128, 128, 128, 101, 101, 101]),
  );
  // NEAREST 3 -> 2 samples source positions 0.75 and 2.25, i.e. pixels 0 and 2.
  const three: RgbImage = {
    width: 3,
    height: 1,
    data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]),
  };
  assert.deepEqual(
    resize(three, 2, 1, ResampleFilter.NEAREST).data,
    new Uint8Array([1, 2, 3, 7, 8, 9]),
  );
  // Bicubic overshoot at a 0/255 step is clipped: upscaling [0, 255] x2 gives values
  // outside 0..255 before clipping, and the ends stay at 0 and 255.
  const step: RgbImage = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 255, 255]) };
  const up = resize(step, 4, 1, ResampleFilter.BICUBIC).data;
  assert.equal(up[0], 0);
  assert.equal(up[9], 255);
  // The same size returns an equal copy, not the source buffer.
  const copy = resize(three, 3, 1, ResampleFilter.LANCZOS);
  assert.deepEqual(copy.data, three.data);
  assert.notEqual(copy.data, three.data);
});

Deno.test("invalid arguments are RangeErrors naming the value", () => {
  const image = syntheticImage(4, 3, 1);
  assert.throws(() => resize(image, 0, 3, ResampleFilter.BICUBIC), /width .* got 0/);
  assert.throws(() => resize(image, 4, 2.5, ResampleFilter.BICUBIC), /height .* got 2\.5/);
  assert.throws(() => resize(image, 4, 3, 6 as ResampleFilter), /filter .* got 6/);
  assert.throws(
    () => resize(image, 8, 6, ResampleFilter.BILINEAR, { left: 5, top: 0, width: 4, height: 1 }),
    /window\.width .* got 4/,
  );
  assert.throws(
    () => resize(image, 8, 6, ResampleFilter.BILINEAR, { left: -1, top: 0, width: 4, height: 1 }),
    /window\.left .* got -1/,
  );
  assert.throws(
    () => resize({ width: 4, height: 3, data: new Uint8Array(35) }, 2, 2, ResampleFilter.BOX),
    /data length .* 36, got 35/,
  );
});

/** Crops an image (test helper, no resampling). */
function crop(image: RgbImage, window: ResizeWindow): RgbImage {
  const data = new Uint8Array(window.width * window.height * 3);
  for (let y = 0; y < window.height; y++) {
    const start = ((window.top + y) * image.width + window.left) * 3;
    data.set(image.data.subarray(start, start + window.width * 3), y * window.width * 3);
  }
  return { width: window.width, height: window.height, data };
}
