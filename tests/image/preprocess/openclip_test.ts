/**
 * open_clip's conversion order against Pillow 9.4 and torchvision 0.14 (tests/data/openclip/,
 * made by tools/vectors/make_openclip_vectors.py): decoding to the native Pillow mode
 * (decodeNativeImage), resizing in that mode (resizeNative), and preprocessing with the
 * "after_resize" conversion order (resize and crop in the native mode, convert to RGB last).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { ImageDecodeError } from "../../../src/errors.ts";
import { decodeImage, decodeNativeImage } from "../../../src/image/decode/mod.ts";
import type { NativeImage } from "../../../src/image/native_image.ts";
import {
  premultiplyAlpha,
  toRgb,
  unpremultiplyAlpha,
  zeroPixelRgb,
} from "../../../src/image/pil_convert.ts";
import { ResampleFilter } from "../../../src/image/resize.ts";
import { resizeNative } from "../../../src/image/resize_native.ts";
import { ImagePreprocessor } from "../../../src/image/preprocess/kernel.ts";

/** Where a run of bytes lies in one of the gzipped blobs. */
interface Span {
  offset: number;
  length: number;
}

interface InputCase {
  name: string;
  file: string;
  mode: string;
  width: number;
  height: number;
  samples: Span;
  palette?: Span;
}

interface ResizeCase {
  input: string;
  width: number;
  height: number;
  filter: ResampleFilter;
  samples?: Span;
  sameAsInput?: boolean;
}

interface PreprocessCase {
  input: string;
  config: Record<string, unknown>;
  shape: [number, number, number];
  tensor: Span;
  convertFirstSha256: string;
  ordersDiffer: boolean;
}

const DATA = new URL("../../data/openclip/", import.meta.url);
const manifest = JSON.parse(Deno.readTextFileSync(new URL("cases.json", DATA))) as {
  inputs: InputCase[];
  resizes: ResizeCase[];
  preprocess: PreprocessCase[];
};
const samples = new Uint8Array(gunzipSync(Deno.readFileSync(new URL("samples.bin.gz", DATA))));
const tensors = new Uint8Array(gunzipSync(Deno.readFileSync(new URL("tensors.f32.gz", DATA))));

/** The bytes of a span. */
function bytesOf(blob: Uint8Array, span: Span): Uint8Array {
  return blob.subarray(span.offset, span.offset + span.length);
}

/** An image's samples as the bytes the generator stores (int32 little-endian for "I"). */
function sampleBytes(image: NativeImage): Uint8Array {
  const data = image.data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Index and values of the first differing byte, or undefined. */
function firstDifference(actual: Uint8Array, expected: Uint8Array): string | undefined {
  if (actual.length !== expected.length) {
    return `length ${actual.length}, expected ${expected.length}`;
  }
  const at = actual.findIndex((v, i) => v !== expected[i]);
  if (at < 0) return undefined;
  const count = actual.filter((v, i) => v !== expected[i]).length;
  return `${count} bytes differ, first at ${at}: ${actual[at]}, expected ${expected[at]}`;
}

const natives = new Map<string, NativeImage>();
for (const input of manifest.inputs) {
  natives.set(input.name, await decodeNativeImage(Deno.readFileSync(new URL(input.file, DATA))));
}

/** The decoded native image of an input. */
function native(name: string): NativeImage {
  const image = natives.get(name);
  assert.ok(image, `no input ${name}`);
  return image;
}

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

Deno.test("decodeNativeImage gives Pillow's mode and samples for every mode variant", () => {
  assert.ok(manifest.inputs.length >= 20, "the reference set is complete");
  const modes = new Set(manifest.inputs.map((input) => input.mode));
  assert.deepEqual([...modes].sort(), ["1", "CMYK", "I", "L", "LA", "P", "RGB", "RGBA"]);
  for (const input of manifest.inputs) {
    const image = native(input.name);
    assert.equal(image.mode, input.mode, input.name);
    assert.deepEqual([image.width, image.height], [input.width, input.height], input.name);
    const problem = firstDifference(sampleBytes(image), bytesOf(samples, input.samples));
    assert.equal(problem, undefined, `${input.name}: ${problem}`);
    if (input.palette) {
      assert.equal(image.mode, "P");
      if (image.mode === "P") assert.deepEqual(image.palette, bytesOf(samples, input.palette));
    }
  }
});

/**
 * Decode vectors whose `Image.open(f).mode` is not the mode of their pixels, with the mode
 * decodeNativeImage gives instead.
 */
const MODE_QUIRKS: Readonly<Record<string, string>> = {
  // A GIF whose frame has an identity-grey local table under a coloured global one: Pillow
  // names it "L" but loads the global palette into it, so its samples are palette indices
  // ("P" in the C core), `convert("RGB")` looks them up, and `resize` with any filter but
  // NEAREST raises "image has wrong mode". clipbench treats it as the "P" image it is.
  gif_local_grey_table_20x12: "P",
};

Deno.test("decodeNativeImage opens every decode vector in Pillow's mode", async () => {
  const decodeData = new URL("../../data/decode/", import.meta.url);
  const vectors = (JSON.parse(Deno.readTextFileSync(new URL("manifest.json", decodeData))) as {
    images: { name: string; file: string; pilMode: string }[];
  }).images;
  assert.ok(vectors.length > 150);
  let decoded = 0;
  for (const vector of vectors) {
    const bytes = Deno.readFileSync(new URL(vector.file, decodeData));
    let image: NativeImage;
    try {
      image = await decodeNativeImage(bytes, vector.file);
    } catch (error) {
      // The arithmetic-coded JPEG is refused on purpose (see image_decode_test.ts).
      assert.ok(error instanceof ImageDecodeError && /arithmetic/.test(error.message), vector.name);
      continue;
    }
    assert.equal(image.mode, MODE_QUIRKS[vector.name] ?? vector.pilMode, vector.name);
    assert.deepEqual(toRgb(image), await decodeImage(bytes), vector.name);
    decoded++;
  }
  assert.equal(decoded, vectors.length - 1);
});

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

Deno.test("Pillow's alpha premultiplication rounds, its inverse truncates", () => {
  // MULDIV255(v, a) = round(v * a / 255); un-premultiplying gives floor(255 * v / a).
  const rgba = new Uint8Array([255, 128, 1, 128, 200, 100, 50, 0, 7, 8, 9, 255]);
  assert.deepEqual(
    premultiplyAlpha(rgba, 4),
    new Uint8Array([128, 64, 1, 128, 0, 0, 0, 0, 7, 8, 9, 255]),
  );
  // L, A pairs: 255 / 2 = 127.5 -> 127; 255 * 64 / 100 = 163.2 -> 163; alpha 0 and 255 keep
  // the value; 255 * 150 / 100 = 382.5 is clipped to 255.
  const la = new Uint8Array([1, 2, 64, 100, 50, 0, 3, 3, 200, 255, 150, 100]);
  unpremultiplyAlpha(la, 2);
  assert.deepEqual(la, new Uint8Array([127, 2, 163, 100, 50, 0, 255, 3, 200, 255, 255, 100]));
});

Deno.test("padding is the RGB colour of a zero pixel in the image's mode", () => {
  assert.deepEqual(zeroPixelRgb(native("jpeg_cmyk")), [255, 255, 255]);
  const palette = native("png_p8");
  assert.equal(palette.mode, "P");
  if (palette.mode === "P") {
    assert.deepEqual(zeroPixelRgb(palette), [...palette.palette.subarray(0, 3)]);
  }
  for (const name of ["png_1bit", "png_l8", "png_i16", "png_la8", "png_rgb8", "png_rgba8"]) {
    assert.deepEqual(zeroPixelRgb(native(name)), [0, 0, 0], name);
  }
});
