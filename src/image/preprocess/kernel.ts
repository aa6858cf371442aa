/**
 * The pixel work of image preprocessing as transformers' `CLIPImageProcessor` does it: resize
 * (Pillow, via {@linkcode resize}) → centre crop → rescale → normalise → channels-first float32,
 * bit for bit, with the settings `./config.ts` reads from a model's `preprocessor_config.json`.
 *
 * The arithmetic follows transformers' `image_transforms`: `rescale` multiplies the uint8 pixel,
 * converted to float64, by `rescale_factor` (a float64) and rounds the product to float32;
 * `normalize` then computes `(x - mean) / std` in float32 with `mean` and `std` rounded to
 * float32. Both depend only on the byte and the channel, so they are precomputed into a
 * 256-entry table per channel and the per-pixel work is a lookup.
 *
 * The resize is restricted to the part of the resized image that the crop keeps (see
 * {@linkcode ResizeWindow}), so a very elongated image is never resized in full.
 *
 * Images decoded in their Pillow mode ({@linkcode NativeImage}) are converted to RGB first, as
 * `CLIPImageProcessor` does, or — with the `"after_resize"` {@linkcode ConversionOrder} —
 * resized and cropped in their own mode and converted after, as open_clip's transform does.
 *
 * @module
 */

import { ModelError } from "../../errors.ts";
import { checkNativeImage, isNativeImage, type NativeImage } from "../native_image.ts";
import { toRgb, zeroPixelRgb } from "../pil_convert.ts";
import { resize } from "../resize.ts";
import { resizeNative } from "../resize_native.ts";
import type { RgbImage } from "../rgb_image.ts";
import {
  CHANNELS,
  checkConversionOrder,
  type CropRounding,
  parsePreprocessorSettings,
  type PreprocessorOptions,
  type PreprocessorSettings,
  type ResizeTarget,
} from "./config.ts";

/** Where a crop of one axis reads from and writes to. */
interface AxisPlacement {
  /** First resized-image index kept. */
  readonly sourceStart: number;
  /** First output index written (the zero padding before it). */
  readonly targetStart: number;
  /** Number of indices copied. */
  readonly length: number;
}

/**
 * CLIPImageProcessor-style preprocessing of {@linkcode RgbImage}s into channels-first float32
 * tensors of a fixed size.
 */
export class ImagePreprocessor {
  /** The validated settings. */
  readonly settings: PreprocessorSettings;
  /** Output channels (3). */
  readonly channels: number = CHANNELS;
  /** Output height in pixels. */
  readonly height: number;
  /** Output width in pixels. */
  readonly width: number;
  /** Floats written per image: `channels * height * width`. */
  readonly outputLength: number;
  /** Output value for each channel and byte: `table[channel * 256 + byte]`. */
  readonly #valueTable: Float32Array;

  /**
   * Creates an instance.
   *
   * @param settings Validated settings (use {@linkcode ImagePreprocessor.fromConfig} for JSON).
   * @throws {RangeError} When the output size would depend on the input image (no centre crop
   *   and no exact resize).
   */
  constructor(settings: PreprocessorSettings) {
    checkConversionOrder(settings.conversionOrder);
    this.settings = settings;
    if (settings.doCenterCrop) {
      this.height = settings.cropSize.height;
      this.width = settings.cropSize.width;
    } else if (settings.doResize && settings.size.kind === "exact") {
      this.height = settings.size.height;
      this.width = settings.size.width;
    } else {
      throw new RangeError(
        "the output size depends on each image (no centre crop and no {height, width} resize)",
      );
    }
    this.outputLength = CHANNELS * this.height * this.width;
    this.#valueTable = buildValueTable(settings);
  }

  /**
   * Builds a preprocessor from a parsed `preprocessor_config.json`. Keys the JSON leaves out take
   * the defaults of its image processor class (`image_processor_type`, else
   * `feature_extractor_type` with `FeatureExtractor` read as `ImageProcessor`, a `Fast` suffix
   * dropped, else `options.processorType`, else `CLIPImageProcessor`), as transformers does:
   *
   * - `CLIPImageProcessor`: resize shortest edge 224, bicubic, centre crop 224 × 224, rescale
   *   1/255, OpenAI CLIP mean and std.
   * - `ChineseCLIPImageProcessor`: the same defaults, but its resize always goes to
   *   `size.height` × `size.width` (aspect ratio ignored), so `size` must be given that way
   *   (transformers fails on a `shortest_edge` size).
   * - `SiglipImageProcessor`: resize to `size` {height, width} (default 224 × 224), bicubic, no
   *   centre crop (the class has none: `do_center_crop`/`crop_size` are ignored), rescale 1/255,
   *   mean and std 0.5.
   * - `JinaCLIPImageProcessor`: its own keys: `size` (224), `resize_mode` (`shortest`: shortest
   *   edge then centre crop to `size`; `squash`: `size` × `size`), `interpolation` (`bicubic`;
   *   `bilinear`), `mean`/`std` (OpenAI CLIP); always rescale 1/255 and normalise. Its
   *   `longest` mode (resize then pad) is not supported.
   * - any other class: every key that decides the output must be present.
   *
   * Keys a class does not use are ignored, as transformers ignores them.
   *
   * @param json The parsed JSON object.
   * @param options `cropRounding`, `conversionOrder` and the `source` file name for messages.
   * @throws {ModelError} When a key has a wrong type or value, naming the file and the key, or
   *   when the configuration gives no fixed output size.
   */
  static fromConfig(json: unknown, options: PreprocessorOptions): ImagePreprocessor {
    const source = options.source ?? "preprocessor_config.json";
    const settings = parsePreprocessorSettings(
      json,
      options.cropRounding,
      source,
      options.processorType ?? "CLIPImageProcessor",
    );
    const order = options.conversionOrder;
    checkConversionOrder(order);
    try {
      return new ImagePreprocessor(order ? { ...settings, conversionOrder: order } : settings);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new ModelError(
        `${source}: do_center_crop is false and "size" is not {height, width}, so ${error.message}`,
        { path: source, cause: error },
      );
    }
  }

  /**
   * Preprocesses one image and writes the channels-first (C, H, W) float32 tensor to
   * `out[offset .. offset + outputLength]`.
   *
   * Each value equals transformers' for the same settings: for a resized, cropped byte `v` of
   * channel `c`, `float32(float64(v) * rescale_factor)` when rescaling, then
   * `float32((x - float32(mean[c])) / float32(std[c]))` when normalising (zero padding from a
   * crop larger than the image is the byte 0 run through the same steps). open_clip's
   * `ToTensor` divides by 255 in float32 instead of multiplying by 1/255, which gives the same
   * float32 for every byte.
   *
   * A {@linkcode NativeImage} is converted to RGB before resizing, or after resizing and
   * cropping in its own mode, as `settings.conversionOrder` says.
   *
   * @param image The image: RGB, or in its Pillow mode (from `decodeNativeImage`).
   * @param out The destination (e.g. a reused batch buffer).
   * @param offset Index in `out` of the first value written.
   * @throws {RangeError} When the image is malformed (sizes, data length), `offset` is not an
   *   integer or `out` is too short.
   */
  process(image: RgbImage | NativeImage, out: Float32Array, offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + this.outputLength > out.length) {
      throw new RangeError(
        `offset ${offset} + ${this.outputLength} values does not fit in an output of length ${out.length}`,
      );
    }
    const settings = this.settings;
    if (isNativeImage(image) && settings.conversionOrder !== "after_resize") image = toRgb(image);
    if (isNativeImage(image)) checkNativeImage(image);
    else checkImage(image);
    let resizedWidth = image.width;
    let resizedHeight = image.height;
    if (settings.doResize) {
      [resizedHeight, resizedWidth] = resizedSize(image.width, image.height, settings.size);
    }
    const rounding = settings.cropRounding;
    const columns = settings.doCenterCrop
      ? cropPlacement(resizedWidth, settings.cropSize.width, rounding)
      : { sourceStart: 0, targetStart: 0, length: resizedWidth };
    const rows = settings.doCenterCrop
      ? cropPlacement(resizedHeight, settings.cropSize.height, rounding)
      : { sourceStart: 0, targetStart: 0, length: resizedHeight };

    // The kept pixels: either a window of the resized image or a part of the source itself.
    const window = {
      left: columns.sourceStart,
      top: rows.sourceStart,
      width: columns.length,
      height: rows.length,
    };
    let pixels: Uint8Array;
    let pixelsWidth = image.width;
    let firstColumn = columns.sourceStart;
    let firstRow = rows.sourceStart;
    let padding = [0, 0, 0];
    if (isNativeImage(image)) {
      // open_clip: resize (a copy at the same size) and crop in the image's mode, then convert.
      const kept = resizeNative(image, resizedWidth, resizedHeight, settings.resample, window);
      pixels = toRgb(kept).data;
      pixelsWidth = kept.width;
      firstColumn = 0;
      firstRow = 0;
      padding = zeroPixelRgb(image);
    } else if (settings.doResize) {
      const kept = resize(image, resizedWidth, resizedHeight, settings.resample, window);
      pixels = kept.data;
      pixelsWidth = kept.width;
      firstColumn = 0;
      firstRow = 0;
    } else {
      pixels = image.data;
    }

    const table = this.#valueTable;
    const width = this.width;
    const planeSize = this.height * width;
    if (columns.length !== width || rows.length !== this.height) {
      // Zero padding: the value of byte 0 in each channel (of a zero pixel of the image's
      // mode, converted to RGB, when converting after the crop).
      for (let c = 0; c < CHANNELS; c++) {
        const plane = offset + c * planeSize;
        out.fill(table[c * 256 + padding[c]], plane, plane + planeSize);
      }
    }
    for (let y = 0; y < rows.length; y++) {
      let o = offset + (rows.targetStart + y) * width + columns.targetStart;
      let p = ((firstRow + y) * pixelsWidth + firstColumn) * CHANNELS;
      const end = o + columns.length;
      while (o < end) {
        out[o] = table[pixels[p]];
        out[o + planeSize] = table[256 + pixels[p + 1]];
        out[o + 2 * planeSize] = table[512 + pixels[p + 2]];
        o++;
        p += CHANNELS;
      }
    }
  }
}

/** Throws a RangeError unless the image has positive integer sizes and matching data. */
function checkImage(image: RgbImage): void {
  const { width, height } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  if (image.data.length !== width * height * CHANNELS) {
    throw new RangeError(
      `image data length must be ${width * height * CHANNELS}, got ${image.data.length}`,
    );
  }
}

/**
 * The resized (height, width) for an image, as transformers' `get_resize_output_image_size`
 * with `default_to_square=False` for a shortest edge.
 */
function resizedSize(width: number, height: number, size: ResizeTarget): [number, number] {
  if (size.kind === "exact") return [size.height, size.width];
  const landscape = width > height;
  const short = landscape ? height : width;
  const long = landscape ? width : height;
  const newLong = Math.trunc(size.shortestEdge * long / short);
  return landscape ? [size.shortestEdge, newLong] : [newLong, size.shortestEdge];
}

/** Placement of a centre crop of `crop` indices on an axis of `size` indices. */
function cropPlacement(size: number, crop: number, rounding: CropRounding): AxisPlacement {
  if (crop <= size) {
    const margin = size - crop;
    let start = Math.floor(margin / 2);
    // Python's round(margin / 2) rounds an odd margin's k + 0.5 to the even one of k, k + 1.
    if (rounding === "round" && margin % 2 === 1 && start % 2 === 1) start += 1;
    return { sourceStart: start, targetStart: 0, length: crop };
  }
  const padding = crop - size;
  const before = rounding === "floor" ? Math.ceil(padding / 2) : Math.floor(padding / 2);
  return { sourceStart: 0, targetStart: before, length: size };
}

/** The 3 × 256 output values of every channel and byte (see {@linkcode ImagePreprocessor.process}). */
function buildValueTable(settings: PreprocessorSettings): Float32Array {
  const table = new Float32Array(CHANNELS * 256);
  for (let c = 0; c < CHANNELS; c++) {
    const mean = Math.fround(settings.imageMean[c]);
    const std = Math.fround(settings.imageStd[c]);
    for (let v = 0; v < 256; v++) {
      let x = settings.doRescale ? Math.fround(v * settings.rescaleFactor) : v;
      if (settings.doNormalize) x = Math.fround(Math.fround(x - mean) / std);
      table[c * 256 + v] = x;
    }
  }
  return table;
}
