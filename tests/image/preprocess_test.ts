/**
 * Tests of src/image/preprocess.ts against an emulation of transformers' CLIPImageProcessor on
 * Pillow 9.4 (tests/data/preprocess/, made by tools/vectors/make_preprocess_vectors.py), plus
 * configuration validation.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { ModelError } from "../../src/errors.ts";
import { type CropRounding, ImagePreprocessor } from "../../src/image/preprocess.ts";
import { syntheticImage } from "../_synthetic_image.ts";

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

const dataDir = new URL("../data/preprocess/", import.meta.url);
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

Deno.test("defaults are CLIPImageProcessor's", () => {
  const preprocessor = ImagePreprocessor.fromConfig({}, { cropRounding: "floor" });
  assert.deepEqual(preprocessor.settings, {
    doResize: true,
    size: { kind: "shortestEdge", shortestEdge: 224 },
    resample: 3,
    doCenterCrop: true,
    cropSize: { height: 224, width: 224 },
    cropRounding: "floor",
    doRescale: true,
    rescaleFactor: 1 / 255,
    doNormalize: true,
    imageMean: [0.48145466, 0.4578275, 0.40821073],
    imageStd: [0.26862954, 0.26130258, 0.27577711],
  });
  assert.equal(preprocessor.outputLength, 3 * 224 * 224);
});

Deno.test("invalid configurations are ModelErrors naming the file and the key", () => {
  const bad: [Record<string, unknown> | unknown[], RegExp][] = [
    [{ size: { longest_edge: 224 } }, /"size"/],
    [{ size: 0 }, /"size"/],
    [{ size: { height: 10 } }, /"size"/],
    [{ crop_size: { height: 10, width: 2.5 } }, /"crop_size"/],
    [{ resample: 6 }, /"resample"/],
    [{ do_resize: "yes" }, /"do_resize"/],
    [{ do_normalize: null }, /"do_normalize"/],
    [{ rescale_factor: "1/255" }, /"rescale_factor"/],
    [{ image_mean: [0.5, 0.5] }, /"image_mean"/],
    [{ image_std: [0.5, 0, 0.5] }, /"image_std"/],
    [{ do_convert_rgb: 1 }, /"do_convert_rgb"/],
    [{ do_center_crop: false }, /do_center_crop is false/],
    [[1, 2], /top level/],
  ];
  for (const [config, key] of bad) {
    assert.throws(
      () => ImagePreprocessor.fromConfig(config, { cropRounding: "floor", source: "m/pc.json" }),
      (error: unknown) =>
        error instanceof ModelError && error.path === "m/pc.json" &&
        error.message.startsWith("m/pc.json: ") && key.test(error.message),
      JSON.stringify(config),
    );
  }
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

Deno.test("defaults follow the declared image processor class", () => {
  const siglip = ImagePreprocessor.fromConfig({ image_processor_type: "SiglipImageProcessor" }, {
    cropRounding: "floor",
  });
  assert.deepEqual(siglip.settings, {
    doResize: true,
    size: { kind: "exact", height: 224, width: 224 },
    resample: 3,
    doCenterCrop: false,
    cropSize: { height: 224, width: 224 },
    cropRounding: "floor",
    doRescale: true,
    rescaleFactor: 1 / 255,
    doNormalize: true,
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.5, 0.5, 0.5],
  });
  // SiglipImageProcessor has no crop step: its crop keys are ignored, as transformers ignores them.
  const ignoresCrop = ImagePreprocessor.fromConfig({
    image_processor_type: "SiglipImageProcessorFast",
    size: { height: 16, width: 12 },
    do_center_crop: true,
    crop_size: 8,
  }, { cropRounding: "floor" });
  assert.deepEqual([ignoresCrop.height, ignoresCrop.width, ignoresCrop.settings.doCenterCrop], [
    16,
    12,
    false,
  ]);
  // The class named in the JSON wins over the caller's fallback; the fallback fills in otherwise.
  const declared = ImagePreprocessor.fromConfig(
    { feature_extractor_type: "CLIPFeatureExtractor" },
    {
      cropRounding: "floor",
      processorType: "SiglipImageProcessor",
    },
  );
  assert.equal(declared.settings.size.kind, "shortestEdge");
  const fallback = ImagePreprocessor.fromConfig({}, {
    cropRounding: "floor",
    processorType: "SiglipImageProcessor",
  });
  assert.deepEqual(fallback.settings.imageMean, [0.5, 0.5, 0.5]);
  // ChineseCLIPImageProcessor: CLIP's defaults, resize to size.height × size.width.
  const chinese = ImagePreprocessor.fromConfig({
    feature_extractor_type: "ChineseCLIPFeatureExtractor",
    size: { height: 224, width: 224 },
    do_center_crop: false,
  }, { cropRounding: "floor" });
  assert.deepEqual(chinese.settings.size, { kind: "exact", height: 224, width: 224 });
  assert.equal(chinese.settings.doCenterCrop, false);
  assert.deepEqual(chinese.settings.imageStd, [0.26862954, 0.26130258, 0.27577711]);
});

Deno.test("JinaCLIPImageProcessor's own keys become the equivalent transform", () => {
  const shortest = ImagePreprocessor.fromConfig({
    image_processor_type: "JinaCLIPImageProcessor",
    size: 224,
    resize_mode: "shortest",
    interpolation: "bicubic",
    fill_color: 0,
    mean: [0.1, 0.2, 0.3],
    std: [0.4, 0.5, 0.6],
  }, { cropRounding: "round" });
  assert.deepEqual(shortest.settings, {
    doResize: true,
    size: { kind: "shortestEdge", shortestEdge: 224 },
    resample: 3,
    doCenterCrop: true,
    cropSize: { height: 224, width: 224 },
    cropRounding: "round",
    doRescale: true,
    rescaleFactor: 1 / 255,
    doNormalize: true,
    imageMean: [0.1, 0.2, 0.3],
    imageStd: [0.4, 0.5, 0.6],
  });
  const squash = ImagePreprocessor.fromConfig({
    image_processor_type: "JinaCLIPImageProcessor",
    size: 512,
    resize_mode: "squash",
    interpolation: "bilinear",
  }, { cropRounding: "round" });
  assert.deepEqual(squash.settings.size, { kind: "exact", height: 512, width: 512 });
  assert.equal(squash.settings.resample, 2);
  assert.deepEqual(squash.settings.imageMean, [0.48145466, 0.4578275, 0.40821073]);
});

Deno.test("class-specific configuration errors name the file, the class and the key", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    // transformers' ChineseCLIPImageProcessor and SiglipImageProcessor fail on a shortest_edge size.
    [{ image_processor_type: "ChineseCLIPImageProcessor" }, /ChineseCLIPImageProcessor.*"size"/],
    [{ image_processor_type: "SiglipImageProcessor", size: 224 }, /SiglipImageProcessor.*"size"/],
    [{ image_processor_type: "JinaCLIPImageProcessor", resize_mode: "longest" }, /"resize_mode"/],
    [
      { image_processor_type: "JinaCLIPImageProcessor", interpolation: "random" },
      /"interpolation"/,
    ],
    [{ image_processor_type: "JinaCLIPImageProcessor", size: { height: 4 } }, /"size"/],
    [
      { image_processor_type: "ViTImageProcessor", size: { height: 8, width: 8 } },
      /ViTImageProcessor is not one clipbench knows.*: do_resize, do_center_crop, do_rescale, do_normalize, resample, crop_size, rescale_factor, image_mean, image_std$/,
    ],
  ];
  for (const [config, message] of bad) {
    assert.throws(
      () => ImagePreprocessor.fromConfig(config, { cropRounding: "floor", source: "m/pc.json" }),
      (error: unknown) =>
        error instanceof ModelError && error.path === "m/pc.json" &&
        error.message.startsWith("m/pc.json: ") && message.test(error.message),
      JSON.stringify(config),
    );
  }
  // An unknown class is accepted when every key that decides the output is given.
  const complete = ImagePreprocessor.fromConfig({
    image_processor_type: "ViTImageProcessor",
    do_resize: true,
    size: { height: 8, width: 8 },
    resample: 2,
    do_center_crop: false,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: false,
  }, { cropRounding: "floor" });
  assert.deepEqual([complete.height, complete.width, complete.settings.resample], [8, 8, 2]);
});
