/**
 * What the converter's tests share: tiny transformers tower configs, the tensor shapes of
 * CLIP-named encoder layers, checkpoints written as `model.safetensors` (with the one writer,
 * tools/checkpoint/safetensors_writer.ts) and opened like any checkpoint, and running a built
 * graph in onnxruntime.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Checkpoint } from "../../src/checkpoint/checkpoint.ts";
import { openCheckpoint } from "../../src/checkpoint/open_checkpoint.ts";
import { encodeModel, type GraphBuilder } from "../../src/onnx/builder.ts";
import { safetensorsBytes, type TensorToWrite } from "../../tools/checkpoint/safetensors_writer.ts";

/** Width of the tiny towers. */
export const TINY_WIDTH = 8;
/** MLP hidden size of the tiny towers. */
export const TINY_INTERMEDIATE = 16;

/**
 * A tiny tower's sizes as transformers' configs name them: {@linkcode TINY_WIDTH} wide, 2 heads,
 * an MLP of {@linkcode TINY_INTERMEDIATE}, `layers` layers.
 */
export function tinyTowerConfig(layers = 1): Record<string, number> {
  return {
    hidden_size: TINY_WIDTH,
    intermediate_size: TINY_INTERMEDIATE,
    num_hidden_layers: layers,
    num_attention_heads: 2,
  };
}

/** Stored tensors by name: each one's shape. */
export type TensorShapes = Record<string, readonly number[]>;

/** A `Linear`'s weight `[out, in]` and bias `[out]`. */
export function linearShapes(name: string, out: number, inDim: number): TensorShapes {
  return { [`${name}.weight`]: [out, inDim], [`${name}.bias`]: [out] };
}

/** A `LayerNorm`'s weight and bias. */
export function normShapes(name: string, width = TINY_WIDTH): TensorShapes {
  return { [`${name}.weight`]: [width], [`${name}.bias`]: [width] };
}

/** An MLP's `fc1` and `fc2`. */
export function mlpShapes(
  name: string,
  width = TINY_WIDTH,
  intermediate = TINY_INTERMEDIATE,
): TensorShapes {
  return {
    ...linearShapes(`${name}.fc1`, intermediate, width),
    ...linearShapes(`${name}.fc2`, width, intermediate),
  };
}

/**
 * The tensors of `layers` pre-LayerNorm encoder layers under `<prefix>.encoder.layers.<i>`, by
 * the names of transformers' CLIP and SigLIP encoders.
 */
export function clipEncoderShapes(
  prefix: string,
  layers = 1,
  width = TINY_WIDTH,
  intermediate = TINY_INTERMEDIATE,
): TensorShapes {
  let shapes: TensorShapes = {};
  for (let i = 0; i < layers; i++) {
    const layer = `${prefix}.encoder.layers.${i}`;
    for (const part of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      shapes = { ...shapes, ...linearShapes(`${layer}.self_attn.${part}`, width, width) };
    }
    shapes = {
      ...shapes,
      ...normShapes(`${layer}.layer_norm1`, width),
      ...normShapes(`${layer}.layer_norm2`, width),
      ...mlpShapes(`${layer}.mlp`, width, intermediate),
    };
  }
  return shapes;
}

/** `0, 0.01, 0.02, …`: the default values of a stored tensor. */
function rampValues(_name: string, count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => i * 0.01);
}

/**
 * The tensors of `shapes` to write, in their order, each filled by `values(name, count, index)`
 * (default: `0, 0.01, 0.02, …`).
 */
export function tensorsOf(
  shapes: TensorShapes,
  values: (name: string, count: number, index: number) => Float32Array = rampValues,
): TensorToWrite[] {
  return Object.entries(shapes).map(([name, shape], index) => ({
    name,
    shape,
    fill: (out) => out.set(values(name, out.length, index)),
  }));
}

/**
 * Runs `fn` with the checkpoint of `tensors` (shapes with {@linkcode tensorsOf}' default values,
 * or tensors to write) stored as `model.safetensors` in a temporary folder, removed afterwards.
 */
export async function withCheckpoint<T>(
  tensors: TensorShapes | readonly TensorToWrite[],
  fn: (checkpoint: Checkpoint, folder: string) => T | Promise<T>,
): Promise<T> {
  const list = Array.isArray(tensors) ? tensors : tensorsOf(tensors as TensorShapes);
  const folder = await Deno.makeTempDir({ prefix: "clipbench-convert-" });
  try {
    await Deno.writeFile(join(folder, "model.safetensors"), safetensorsBytes(list));
    return await fn(await openCheckpoint(folder), folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/**
 * Runs a graph once on `feeds` (each input the graph takes must be there; others are left out)
 * and returns its single float32 output.
 */
export async function runGraph(
  graph: GraphBuilder,
  feeds: Record<string, ort.Tensor>,
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(encodeModel(graph).model);
  try {
    const inputs = Object.fromEntries(
      session.inputNames.map((name) => {
        const feed = feeds[name];
        assert.ok(feed, `the graph takes ${name}, which the feeds do not have`);
        return [name, feed];
      }),
    );
    const outputs = await session.run(inputs);
    const output = outputs[session.outputNames[0]];
    return { data: output.data as Float32Array, dims: output.dims };
  } finally {
    await session.release();
  }
}

/** An int64 `[rows.length, columns]` tensor (ids, masks). */
export function int64Rows(rows: readonly number[][]): ort.Tensor {
  return new ort.Tensor("int64", BigInt64Array.from(rows.flat(), BigInt), [
    rows.length,
    rows[0].length,
  ]);
}

/** The largest absolute difference between two equally long arrays. */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i])), 0);
}
