/**
 * The `clipbench` block's parts: per-class recall, the number-changing settings derived from a
 * model fingerprint, the field order of the block, and timing.
 */
import assert from "node:assert/strict";
import {
  clipbenchBlock,
  modelProvenanceOf,
  numberSettings,
  perClassRecall,
  runTiming,
  sha256OfJson,
} from "../../src/results/provenance.ts";
import { VERSION } from "../../src/version.ts";

const FINGERPRINT = {
  files: { "onnx/vision_model.onnx": "aa", "config.json": "bb" },
  dtype: "fp16",
  family: "clip",
  preprocessing: { cropRounding: "round", conversionOrder: "after_resize" },
  tokenizer: { text_cleaning: "open_clip" },
};

Deno.test("perClassRecall: correct / total per class, null for a class without samples", () => {
  assert.deepEqual(perClassRecall(new Float64Array([4, 0, 2]), new Float64Array([1, 0, 2])), [
    0.25,
    null,
    1,
  ]);
});

Deno.test("numberSettings: from the model fingerprint, openclip from the conversion order", () => {
  const settings = numberSettings(FINGERPRINT, "val", 64);
  assert.deepEqual(settings, {
    model_sha256: sha256OfJson(FINGERPRINT),
    dtype: "fp16",
    preprocess: "openclip",
    crop_rounding: "round",
    text_cleaning: "open_clip",
    split: "val",
    limit: 64,
  });
  const hf = numberSettings(
    { ...FINGERPRINT, preprocessing: { cropRounding: "floor" } },
    "test",
    null,
  );
  assert.equal(hf.preprocess, "hf");
  assert.notEqual(hf.model_sha256, settings.model_sha256);
});

Deno.test("sha256OfJson: object key order does not matter, values do", () => {
  assert.equal(sha256OfJson({ a: 1, b: [2] }), sha256OfJson({ b: [2], a: 1 }));
  assert.notEqual(sha256OfJson(["a", "b"]), sha256OfJson(["b", "a"]));
  assert.match(sha256OfJson([]), /^[0-9a-f]{64}$/);
});

Deno.test("clipbenchBlock: fields in the file's order; per_class_recall only when given", () => {
  const parts = {
    model: modelProvenanceOf(FINGERPRINT, { given: "dir/m", name: "m" }),
    settings: numberSettings(FINGERPRINT, "test", null),
    task: { task_settings: { recall_k: [1] } },
    shards: null,
    samples: { scored: 3, skipped: 1 },
    time: null,
    runtime: null,
  };
  const block = clipbenchBlock(parts);
  assert.deepEqual(Object.keys(block), [
    "version",
    "model",
    "settings",
    "task_settings",
    "shards",
    "samples",
    "time",
    "runtime",
  ]);
  assert.equal(block.version, VERSION);
  assert.deepEqual(block.model, {
    given: "dir/m",
    name: "m",
    family: "clip",
    fingerprint_sha256: sha256OfJson(FINGERPRINT),
    files: FINGERPRINT.files,
  });
  const withRecall = clipbenchBlock({
    ...parts,
    task: { task_settings: {}, per_class_recall: [0.5, null] },
  });
  assert.deepEqual(withRecall.per_class_recall, [0.5, null]);
  assert.equal(Object.keys(withRecall).at(-1), "per_class_recall");
});

Deno.test("runTiming: ISO times, duration in seconds, images per second", () => {
  const timing = runTiming(new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:02Z"), 10);
  assert.deepEqual(timing, {
    start: "2026-01-01T00:00:00.000Z",
    end: "2026-01-01T00:00:02.000Z",
    duration_s: 2,
    images_per_s: 5,
  });
  const instant = new Date();
  assert.equal(runTiming(instant, instant, 4).images_per_s, 0);
});
