/**
 * Writes small float32 safetensors checkpoints for the architecture tests: a folder with a
 * `model.safetensors` holding the given tensors, opened with `openCheckpoint` as any checkpoint.
 *
 * @module
 */

import { join } from "node:path";
import type { Checkpoint } from "../../../src/checkpoint/checkpoint.ts";
import { openCheckpoint } from "../../../src/checkpoint/open_checkpoint.ts";

/** One tensor to store: its shape (values are `0, 0.01, 0.02, …`). */
export type TensorShapes = Record<string, readonly number[]>;

/** The bytes of a safetensors file holding `tensors` as F32. */
export function safetensorsBytes(tensors: TensorShapes): Uint8Array {
  const header: Record<string, unknown> = {};
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const count = shape.reduce((n, d) => n * d, 1);
    const values = Float32Array.from({ length: count }, (_, i) => i * 0.01);
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + values.byteLength] };
    chunks.push(values);
    offset += values.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const chunk of chunks) {
    out.set(new Uint8Array(chunk.buffer), at);
    at += chunk.byteLength;
  }
  return out;
}

/** Runs `fn` with a checkpoint of `tensors` in a temporary folder, removed afterwards. */
export async function withCheckpoint<T>(
  tensors: TensorShapes,
  fn: (checkpoint: Checkpoint) => T | Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-arch-" });
  try {
    await Deno.writeFile(join(dir, "model.safetensors"), safetensorsBytes(tensors));
    return await fn(await openCheckpoint(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
