/**
 * Tests of src/image/preprocess/kernel.ts against an emulation of transformers'
 * CLIPImageProcessor on Pillow 9.4 (tests/data/preprocess/, made by
 * tools/vectors/make_preprocess_vectors.py). Reading the configuration is tested in
 * config_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import type { CropRounding } from "../../../src/image/preprocess/config.ts";
import { ImagePreprocessor } from "../../../src/image/preprocess/kernel.ts";
import { syntheticImage } from "../../_synthetic_image.ts";

/** One reference case from cases.json. */
interface PreprocessCase {
  description: string;
  config: Record<string, unknown>;
  cropRounding: CropRounding;
  input: { width: number; height: number; seed: number };
  shape: [number, number, number];
  offset?: number;
  length?: number;
  sha256?: string;
}

const dataDir = new URL("../../data/preprocess/", import.meta.url);
const manifest = JSON.parse(Deno.readTextFileSync(new URL("cases.json", dataDir))) as {
  cases: PreprocessCase[];
};
const storedBytes = gunzipSync(Deno.readFileSync(new URL("outputs.f32.gz", dataDir)));
const storedBits = new Uint32Array(
  storedBytes.buffer,
  storedBytes.byteOffset,
  storedBytes.byteLength / 4,
);

/** Distance in units in the last place between two finite float32 bit patterns. */
function ulpDistance(a: number, b: number): number {
  const ordered = (bits: number) => (bits & 0x80000000 ? 0x80000000 - bits : bits);
  return Math.abs(ordered(a >>> 0) - ordered(b >>> 0));
}

Deno.test("process matches the CLIPImageProcessor emulation bit for bit on every case", () => {
  assert.ok(manifest.cases.length >= 40, "the reference set is complete");
  const mismatches: string[] = [];
  for (const c of manifest.cases) {
    const preprocessor = ImagePreprocessor.fromConfig(c.config, {
      cropRounding: c.cropRounding,
      source: c.description,
    });
    assert.deepEqual(
      [preprocessor.channels, preprocessor.height, preprocessor.width],
      c.shape,
      c.description,
    );
    // Write at an offset into a larger buffer and check nothing outside is touched.
    const offset = 5;
    const buffer = new Float32Array(offset + preprocessor.outputLength + 3).fill(-7);
    const image = syntheticImage(c.input.width, c.input.height, c.input.seed);
    preprocessor.process(image, buffer, offset);
    assert.deepEqual([...buffer.subarray(0, offset)], [-7, -7, -7, -7, -7], c.description);
    assert.deepEqual([...buffer.subarray(buffer.length - 3)], [-7, -7, -7], c.description);
    const result = buffer.slice(offset, offset + preprocessor.outputLength);
    if (c.sha256 !== undefined) {
      const digest = createHash("sha256").update(new Uint8Array(result.buffer)).digest("hex");
      if (digest !== c.sha256) mismatches.push(`${c.description}: sha256 differs`);
      continue;
    }
    const expected = storedBits.subarray(c.offset! / 4, (c.offset! + c.length!) / 4);
    const actual = new Uint32Array(result.buffer);
    assert.equal(actual.length, expected.length, c.description);
    let differing = 0;
    let maxUlps = 0;
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] !== expected[i]) {
        differing++;
        maxUlps = Math.max(maxUlps, ulpDistance(actual[i], expected[i]));
      }
    }
    if (differing > 0) {
      mismatches.push(`${c.description}: ${differing} values differ, by up to ${maxUlps} ulp`);
    }
  }
  assert.deepEqual(mismatches, []);
});

Deno.test("padding from a crop larger than the image is the normalised value of byte 0", () => {
  // mean 0.5, std 0.5, rescale 1/255: byte 0 -> -1 and byte 255 -> 1 exactly.
  const preprocessor = ImagePreprocessor.fromConfig({
    do_resize: false,
    crop_size: { height: 3, width: 4 },
    image_mean: [0.5, 0.5, 0.5],
    image_std: 0.5,
  }, { cropRounding: "floor" });
  const white = { width: 1, height: 1, data: new Uint8Array([255, 255, 255]) };
  const out = new Float32Array(preprocessor.outputLength);
  preprocessor.process(white, out, 0);
  // Floor mode (transformers) puts the pixel at ceil(pad / 2): row 1, column 2 (pad 2 and 3).
  const plane = [-1, -1, -1, -1, -1, -1, 1, -1, -1, -1, -1, -1];
  assert.deepEqual([...out], [...plane, ...plane, ...plane]);
  const round = ImagePreprocessor.fromConfig(
    { do_resize: false, crop_size: [3, 4], image_mean: 0.5, image_std: 0.5 },
    { cropRounding: "round" },
  );
  round.process(white, out, 0);
  // Round mode (torchvision) pads pad // 2 before the image: row 1, column 1.
  const roundPlane = [-1, -1, -1, -1, -1, 1, -1, -1, -1, -1, -1, -1];
  assert.deepEqual([...out], [...roundPlane, ...roundPlane, ...roundPlane]);
});

Deno.test("process rejects an output buffer that is too short", () => {
  const preprocessor = ImagePreprocessor.fromConfig({ size: 4, crop_size: 4 }, {
    cropRounding: "floor",
  });
  const image = syntheticImage(5, 5, 1);
  assert.throws(() => preprocessor.process(image, new Float32Array(48), 1), RangeError);
  assert.throws(() => preprocessor.process(image, new Float32Array(48), 0.5), RangeError);
  preprocessor.process(image, new Float32Array(48), 0);
});
