/**
 * The in-memory image type shared by the decoders, the resampler and the preprocessor.
 *
 * @module
 */

/** An 8-bit RGB image: row-major, 3 bytes per pixel (R, G, B), no padding between rows. */
export interface RgbImage {
  /** Width in pixels (≥ 1). */
  readonly width: number;
  /** Height in pixels (≥ 1). */
  readonly height: number;
  /** `width * height * 3` bytes. */
  readonly data: Uint8Array;
}
