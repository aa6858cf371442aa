/**
 * Tests of src/image/pil_convert.ts: Pillow 9.4's CMYK to RGB table (the `cmykTable` that
 * tools/vectors/make_decode_vectors.py writes into tests/data/decode/), its alpha
 * premultiplication rounding, and the padding colour of each mode.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  invertedCmykToRgb,
  premultiplyAlpha,
  unpremultiplyAlpha,
  zeroPixelRgb,
} from "../../src/image/pil_convert.ts";
import { native } from "./_openclip_vectors.ts";

const DATA = new URL("../data/decode/", import.meta.url);

const manifest: { cmykTable: string } = JSON.parse(
  await Deno.readTextFile(new URL("manifest.json", DATA)),
);

function read(file: string): Promise<Uint8Array> {
  return Deno.readFile(new URL(file, DATA));
}

Deno.test("invertedCmykToRgb reproduces Pillow's CMYK to RGB for every (C, K)", async () => {
  // The table holds Pillow's red output for C along x and K along y (M = Y = 0).
  const table = new Uint8Array(gunzipSync(await read(manifest.cmykTable)));
  const raw = new Uint8Array(256 * 256 * 4);
  for (let k = 0; k < 256; k++) {
    for (let c = 0; c < 256; c++) {
      // libjpeg hands over Adobe-inverted values.
      raw.set([255 - c, 255, 255, 255 - k], (k * 256 + c) * 4);
    }
  }
  const rgb = invertedCmykToRgb(raw, 256 * 256);
  for (let i = 0; i < 256 * 256; i++) {
    if (rgb[i * 3] !== table[i]) {
      assert.fail(`C=${i % 256} K=${i >> 8}: ${rgb[i * 3]}, Pillow ${table[i]}`);
    }
    assert.equal(rgb[i * 3 + 1], 255 - (i >> 8), "M = 0 gives 255 - K");
  }
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
