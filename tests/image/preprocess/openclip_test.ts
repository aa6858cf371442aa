/**
 * open_clip's conversion order in the preprocessor (src/image/preprocess/kernel.ts) against
 * open_clip's transform (tests/image/_openclip_vectors.ts): with "after_resize", resize and crop in
 * the native Pillow mode and convert to RGB last.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeImage } from "../../../src/image/decode/mod.ts";
import { ImagePreprocessor } from "../../../src/image/preprocess/kernel.ts";
import {
  bytesOf,
  DATA,
  firstDifference,
  manifest,
  native,
  type PreprocessCase,
  tensors,
} from "../_openclip_vectors.ts";

/** The preprocessor of a case's config in one conversion order (crop rounding as open_clip). */
function preprocessor(
  c: PreprocessCase,
  conversionOrder?: "before_resize" | "after_resize",
): ImagePreprocessor {
  return ImagePreprocessor.fromConfig(c.config, {
    cropRounding: "round",
    conversionOrder,
    source: `${c.input} ${JSON.stringify(c.config)}`,
  });
}

/** A preprocessed tensor as its float32 bytes. */
function run(pre: ImagePreprocessor, image: Parameters<ImagePreprocessor["process"]>[0]) {
  const out = new Float32Array(pre.outputLength);
  pre.process(image, out, 0);
  return new Uint8Array(out.buffer);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("after_resize preprocessing matches open_clip's transform bit for bit", () => {
  assert.ok(manifest.preprocess.length >= 100);
  const mismatches: string[] = [];
  for (const c of manifest.preprocess) {
    const pre = preprocessor(c, "after_resize");
    assert.deepEqual([pre.channels, pre.height, pre.width], c.shape);
    const problem = firstDifference(run(pre, native(c.input)), bytesOf(tensors, c.tensor));
    if (problem) mismatches.push(`${c.input} ${JSON.stringify(c.config)}: ${problem}`);
  }
  assert.deepEqual(mismatches, []);
});

Deno.test("before_resize preprocessing of a native image converts first, as for decodeImage", async () => {
  for (const c of manifest.preprocess) {
    const input = manifest.inputs.find((i) => i.name === c.input)!;
    const rgb = await decodeImage(Deno.readFileSync(new URL(input.file, DATA)));
    const convertFirst = run(preprocessor(c, "before_resize"), native(c.input));
    assert.equal(sha256(convertFirst), c.convertFirstSha256, `${c.input}`);
    // The default order is transformers' (convert first), for native and RGB images alike.
    assert.deepEqual(run(preprocessor(c), native(c.input)), convertFirst, c.input);
    assert.deepEqual(run(preprocessor(c), rgb), convertFirst, c.input);
    // An RGB image is the same in both orders.
    assert.deepEqual(run(preprocessor(c, "after_resize"), rgb), convertFirst, c.input);
  }
});

Deno.test("the orders agree exactly for L and RGB images and differ for the other modes", () => {
  const differs = new Map<string, boolean>();
  for (const c of manifest.preprocess) {
    const image = native(c.input);
    const same = sha256(run(preprocessor(c, "after_resize"), image)) ===
      sha256(run(preprocessor(c, "before_resize"), image));
    assert.equal(!same, c.ordersDiffer, `${c.input} ${JSON.stringify(c.config)}`);
    differs.set(image.mode, (differs.get(image.mode) ?? false) || !same);
  }
  assert.deepEqual(Object.fromEntries(differs), {
    "1": true,
    CMYK: true,
    I: true,
    L: false,
    LA: true,
    P: true,
    RGB: false,
    RGBA: true,
  });
});
