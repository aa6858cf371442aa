/**
 * Images in the Pillow mode their file decodes to, before any conversion to RGB: what
 * `Image.open(f)` holds in Pillow 9.4 for the formats clipbench reads.
 *
 * open_clip's transform resizes and crops in this mode and converts to RGB afterwards, so the
 * mode decides how an image is resampled (see `resize_native.ts`); `toRgb` in
 * `pil_convert.ts` is Pillow's `convert("RGB")` of these images.
 *
 * @module
 */

/**
 * The Pillow modes that Pillow 9.4 opens PNG, JPEG, GIF and WebP files in:
 *
 * - `"1"`: 1-bit greyscale PNG, one byte per pixel holding 0 or 255 (Pillow's storage);
 * - `"L"`: 8-bit greyscale (PNG of 2, 4 or 8 bits, scaled to 0..255; greyscale JPEG; GIF without
 *   a colour table, whose indices are grey levels);
 * - `"P"`: palette indices (PNG of 1–8 bits, GIF), with a 256-entry palette;
 * - `"I"`: 32-bit signed integers (16-bit greyscale PNG, values 0..65535);
 * - `"LA"`: greyscale and alpha (8-bit greyscale+alpha PNG);
 * - `"RGB"`: colour PNG of 8 or 16 bits (the high byte), YCbCr or RGB JPEG, WebP without alpha;
 * - `"RGBA"`: PNG with alpha (16-bit greyscale+alpha PNG too: Pillow opens it as RGBA with
 *   R = G = B), WebP with alpha;
 * - `"CMYK"`: 4-component JPEG, with Pillow's values (ink amounts, 255 = full ink).
 *
 * Pillow 9.4 opens none of these formats as "I;16", "PA", "RGBX" or "YCbCr".
 */
export type PillowMode = "1" | "L" | "P" | "I" | "LA" | "RGB" | "RGBA" | "CMYK";

/** An image whose samples are bytes: every mode but "P" and "I". */
export interface ByteSampleImage {
  /** The Pillow mode. */
  readonly mode: "1" | "L" | "LA" | "RGB" | "RGBA" | "CMYK";
  /** Width in pixels (≥ 1). */
  readonly width: number;
  /** Height in pixels (≥ 1). */
  readonly height: number;
  /**
   * Row-major pixels of {@linkcode bandsOf}`(mode)` interleaved bytes each, in the order of the
   * mode's name (L, A; R, G, B, A; C, M, Y, K), no padding between rows.
   */
  readonly data: Uint8Array;
}

/** A palette ("P") image: one index byte per pixel and the palette they select from. */
export interface PaletteImage {
  /** The Pillow mode, "P". */
  readonly mode: "P";
  /** Width in pixels (≥ 1). */
  readonly width: number;
  /** Height in pixels (≥ 1). */
  readonly height: number;
  /** Row-major palette indices, one byte per pixel. */
  readonly data: Uint8Array;
  /**
   * The colours of all 256 indices as R, G, B bytes (768 bytes): the file's colour table over
   * a grey ramp (entry i = (i, i, i) where the table has no entry i), as Pillow's palette is.
   */
  readonly palette: Uint8Array;
}

/** A 32-bit integer ("I") image. */
export interface Int32SampleImage {
  /** The Pillow mode, "I". */
  readonly mode: "I";
  /** Width in pixels (≥ 1). */
  readonly width: number;
  /** Height in pixels (≥ 1). */
  readonly height: number;
  /** Row-major samples, one per pixel. */
  readonly data: Int32Array;
}

/** A decoded image in its Pillow mode (see {@linkcode PillowMode}). */
export type NativeImage = ByteSampleImage | PaletteImage | Int32SampleImage;

/** Samples per pixel of each mode. */
const BANDS: Readonly<Record<PillowMode, number>> = {
  "1": 1,
  L: 1,
  P: 1,
  I: 1,
  LA: 2,
  RGB: 3,
  RGBA: 4,
  CMYK: 4,
};

/**
 * Samples per pixel of a mode (Pillow's number of bands).
 *
 * @param mode A Pillow mode.
 * @returns 1, 2, 3 or 4.
 */
export function bandsOf(mode: PillowMode): number {
  return BANDS[mode];
}

/**
 * Whether `image` is a {@linkcode NativeImage} (it has a `mode`) rather than a plain RGB image.
 *
 * @param image Any image object.
 * @returns True when it carries a Pillow mode.
 */
export function isNativeImage(image: object): image is NativeImage {
  return "mode" in image;
}

/**
 * Throws unless `image` is well formed: a known mode, positive integer sizes, a data array of
 * the right type and length, and a 768-byte palette for "P".
 *
 * @param image The image to check.
 * @throws {RangeError} Naming what is wrong.
 */
export function checkNativeImage(image: NativeImage): void {
  const { mode, width, height } = image;
  const bands = BANDS[mode];
  if (bands === undefined) throw new RangeError(`unknown Pillow mode ${JSON.stringify(mode)}`);
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  const wantInt32 = mode === "I";
  if (wantInt32 !== (image.data instanceof Int32Array)) {
    throw new RangeError(`mode ${mode} needs ${wantInt32 ? "an Int32Array" : "a Uint8Array"}`);
  }
  if (image.data.length !== width * height * bands) {
    throw new RangeError(
      `mode ${mode} image data length must be ${width * height * bands}, got ${image.data.length}`,
    );
  }
  if (image.mode === "P" && image.palette?.length !== 768) {
    throw new RangeError(`a mode P palette must have 768 bytes, got ${image.palette?.length}`);
  }
}
