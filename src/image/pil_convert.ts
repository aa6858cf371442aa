/**
 * Pillow 9.4's pixel conversions to RGB that the decoders share.
 *
 * @module
 */

/**
 * Converts libjpeg's CMYK output to RGB as Pillow does for CMYK JPEGs: Pillow reads every
 * 4-channel JPEG with raw mode "CMYK;I" (Adobe's inverted storage, so each stored value is
 * 255 − ink), then `convert("RGB")` computes, per channel, `nk − round(ink × nk / 255)` with
 * `nk = 255 − K` and Pillow's integer rounding `MULDIV255(a, b) = ((t >> 8) + t) >> 8`,
 * `t = a × b + 128`.
 *
 * @param cmyk Interleaved C, M, Y, K bytes as libjpeg writes them (`4 × pixelCount` bytes).
 * @param pixelCount Number of pixels.
 * @returns Interleaved RGB bytes (`3 × pixelCount`).
 */
export function invertedCmykToRgb(cmyk: Uint8Array, pixelCount: number): Uint8Array {
  const rgb = new Uint8Array(pixelCount * 3);
  for (let i = 0, s = 0, o = 0; i < pixelCount; i++, s += 4, o += 3) {
    const nk = cmyk[s + 3]; // 255 - K, with K = 255 - stored value
    for (let c = 0; c < 3; c++) {
      const t = (255 - cmyk[s + c]) * nk + 128;
      rgb[o + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
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
