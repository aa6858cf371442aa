/**
 * Pillow 9.4's mode conversions (`Image.convert`, libImaging/Convert.c) that the decoders and
 * the resampler need: every decoded mode to RGB ({@linkcode toRgb}), and the premultiplied
 * alpha round trip that `Image.resize` makes for "RGBA" and "LA" images.
 *
 * Pillow's integer rounding of a product of two bytes divided by 255 is
 * `MULDIV255(a, b) = ((t >> 8) + t) >> 8` with `t = a × b + 128`; it is used throughout.
 *
 * @module
 */

import { bandsOf, checkNativeImage, type NativeImage } from "./native_image.ts";
import type { RgbImage } from "./rgb_image.ts";

/**
 * Pillow's `convert("RGB")` of a decoded image: "1" and "L" are replicated, "P" is looked up in
 * the palette, "I" is clipped to 0..255, "LA" and "RGBA" lose their alpha (no compositing),
 * "CMYK" is converted per channel as `nk − MULDIV255(ink, nk)` with `nk = 255 − K`. An "RGB" image is returned with its own data (not copied).
 *
 * @param image The image in its Pillow mode.
 * @returns The RGB image.
 * @throws {RangeError} When the image is malformed (see `checkNativeImage`).
 */
export function toRgb(image: NativeImage): RgbImage {
  checkNativeImage(image);
  const { width, height } = image;
  const count = width * height;
  if (image.mode === "RGB") return { width, height, data: image.data };
  const rgb = new Uint8Array(count * 3);
  switch (image.mode) {
    case "1":
    case "L":
      greyToRgb(image.data, count, 1, rgb);
      break;
    case "LA":
      greyToRgb(image.data, count, 2, rgb);
      break;
    case "P": {
      const { data, palette } = image;
      for (let i = 0, o = 0; i < count; i++, o += 3) {
        const p = data[i] * 3;
        rgb[o] = palette[p];
        rgb[o + 1] = palette[p + 1];
        rgb[o + 2] = palette[p + 2];
      }
      break;
    }
    case "I": {
      const data = image.data;
      for (let i = 0, o = 0; i < count; i++, o += 3) {
        const v = data[i];
        rgb[o] = rgb[o + 1] = rgb[o + 2] = v <= 0 ? 0 : v >= 255 ? 255 : v;
      }
      break;
    }
    case "RGBA":
      rgbaToRgb(image.data, count, rgb);
      break;
    case "CMYK":
      convertCmyk(image.data, count, 0, rgb);
      break;
  }
  return { width, height, data: rgb };
}

/**
 * The RGB colour of a pixel whose samples are all zero in `image`'s mode: palette entry 0 for
 * "P", white for "CMYK" (no ink), black otherwise. This is what torchvision's `pad` with
 * `fill=0` adds around an image before open_clip converts it to RGB.
 *
 * @param image An image of the mode (and, for "P", the palette) in question.
 * @returns The colour as [R, G, B].
 */
export function zeroPixelRgb(image: NativeImage): [number, number, number] {
  const bands = bandsOf(image.mode);
  const pixel: NativeImage = image.mode === "I"
    ? { mode: "I", width: 1, height: 1, data: new Int32Array(1) }
    : image.mode === "P"
    ? { mode: "P", width: 1, height: 1, data: new Uint8Array(1), palette: image.palette }
    : { mode: image.mode, width: 1, height: 1, data: new Uint8Array(bands) };
  const [r, g, b] = toRgb(pixel).data;
  return [r, g, b];
}

/** Replicates the first sample of each `stride`-byte pixel into R, G and B. */
function greyToRgb(data: Uint8Array, count: number, stride: number, rgb: Uint8Array): void {
  for (let i = 0, s = 0, o = 0; i < count; i++, s += stride, o += 3) {
    rgb[o] = rgb[o + 1] = rgb[o + 2] = data[s];
  }
}

/**
 * Pillow's CMYK to RGB (`cmyk2rgb`): per channel `nk − MULDIV255(ink, nk)` with
 * `nk = 255 − K`. Samples are XORed with `flip` first: 0 for Pillow's values, 255 for
 * Adobe-inverted storage (255 − value).
 */
function convertCmyk(cmyk: Uint8Array, count: number, flip: number, rgb: Uint8Array): void {
  for (let i = 0, s = 0, o = 0; i < count; i++, s += 4, o += 3) {
    const nk = 255 - (cmyk[s + 3] ^ flip);
    for (let c = 0; c < 3; c++) {
      const t = (cmyk[s + c] ^ flip) * nk + 128;
      rgb[o + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
}

/**
 * Converts libjpeg's CMYK output to RGB as Pillow does for CMYK JPEGs: Pillow reads every
 * 4-channel JPEG with raw mode "CMYK;I" (Adobe's inverted storage, so each stored value is
 * 255 − ink), then converts as {@linkcode toRgb} converts a "CMYK" image.
 *
 * @param cmyk Interleaved C, M, Y, K bytes as libjpeg writes them (`4 × pixelCount` bytes).
 * @param pixelCount Number of pixels.
 * @returns Interleaved RGB bytes (`3 × pixelCount`).
 */
export function invertedCmykToRgb(cmyk: Uint8Array, pixelCount: number): Uint8Array {
  const rgb = new Uint8Array(pixelCount * 3);
  convertCmyk(cmyk, pixelCount, 255, rgb);
  return rgb;
}

/**
 * Drops the alpha channel of interleaved RGBA, as Pillow's `convert("RGB")` does (no
 * compositing).
 *
 * @param rgba Interleaved R, G, B, A bytes.
 * @param pixelCount Number of pixels.
 * @param out Destination for `3 × pixelCount` bytes starting at `outOffset`; rows of
 *   `rowPixels` pixels are written `outRowStride` bytes apart (for pasting into a larger image).
 */
export function rgbaToRgb(
  rgba: Uint8Array | Uint8ClampedArray,
  pixelCount: number,
  out: Uint8Array,
  outOffset = 0,
  rowPixels = pixelCount,
  outRowStride = rowPixels * 3,
): void {
  for (let i = 0, s = 0; i < pixelCount; i += rowPixels) {
    let o = outOffset + (i / rowPixels) * outRowStride;
    const rowEnd = s + rowPixels * 4;
    for (; s < rowEnd; s += 4, o += 3) {
      out[o] = rgba[s];
      out[o + 1] = rgba[s + 1];
      out[o + 2] = rgba[s + 2];
    }
  }
}

/**
 * Premultiplies colour by alpha as Pillow's `convert("RGBa")` of an "RGBA" image and
 * `convert("La")` of an "LA" image do: each colour sample becomes `MULDIV255(value, alpha)`,
 * the alpha is kept.
 *
 * @param samples Interleaved pixels whose last sample is the alpha.
 * @param bands Samples per pixel: 4 (RGBA) or 2 (LA).
 * @returns A new array with the premultiplied pixels.
 */
export function premultiplyAlpha(samples: Uint8Array, bands: 2 | 4): Uint8Array {
  const out = new Uint8Array(samples.length);
  const colours = bands - 1;
  for (let s = 0; s < samples.length; s += bands) {
    const alpha = samples[s + colours];
    for (let c = 0; c < colours; c++) {
      const t = samples[s + c] * alpha + 128;
      out[s + c] = ((t >> 8) + t) >> 8;
    }
    out[s + colours] = alpha;
  }
  return out;
}

/**
 * Undoes {@linkcode premultiplyAlpha} in place as Pillow's `convert("RGBA")` of an "RGBa" image
 * and `convert("LA")` of an "La" image do: where the alpha is 0 or 255 the colour is kept,
 * otherwise it becomes `min(255, floor(255 × value / alpha))` (truncating, not rounding).
 *
 * @param samples Interleaved premultiplied pixels whose last sample is the alpha; modified.
 * @param bands Samples per pixel: 4 (RGBa) or 2 (La).
 */
export function unpremultiplyAlpha(samples: Uint8Array, bands: 2 | 4): void {
  const colours = bands - 1;
  for (let s = 0; s < samples.length; s += bands) {
    const alpha = samples[s + colours];
    if (alpha === 0 || alpha === 255) continue;
    for (let c = 0; c < colours; c++) {
      const value = ((255 * samples[s + c]) / alpha) | 0;
      samples[s + c] = value > 255 ? 255 : value;
    }
  }
}
