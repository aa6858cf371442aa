/**
 * A {@linkcode WeightSource} over a {@linkcode Checkpoint}: each weight the graph asks for by
 * transformers' parameter name is found in the checkpoint (directly, or through a resolver that
 * renames and slices, as open_clip's layout needs), checked against the shape the graph expects,
 * and laid out for the graph (a `Linear`'s `[out, in]` weight transposed to `[in, out]`).
 *
 * @module
 */

import { type Checkpoint, CheckpointError } from "../../checkpoint/checkpoint.ts";
import type { WeightRole, WeightSource } from "./weights.ts";

/** Where a graph weight is stored in the checkpoint. */
export interface StoredWeight {
  /** The stored tensor's name. */
  readonly name: string;
  /** Only rows `[start, end)` of the stored tensor's first axis (a fused q/k/v projection). */
  readonly rows?: readonly [number, number];
  /** A `linear` weight stored `[in, out]` already (open_clip's projections), not `[out, in]`. */
  readonly inOut?: boolean;
}

/** Maps a graph weight name to where it is stored, or `undefined` when it is not. */
export type WeightResolver = (name: string) => StoredWeight | undefined;

/** Weights read from a checkpoint. */
export class CheckpointWeights implements WeightSource {
  readonly #checkpoint: Checkpoint;
  readonly #resolve: WeightResolver;
  readonly #used = new Set<string>();

  /**
   * Reads weights from `checkpoint`; `resolve` maps graph names to stored ones (default: the
   * same name).
   */
  constructor(checkpoint: Checkpoint, resolve: WeightResolver = (name) => ({ name })) {
    this.#checkpoint = checkpoint;
    this.#resolve = resolve;
  }

  /** Whether the graph weight `name` is stored. */
  has(name: string): boolean {
    const stored = this.#resolve(name);
    return stored !== undefined && this.#checkpoint.get(stored.name) !== undefined;
  }

  /**
   * The graph weight `name` laid out as `dims`.
   *
   * @throws {CheckpointError} naming the tensor when it is missing or its shape does not fit.
   */
  read(name: string, dims: readonly number[], role: WeightRole): Float32Array {
    const stored = this.#resolve(name);
    const tensor = stored === undefined ? undefined : this.#checkpoint.get(stored.name);
    const file = this.#checkpoint.files.join(", ");
    if (stored === undefined || tensor === undefined) {
      const storedName = stored === undefined || stored.name === name ? "" : ` (${stored.name})`;
      throw new CheckpointError(`${file}: no tensor ${name}${storedName}`, {
        path: this.#checkpoint.files[0],
        tensor: stored?.name ?? name,
      });
    }
    this.#used.add(tensor.name);
    let shape = [...tensor.shape];
    let values = tensor.float32();
    if (stored.rows !== undefined) {
      const [start, end] = stored.rows;
      const rowSize = shape.slice(1).reduce((n, d) => n * d, 1);
      if (shape.length === 0 || end > shape[0] || start < 0 || start >= end) {
        throw this.#shapeError(tensor.name, tensor.shape, `rows ${start}..${end}`);
      }
      values = values.subarray(start * rowSize, end * rowSize);
      shape = [end - start, ...shape.slice(1)];
    }
    if (role === "linear") {
      const [inDim, outDim] = dims;
      const expected = stored.inOut ? [inDim, outDim] : [outDim, inDim];
      if (shape.length !== 2 || shape[0] !== expected[0] || shape[1] !== expected[1]) {
        throw this.#shapeError(tensor.name, shape, `[${expected.join(", ")}]`);
      }
      return stored.inOut ? values : transpose(values, outDim, inDim);
    }
    if (!sameShapeIgnoringOnes(shape, dims)) {
      throw this.#shapeError(tensor.name, shape, `[${dims.join(", ")}]`);
    }
    return values;
  }

  /** Stored tensors no graph weight has read so far (a conversion that leaves weights unused). */
  unused(): string[] {
    return this.#checkpoint.names().filter((name) => !this.#used.has(name));
  }

  #shapeError(tensor: string, shape: readonly number[], expected: string): CheckpointError {
    return new CheckpointError(
      `${this.#checkpoint.files.join(", ")}: tensor ${tensor} has shape [${shape.join(", ")}], ` +
        `expected ${expected}`,
      { path: this.#checkpoint.files[0], tensor },
    );
  }
}

/** Whether two shapes hold the same axes once axes of size 1 are dropped (`[1, 1, w]` ~ `[w]`). */
function sameShapeIgnoringOnes(a: readonly number[], b: readonly number[]): boolean {
  const x = a.filter((d) => d !== 1);
  const y = b.filter((d) => d !== 1);
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/** The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix, in cache-sized blocks. */
export function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const block = 64;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(r0 + block, rows);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(c0 + block, cols);
      for (let r = r0; r < r1; r++) {
        const from = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = values[from + c];
      }
    }
  }
  return out;
}
