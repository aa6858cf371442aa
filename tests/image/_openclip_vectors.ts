/**
 * The open_clip reference vectors (tests/data/openclip/, made by
 * tools/vectors/make_openclip_vectors.py with Pillow 9.4 and torchvision 0.14): images in every
 * Pillow mode decoded natively, their `Image.resize` results, and open_clip's preprocessed tensors.
 * Shared by the decode, resize, conversion and preprocessing tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { decodeNativeImage } from "../../src/image/decode/mod.ts";
import type { NativeImage } from "../../src/image/native_image.ts";
import type { ResampleFilter } from "../../src/image/resize.ts";

/** Where a run of bytes lies in one of the gzipped blobs. */
export interface Span {
  offset: number;
  length: number;
}

/** A reference image: its file, Pillow mode, size and decoded samples. */
export interface InputCase {
  name: string;
  file: string;
  mode: string;
  width: number;
  height: number;
  samples: Span;
  palette?: Span;
}

/** A Pillow `Image.resize` of a reference image. */
export interface ResizeCase {
  input: string;
  width: number;
  height: number;
  filter: ResampleFilter;
  samples?: Span;
  sameAsInput?: boolean;
}

/** open_clip's transform of a reference image under one preprocessor config. */
export interface PreprocessCase {
  input: string;
  config: Record<string, unknown>;
  shape: [number, number, number];
  tensor: Span;
  convertFirstSha256: string;
  ordersDiffer: boolean;
}

/** The vector folder. */
export const DATA = new URL("../data/openclip/", import.meta.url);
/** cases.json: the inputs, resizes and preprocess cases. */
export const manifest = JSON.parse(Deno.readTextFileSync(new URL("cases.json", DATA))) as {
  inputs: InputCase[];
  resizes: ResizeCase[];
  preprocess: PreprocessCase[];
};
/** Decoded and resized samples the spans point into. */
export const samples = new Uint8Array(
  gunzipSync(Deno.readFileSync(new URL("samples.bin.gz", DATA))),
);
/** Preprocessed float32 tensors the spans point into. */
export const tensors = new Uint8Array(
  gunzipSync(Deno.readFileSync(new URL("tensors.f32.gz", DATA))),
);

/** The bytes of a span. */
export function bytesOf(blob: Uint8Array, span: Span): Uint8Array {
  return blob.subarray(span.offset, span.offset + span.length);
}

/** An image's samples as the bytes the generator stores (int32 little-endian for "I"). */
export function sampleBytes(image: NativeImage): Uint8Array {
  const data = image.data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Index and values of the first differing byte, or undefined. */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): string | undefined {
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
export function native(name: string): NativeImage {
  const image = natives.get(name);
  assert.ok(image, `no input ${name}`);
  return image;
}
