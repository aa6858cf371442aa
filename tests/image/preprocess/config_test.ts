/**
 * Tests of src/image/preprocess/config.ts through `ImagePreprocessor.fromConfig`: each image
 * processor class's defaults, Jina CLIP's own keys, and configuration errors naming the file and
 * the key.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ModelError } from "../../../src/errors.ts";
import { ImagePreprocessor } from "../../../src/image/preprocess/kernel.ts";

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
