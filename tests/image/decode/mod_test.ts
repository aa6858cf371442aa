/**
 * decodeImage against Pillow 9.4's `Image.open(f).convert("RGB")`, using the vectors written
 * by tools/vectors/make_decode_vectors.py into tests/data/decode/.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeImage, decodeNativeImage } from "../../../src/image/decode/mod.ts";
import { selectedJpegDecoder } from "../../../src/image/decode/jpeg_decoder.ts";
import { ImageDecodeError } from "../../../src/errors.ts";
import type { NativeImage } from "../../../src/image/native_image.ts";
import { toRgb } from "../../../src/image/pil_convert.ts";
import {
  bytesOf,
  firstDifference,
  manifest as openclip,
  native,
  sampleBytes,
  samples,
} from "../_openclip_vectors.ts";
import { compare, DATA, expected, manifest, read } from "./_decode_vectors.ts";

/** The JPEG decoder decodeImage uses here (jpeg_decoder_test.ts runs the JPEG vectors under each). */
const jpegDecoder = await selectedJpegDecoder();

/** Bytes each format's signature check looks at. */
const SIGNATURE_LENGTH: Readonly<Record<string, number>> = { png: 8, jpeg: 3, gif: 6, webp: 16 };

async function assertDecodeError(
  bytes: Uint8Array,
  name: string,
  format: string,
): Promise<ImageDecodeError> {
  try {
    const image = await decodeImage(bytes, name);
    assert.fail(`${name}: decoded to ${image.width}×${image.height}, expected ImageDecodeError`);
  } catch (error) {
    if (!(error instanceof ImageDecodeError)) throw error;
    assert.equal(error.format, format, `${name}: ${error.message}`);
    return error;
  }
}

// JPEG vectors: jpeg_decoder_test.ts, under each libjpeg-turbo.
for (const format of ["png", "gif", "webp"]) {
  const vectors = manifest.images.filter((v) => v.format === format);
  Deno.test(`decodeImage matches Pillow byte for byte on ${vectors.length} ${format} vectors`, async (t) => {
    assert.ok(vectors.length > 0);
    for (const vector of vectors) {
      const bytes = await read(vector.file);
      await t.step(vector.name, async () => {
        const image = await decodeImage(bytes, vector.file);
        assert.equal(image.width, vector.width);
        assert.equal(image.height, vector.height);
        assert.equal(image.data.length, vector.width * vector.height * 3);
        const { maxAbs, differing } = compare(image.data, await expected(vector));
        assert.equal(
          differing,
          0,
          `${vector.name} (${vector.note}): ${differing} bytes differ, max |diff| ${maxAbs}`,
        );
      });
    }
  });
}

Deno.test("decodeImage refuses every file Pillow refuses", async (t) => {
  for (const vector of manifest.errors) {
    await t.step(vector.name, async () => {
      const error = await assertDecodeError(await read(vector.file), vector.file, vector.format);
      assert.match(
        error.message,
        new RegExp(`"${vector.file}"`),
        "the name hint is in the message",
      );
      if (vector.pilError.startsWith("DecompressionBombError")) {
        // Refused from the header, before any pixel memory is allocated.
        assert.match(error.message, /exceeds Pillow's limit of 178956970 pixels/);
      }
    });
  }
});

Deno.test("decodeImage agrees with Pillow on truncated files", async (t) => {
  for (const { source, cuts } of manifest.truncations) {
    const vector = manifest.images.find((v) => v.name === source)!;
    const bytes = await read(vector.file);
    const reference = await expected(vector);
    for (const cut of cuts) {
      await t.step(`${source} cut to ${cut.length} of ${bytes.length} bytes`, async () => {
        const head = bytes.slice(0, cut.length);
        if (cut.pil === "error") {
          // A cut inside the signature leaves bytes that no format claims.
          const format = cut.length >= SIGNATURE_LENGTH[vector.format] ? vector.format : "unknown";
          await assertDecodeError(head, source, format);
        } else {
          const image = await decodeImage(head, source);
          assert.deepEqual(image.data, reference);
        }
      });
    }
  }
});

Deno.test("decodeImage refuses empty and unrecognised input as format 'unknown'", async () => {
  await assertDecodeError(new Uint8Array(0), "empty", "unknown");
  const garbage = new Uint8Array(4096);
  let state = 12345;
  for (let i = 0; i < garbage.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    garbage[i] = state >>> 24;
  }
  const error = await assertDecodeError(garbage, "jpg", "unknown");
  assert.match(error.message, /"jpg"/);
  // The name hint does not choose the format: a PNG named "x.jpg" is a PNG.
  const png = manifest.images.find((v) => v.name === "png_rgb8_31x17")!;
  const image = await decodeImage(await read(png.file), "x.jpg");
  assert.deepEqual(image.data, await expected(png));
});

Deno.test("decodeImage survives random corruption of every format without hanging", async () => {
  // Flip bytes at pseudo-random positions: each result must be an image or an ImageDecodeError.
  let state = 987654321;
  const random = () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  for (
    const name of [
      "png_adam7_rgb8_33x19",
      "jpeg_progressive_420_61x43",
      "gif_pil_64x48",
      "webp_lossy_120x90",
      "webp_lossless_33x65",
      "jpeg_cmyk_40x30",
    ]
  ) {
    const vector = manifest.images.find((v) => v.name === name)!;
    const original = await read(vector.file);
    for (let trial = 0; trial < 40; trial++) {
      const bytes = original.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        const at = 16 + Math.floor(random() * (bytes.length - 16));
        bytes[at] = Math.floor(random() * 256);
      }
      try {
        const image = await decodeImage(bytes, name);
        assert.equal(image.data.length, image.width * image.height * 3);
      } catch (error) {
        if (!(error instanceof ImageDecodeError)) throw error;
      }
    }
  }
});

Deno.test("decodeNativeImage gives Pillow's mode and samples for every mode variant", () => {
  assert.ok(openclip.inputs.length >= 20, "the reference set is complete");
  const modes = new Set(openclip.inputs.map((input) => input.mode));
  assert.deepEqual([...modes].sort(), ["1", "CMYK", "I", "L", "LA", "P", "RGB", "RGBA"]);
  for (const input of openclip.inputs) {
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
  const vectors = manifest.images;
  assert.ok(vectors.length > 150);
  let decoded = 0;
  for (const vector of vectors) {
    const bytes = Deno.readFileSync(new URL(vector.file, DATA));
    let image: NativeImage;
    try {
      image = await decodeNativeImage(bytes, vector.file);
    } catch (error) {
      // The WebAssembly libjpeg-turbo has no arithmetic decoder (jpeg_decoder_test.ts).
      assert.equal(jpegDecoder.kind, "wasm", vector.name);
      assert.ok(error instanceof ImageDecodeError && /arithmetic/.test(error.message), vector.name);
      continue;
    }
    assert.equal(image.mode, MODE_QUIRKS[vector.name] ?? vector.pilMode, vector.name);
    assert.deepEqual(toRgb(image), await decodeImage(bytes), vector.name);
    decoded++;
  }
  assert.equal(decoded, vectors.length - (jpegDecoder.kind === "wasm" ? 1 : 0));
});
