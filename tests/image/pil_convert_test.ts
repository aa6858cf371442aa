/**
 * Tests of src/image/pil_convert.ts against Pillow 9.4's CMYK to RGB table, written by
 * tools/vectors/make_decode_vectors.py into tests/data/decode/ (the `cmykTable` of its manifest).
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { invertedCmykToRgb } from "../../src/image/pil_convert.ts";

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
