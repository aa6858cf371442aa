/**
 * Pillow 9.4's `Image.resize(size, resample)` for an image in its decoded mode, mode rules
 * included (see Pillow's `Image.resize`):
 *
 * - the same size gives a copy, whatever the filter (no resampling, no premultiplication);
 * - "1" and "P" are always resized with NEAREST, whatever filter is asked for (palette indices
 *   cannot be averaged);
 * - "LA" and "RGBA" with any other filter than NEAREST are premultiplied ("La" / "RGBa", with
 *   Pillow's integer rounding), resampled band by band, and un-premultiplied with Pillow's
 *   truncating rule ({@linkcode premultiplyAlpha}, {@linkcode unpremultiplyAlpha});
 * - "L", "RGB", "CMYK" (and "LA"/"RGBA" with NEAREST) are resampled band by band in 8 bits;
 * - "I" is resampled in Pillow's 32-bit path (double-precision weights, rounded sums, no
 *   clipping).
 *
 * @module
 */

import type { NativeImage } from "./native_image.ts";
import { bandsOf, checkNativeImage } from "./native_image.ts";
import { premultiplyAlpha, unpremultiplyAlpha } from "./pil_convert.ts";
import { ResampleFilter, resizeSamples, type ResizeWindow } from "./resize.ts";

/**
 * Resizes an image in its Pillow mode exactly as Pillow 9.4's
 * `image.resize((width, height), filter)` does (see the module documentation for the mode
 * rules).
 *
 * @param image The source image.
 * @param width Output width in pixels (≥ 1).
 * @param height Output height in pixels (≥ 1).
 * @param filter Pillow filter number (see {@linkcode ResampleFilter}); "1" and "P" images use
 *   NEAREST whatever it is.
 * @param window If given, only this rectangle of the resized image is computed and returned;
 *   the result equals cropping the full result to it.
 * @returns A new image of the same mode (and palette) and of the window's size.
 * @throws {RangeError} When the image is malformed, or a size, the filter or the window is
 *   invalid.
 */
export function resizeNative(
  image: NativeImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  window?: ResizeWindow,
): NativeImage {
  checkNativeImage(image);
  if (!Number.isInteger(filter) || filter < 0 || filter > 5) {
    throw new RangeError(`filter must be an integer in 0..5, got ${filter}`);
  }
  const mode = image.mode;
  const bands = bandsOf(mode);
  const sameSize = width === image.width && height === image.height;
  const effectiveFilter = mode === "1" || mode === "P" ? ResampleFilter.NEAREST : filter;
  const premultiply = (mode === "LA" || mode === "RGBA") && !sameSize &&
    effectiveFilter !== ResampleFilter.NEAREST;
  const alphaBands = bands as 2 | 4;
  const source = premultiply ? premultiplyAlpha(image.data as Uint8Array, alphaBands) : image.data;
  const resized = resizeSamples(
    { width: image.width, height: image.height, bands, data: source },
    width,
    height,
    effectiveFilter,
    window,
  );
  const size = { width: resized.width, height: resized.height };
  if (image.mode === "I") return { mode: "I", ...size, data: resized.data as Int32Array };
  const data = resized.data as Uint8Array;
  if (premultiply) unpremultiplyAlpha(data, alphaBands);
  if (image.mode === "P") return { mode: "P", ...size, data, palette: image.palette };
  return { mode: image.mode, ...size, data };
}
