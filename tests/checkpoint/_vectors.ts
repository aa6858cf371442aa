/**
 * Shared helpers of the checkpoint tests: where the committed vectors are, bitwise comparison
 * of float32 values, and scratch copies of vectors (truncated or patched) for the bad-input cases.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CheckpointTensor } from "../../src/checkpoint/checkpoint.ts";
import { readSafetensors } from "../../src/checkpoint/safetensors.ts";

/** The folder of the committed checkpoint vectors. */
export const VECTORS = new URL("../data/checkpoint/", import.meta.url).pathname;

/** Asserts that `actual` and `expected` hold the same float32 bit patterns. */
export function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** The tensors of a vector folder's `expected.safetensors` (torch's `.float()`), by name. */
export async function expectedTensors(folder: string): Promise<Map<string, CheckpointTensor>> {
  const file = await readSafetensors(`${VECTORS}${folder}/expected.safetensors`);
  return new Map(file.tensors.map((t) => [t.name, t]));
}

let scratchRoot: string | undefined;

/** A fresh temporary folder (all of them are removed when the test module unloads). */
export async function scratchDir(): Promise<string> {
  if (!scratchRoot) {
    const root = await Deno.makeTempDir({ prefix: "clipbench-checkpoint-" });
    scratchRoot = root;
    globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
  }
  return await Deno.makeTempDir({ dir: scratchRoot });
}

/** Writes `bytes` as `name` in a fresh temporary folder and returns the file's path. */
export async function scratchFile(name: string, bytes: Uint8Array): Promise<string> {
  const path = `${await scratchDir()}/${name}`;
  await Deno.writeFile(path, bytes);
  return path;
}
