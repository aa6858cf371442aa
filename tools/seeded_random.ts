/**
 * A small seeded pseudo-random generator (mulberry32) for the generators in tools/: the same
 * seed gives the same sequence on every machine, so generated models and datasets are
 * reproducible byte for byte.
 *
 * {@linkcode deriveSeed} turns a base seed and a name into an independent seed, so each weight
 * tensor or image has its own stream and adding one does not shift the others.
 *
 * @module
 */

/** The mulberry32 generator: 32-bit state, period 2^32. */
export class SeededRandom {
  #state: number;

  /** Starts the sequence of `seed` (any number; only its low 32 bits count). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next value as an unsigned 32-bit integer. */
  nextUint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** The next value, uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Fills `out` with values uniform in [-scale, scale); returns `out`. */
  fillUniform(out: Float32Array, scale: number): Float32Array {
    const factor = (2 * scale) / 4294967296;
    for (let i = 0; i < out.length; i++) out[i] = this.nextUint32() * factor - scale;
    return out;
  }
}

/** A seed for the stream named `name` under `seed` (FNV-1a of the name, mixed with the seed). */
export function deriveSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1);
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}
