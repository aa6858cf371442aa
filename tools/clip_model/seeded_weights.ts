/**
 * The model generator's weights: uniform values from a seeded stream per tensor,
 * {@linkcode deriveSeed}(seed, name), so each weight depends only on the seed and its name.
 * Linears are scaled by 1/√fan-in (so each layer keeps activations near unit size), patch
 * kernels by 1/√(channels·patch²), embeddings and biases are small, LayerNorm scales near 1.
 *
 * @module
 */

import type { WeightRole, WeightSource } from "../../src/convert/graph/weights.ts";
import { deriveSeed, SeededRandom } from "../seeded_random.ts";

/** Bias and embedding scale. */
const SMALL = 0.02;

/** Seeded random weights of every name and shape asked for. */
export class SeededWeights implements WeightSource {
  readonly #seed: number;

  /** Weights drawn from `seed`. */
  constructor(seed: number) {
    this.#seed = seed;
  }

  /** Uniform values for `name`, scaled by `role` (see the module doc). */
  read(name: string, dims: readonly number[], role: WeightRole): Float32Array {
    const values = new Float32Array(dims.reduce((n, d) => n * d, 1));
    const random = new SeededRandom(deriveSeed(this.#seed, name));
    switch (role) {
      case "linear":
        random.fillUniform(values, 1 / Math.sqrt(dims[0]));
        break;
      case "patch_kernel":
        random.fillUniform(values, 1 / Math.sqrt(dims[1] * dims[2] * dims[3]));
        break;
      case "norm_scale":
        random.fillUniform(values, 0.1);
        for (let i = 0; i < values.length; i++) values[i] += 1;
        break;
      default:
        random.fillUniform(values, SMALL);
    }
    return values;
  }

  /** Every weight exists. */
  has(_name: string): boolean {
    return true;
  }
}
