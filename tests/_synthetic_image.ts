/**
 * The deterministic test images behind the resize and preprocess vectors.
 *
 * `tools/vectors/make_resize_vectors.py` (`synthetic_image`) computes the same pixels with
 * numpy, so the vectors store only each input's width, height and seed. A pixel is a triangle
 * wave gradient over x, y and channel plus ±8 of hash noise, with about 8 % of the samples
 * forced to 0 and another 8 % to 255, so that bicubic and Lanczos overshoot is clipped often.
 *
 * @module
 */

import type { RgbImage } from "../src/image/rgb_image.ts";

/** 32-bit hash of a sample position (all arithmetic modulo 2^32, as in the Python generator). */
export function sampleHash(x: number, y: number, channel: number, seed: number): number {
  let h = (Math.imul(x, 374761393) + Math.imul(y, 668265263) + Math.imul(channel, 0x8604_2597) +
    Math.imul(seed, 0xc2b2_ae3d)) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** One sample of the synthetic image of size `width` × `height` with the given seed. */
export function syntheticSample(
  x: number,
  y: number,
  channel: number,
  width: number,
  height: number,
  seed: number,
): number {
  const h = sampleHash(x, y, channel, seed);
  const spike = h & 255;
  if (spike < 20) return 0;
  if (spike < 40) return 255;
  const phase = (Math.floor((x * 510) / Math.max(width - 1, 1)) +
    Math.floor((y * 255) / Math.max(height - 1, 1)) + channel * 170) % 510;
  const gradient = phase <= 255 ? phase : 510 - phase;
  const value = gradient + ((h >>> 8) & 15) - 8;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/** The whole synthetic RGB image of size `width` × `height` with the given seed. */
export function syntheticImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[i++] = syntheticSample(x, y, c, width, height, seed);
    }
  }
  return { width, height, data };
}
