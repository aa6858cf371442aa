/**
 * Deterministic test bytes: file contents that differ from seed to seed.
 *
 * @module
 */

/** `length` bytes, (seed * 31 + i * 7) mod 256. */
export function bytesOf(seed: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff);
}
