/**
 * A seeded pseudo-random generator for resampling: xoshiro128** 1.1 (Blackman and Vigna,
 * "Scrambled linear pseudorandom number generators", 2018; reference C code at
 * https://prng.di.unimi.it/xoshiro128starstar.c), 128 bits of state, period 2¹²⁸ − 1, all in
 * 32-bit integer arithmetic (`Math.imul`), so it is fast in JavaScript and its stream is the same
 * on every platform.
 *
 * **Seeding.** The seed (an integer 0…2⁵³ − 1) is the state of a SplitMix64 generator (Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators", 2014, as Vigna recommends for
 * seeding xoshiro); its first two 64-bit outputs, each split low 32 bits first, are the four state
 * words. SplitMix64 never gives two zero outputs in a row, so the state is never all zero.
 *
 * **Integers below n.** {@linkcode Xoshiro128StarStar.nextBelow} draws 32-bit words and rejects
 * those at or above the largest multiple of n below 2³², then takes the remainder: unbiased,
 * and one draw per integer except with probability below n / 2³².
 *
 * tools/vectors/make_stats_vectors.py implements the same generator in Python; the test compares
 * the two streams.
 *
 * @module
 */

const MASK64 = (1n << 64n) - 1n;

/** SplitMix64: the seeding generator. */
export class SplitMix64 {
  #state: bigint;

  /** @param seed Initial state, an integer 0…2⁵³ − 1 (or any 64-bit bigint). */
  constructor(seed: number | bigint) {
    this.#state = BigInt.asUintN(64, BigInt(seed));
  }

  /** The next 64-bit output. */
  next(): bigint {
    this.#state = (this.#state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.#state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
}

function rotateLeft(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** xoshiro128**: 32-bit outputs from 128 bits of state. */
export class Xoshiro128StarStar {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  /** The seed this generator started from. */
  readonly seed: number;

  /**
   * @param seed An integer 0…2⁵³ − 1, expanded to the state by {@linkcode SplitMix64}.
   * @throws {RangeError} for any other seed.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`the seed must be an integer from 0 to 2^53 - 1, got ${seed}`);
    }
    this.seed = seed;
    const splitMix = new SplitMix64(seed);
    const first = splitMix.next();
    const second = splitMix.next();
    this.#s0 = Number(first & 0xffffffffn) | 0;
    this.#s1 = Number(first >> 32n) | 0;
    this.#s2 = Number(second & 0xffffffffn) | 0;
    this.#s3 = Number(second >> 32n) | 0;
  }

  /** The next output, an unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotateLeft(this.#s3, 11);
    return result;
  }

  /**
   * A uniformly distributed integer in 0…n − 1 (rejection sampling, no modulo bias).
   *
   * @throws {RangeError} unless 1 ≤ n ≤ 2³².
   */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
      throw new RangeError(`the bound must be an integer from 1 to 2^32, got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const word = this.nextUint32();
      if (word < limit) return word % n;
    }
  }
}
