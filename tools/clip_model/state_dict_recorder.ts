/**
 * Records the weights a graph builder reads, as the PyTorch state dict they came from: wrapped
 * around the generator's {@linkcode SeededWeights}, it hands each weight to the graph unchanged
 * and keeps it under its transformers name in transformers' layout (a `Linear`'s `[in, out]`
 * graph weight transposed back to `[out, in]`, the class embedding as `[width]`). The model
 * generator writes what it recorded as `model.safetensors`, so a generated checkpoint and a
 * generated ONNX model of the same seed hold the same weights.
 *
 * @module
 */

import { transpose } from "../../src/convert/graph/checkpoint_weights.ts";
import type { WeightRole, WeightSource } from "../../src/convert/graph/weights.ts";

/** One recorded tensor, in transformers' layout. */
export interface RecordedTensor {
  /** Its state-dict name. */
  readonly name: string;
  /** Its stored shape. */
  readonly shape: readonly number[];
  /** Its values, row-major. */
  readonly values: Float32Array;
}

/** A weight source that records what it hands out. */
export class StateDictRecorder implements WeightSource {
  readonly #source: WeightSource;
  readonly #tensors = new Map<string, RecordedTensor>();

  /** Records the weights `source` gives. */
  constructor(source: WeightSource) {
    this.#source = source;
  }

  /** The weight from the wrapped source, recorded in transformers' layout. */
  read(name: string, dims: readonly number[], role: WeightRole): Float32Array {
    const values = this.#source.read(name, dims, role);
    if (role === "linear") {
      const [inDim, outDim] = dims;
      this.#tensors.set(name, {
        name,
        shape: [outDim, inDim],
        values: transpose(values, inDim, outDim),
      });
    } else {
      // transformers stores the class embedding as [width]; the graph adds two unit axes.
      const shape = role === "embedding" && dims.length === 3 && dims[0] === 1 && dims[1] === 1
        ? [dims[2]]
        : [...dims];
      this.#tensors.set(name, { name, shape, values });
    }
    return values;
  }

  /** Whether the wrapped source has `name`. */
  has(name: string): boolean {
    return this.#source.has(name);
  }

  /** Adds a tensor no graph reads (e.g. `logit_scale`). */
  add(name: string, shape: readonly number[], values: Float32Array): void {
    this.#tensors.set(name, { name, shape, values });
  }

  /** The recorded tensors, in the order they were first read. */
  tensors(): RecordedTensor[] {
    return [...this.#tensors.values()];
  }
}
