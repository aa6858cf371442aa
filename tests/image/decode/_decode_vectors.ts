/**
 * The decode vectors of tools/vectors/make_decode_vectors.py (tests/data/decode/): the manifest,
 * and reading a vector and Pillow's pixels for it.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";

/** The folder of the vectors. */
export const DATA = new URL("../../data/decode/", import.meta.url);

/** A file Pillow decodes, with its pixels. */
export interface ImageVector {
  name: string;
  file: string;
  format: string;
  width: number;
  height: number;
  pilMode: string;
  rgb: string;
  /**
   * Pillow's output with libjpeg-turbo's SIMD code disabled, where it differs (corrupt data
   * with out-of-range DCT coefficients): the WebAssembly build runs the C code.
   */
  rgbWithoutSimd?: string;
  note: string;
}

/** A file Pillow refuses. */
export interface ErrorVector {
  name: string;
  file: string;
  format: string;
  pilError: string;
  note: string;
}

/** Cuts of a vector, and whether Pillow decodes each. */
export interface Truncation {
  source: string;
  cuts: { length: number; pil: "ok" | "error"; pilError?: string }[];
}

/** tests/data/decode/manifest.json. */
export interface Manifest {
  cmykTable: string;
  images: ImageVector[];
  errors: ErrorVector[];
  truncations: Truncation[];
}

/** The manifest. */
export const manifest: Manifest = JSON.parse(
  await Deno.readTextFile(new URL("manifest.json", DATA)),
);

/** A vector file's bytes. */
export function read(file: string): Promise<Uint8Array> {
  return Deno.readFile(new URL(file, DATA));
}

/** Pillow's RGB pixels of a vector (`file`: another reference of it). */
export async function expected(vector: ImageVector, file = vector.rgb): Promise<Uint8Array> {
  return new Uint8Array(gunzipSync(await read(file)));
}

/** Max absolute difference and count of differing bytes. */
export function compare(
  actual: Uint8Array,
  reference: Uint8Array,
): { maxAbs: number; differing: number } {
  let maxAbs = 0;
  let differing = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(actual[i] - reference[i]);
    if (d !== 0) differing++;
    if (d > maxAbs) maxAbs = d;
  }
  return { maxAbs, differing };
}
