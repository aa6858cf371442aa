/**
 * resizeNative (src/image/resize_native.ts) against Pillow 9.4's `Image.resize` in every mode
 * (tests/image/_openclip_vectors.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ResampleFilter } from "../../src/image/resize.ts";
import { resizeNative } from "../../src/image/resize_native.ts";
import {
  bytesOf,
  firstDifference,
  manifest,
  native,
  sampleBytes,
  samples,
} from "./_openclip_vectors.ts";

Deno.test("resizeNative matches Pillow's Image.resize in every mode, byte for byte", () => {
  assert.ok(manifest.resizes.length >= 160);
  const mismatches: string[] = [];
  for (const c of manifest.resizes) {
    const source = native(c.input);
    const resized = resizeNative(source, c.width, c.height, c.filter);
    assert.equal(resized.mode, source.mode);
    assert.deepEqual([resized.width, resized.height], [c.width, c.height]);
    const expected = c.sameAsInput ? sampleBytes(source) : bytesOf(samples, c.samples!);
    const problem = firstDifference(sampleBytes(resized), expected);
    if (problem) {
      mismatches.push(`${c.input} ${c.width}x${c.height} filter ${c.filter}: ${problem}`);
    }
  }
  assert.deepEqual(mismatches, []);
});

Deno.test("a resizeNative window equals the same rectangle of the full result", () => {
  const window = { left: 3, top: 2, width: 7, height: 5 };
  for (const name of ["png_rgba8", "png_la8", "png_i16", "png_p8", "jpeg_cmyk", "png_1bit"]) {
    const source = native(name);
    for (const filter of [ResampleFilter.BICUBIC, ResampleFilter.NEAREST]) {
      const full = resizeNative(source, 23, 17, filter);
      const part = resizeNative(source, 23, 17, filter, window);
      const bands = full.data.length / (23 * 17);
      for (let y = 0; y < window.height; y++) {
        const start = ((window.top + y) * 23 + window.left) * bands;
        assert.deepEqual(
          part.data.subarray(y * window.width * bands, (y + 1) * window.width * bands),
          full.data.subarray(start, start + window.width * bands),
          `${name} filter ${filter} row ${y}`,
        );
      }
    }
  }
});
