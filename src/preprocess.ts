/**
 * Image preprocessing as transformers' `CLIPImageProcessor` does it, driven by a model's
 * `preprocessor_config.json`: resize (Pillow, via {@linkcode resize}) → centre crop → rescale →
 * normalise → channels-first float32, bit for bit.
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
 * @module
 */

import { ModelError } from "./errors.ts";
import { ResampleFilter, resize } from "./image/resize.ts";
import type { RgbImage } from "./image/rgb_image.ts";

/**
 * How a centre crop places itself when the margin `size - crop` is odd.
 *
 * - `"floor"`: transformers' `center_crop`: offset `(size - crop) // 2`; when the crop is larger
 *   than the image, the image is padded with zeros, `ceil((crop - size) / 2)` before it.
 * - `"round"`: open_clip / torchvision's `CenterCrop`: offset `int(round((size - crop) / 2))`
 *   with Python's round-half-to-even; when the crop is larger, zero padding of
 *   `(crop - size) // 2` before the image.
 */
export type CropRounding = "floor" | "round";

/** The target of the resize step. */
export type ResizeTarget =
  /** Scale so the shorter side is `shortestEdge`, the longer `int(shortestEdge * long / short)`. */
  | { readonly kind: "shortestEdge"; readonly shortestEdge: number }
  /** Resize to exactly `height` × `width`, ignoring the aspect ratio. */
  | { readonly kind: "exact"; readonly height: number; readonly width: number };

/** A complete, validated preprocessing configuration (camel-cased `preprocessor_config.json`). */
export interface PreprocessorSettings {
  /** Whether to resize (`do_resize`). */
  readonly doResize: boolean;
  /** Resize target (`size`). */
  readonly size: ResizeTarget;
  /** Pillow resampling filter (`resample`). */
  readonly resample: ResampleFilter;
  /** Whether to centre-crop (`do_center_crop`). */
  readonly doCenterCrop: boolean;
  /** Crop size (`crop_size`). */
  readonly cropSize: { readonly height: number; readonly width: number };
  /** Placement of the crop on odd margins (not in the JSON; see {@linkcode CropRounding}). */
  readonly cropRounding: CropRounding;
  /** Whether to multiply by `rescaleFactor` (`do_rescale`). */
  readonly doRescale: boolean;
  /** Factor applied to the 0..255 pixel values (`rescale_factor`). */
  readonly rescaleFactor: number;
  /** Whether to normalise with `imageMean` / `imageStd` (`do_normalize`). */
  readonly doNormalize: boolean;
  /** Per-channel mean, R, G, B (`image_mean`). */
  readonly imageMean: readonly [number, number, number];
  /** Per-channel standard deviation, R, G, B (`image_std`). */
  readonly imageStd: readonly [number, number, number];
}

/** Options for {@linkcode ImagePreprocessor.fromConfig}: what the JSON does not say. */
export interface PreprocessorOptions {
  /** Crop placement on odd margins: `"floor"` for transformers, `"round"` for open_clip. */
  readonly cropRounding: CropRounding;
  /** Name of the file the JSON came from, used in error messages. */
  readonly source?: string;
}

/** OpenAI CLIP's per-channel mean, transformers' `OPENAI_CLIP_MEAN`. */
export const OPENAI_CLIP_MEAN: readonly [number, number, number] = [
  0.48145466,
  0.4578275,
  0.40821073,
];
/** OpenAI CLIP's per-channel standard deviation, transformers' `OPENAI_CLIP_STD`. */
export const OPENAI_CLIP_STD: readonly [number, number, number] = [
  0.26862954,
  0.26130258,
  0.27577711,
];

/** Number of output channels (RGB). */
const CHANNELS = 3;
/** Largest accepted size or crop edge. */
const MAX_EDGE = 16384;

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
   * Builds a preprocessor from a parsed `preprocessor_config.json`, with transformers'
   * `CLIPImageProcessor` defaults for absent keys (resize shortest edge 224, bicubic, crop
   * 224 × 224, rescale 1/255, OpenAI CLIP mean and std). Keys it does not use are ignored, as
   * transformers ignores them.
   *
   * @param json The parsed JSON object.
   * @param options `cropRounding` and the `source` file name for messages.
   * @throws {ModelError} When a key has a wrong type or value, naming the file and the key, or
   *   when the configuration gives no fixed output size.
   */
  static fromConfig(json: unknown, options: PreprocessorOptions): ImagePreprocessor {
    const source = options.source ?? "preprocessor_config.json";
    const settings = parseSettings(json, options.cropRounding, source);
    try {
      return new ImagePreprocessor(settings);
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
   * crop larger than the image is the byte 0 run through the same steps).
   *
   * @param image The RGB image.
   * @param out The destination (e.g. a reused batch buffer).
   * @param offset Index in `out` of the first value written.
   * @throws {RangeError} When the image is malformed (sizes, data length), `offset` is not an
   *   integer or `out` is too short.
   */
  process(image: RgbImage, out: Float32Array, offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + this.outputLength > out.length) {
      throw new RangeError(
        `offset ${offset} + ${this.outputLength} values does not fit in an output of length ${out.length}`,
      );
    }
    checkImage(image);
    const settings = this.settings;
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
    let pixels = image.data;
    let pixelsWidth = image.width;
    let firstColumn = columns.sourceStart;
    let firstRow = rows.sourceStart;
    if (settings.doResize) {
      const kept = resize(image, resizedWidth, resizedHeight, settings.resample, {
        left: columns.sourceStart,
        top: rows.sourceStart,
        width: columns.length,
        height: rows.length,
      });
      pixels = kept.data;
      pixelsWidth = kept.width;
      firstColumn = 0;
      firstRow = 0;
    }

    const table = this.#valueTable;
    const width = this.width;
    const planeSize = this.height * width;
    if (columns.length !== width || rows.length !== this.height) {
      // Zero padding: the value of byte 0 in each channel.
      for (let c = 0; c < CHANNELS; c++) {
        const plane = offset + c * planeSize;
        out.fill(table[c * 256], plane, plane + planeSize);
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

/** Reads and validates the keys of a parsed `preprocessor_config.json`. */
function parseSettings(
  json: unknown,
  cropRounding: CropRounding,
  source: string,
): PreprocessorSettings {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ModelError(`${source}: expected a JSON object at the top level`, { path: source });
  }
  if (cropRounding !== "floor" && cropRounding !== "round") {
    throw new RangeError(`cropRounding must be "floor" or "round", got ${String(cropRounding)}`);
  }
  const reader = new ConfigReader(json as Record<string, unknown>, source);
  reader.optionalFlag("do_convert_rgb");
  return {
    doResize: reader.flag("do_resize", true),
    size: reader.resizeTarget("size", { kind: "shortestEdge", shortestEdge: 224 }),
    resample: reader.filter("resample", ResampleFilter.BICUBIC),
    doCenterCrop: reader.flag("do_center_crop", true),
    cropSize: reader.cropSize("crop_size", { height: 224, width: 224 }),
    cropRounding,
    doRescale: reader.flag("do_rescale", true),
    rescaleFactor: reader.finiteNumber("rescale_factor", 1 / 255),
    doNormalize: reader.flag("do_normalize", true),
    imageMean: reader.channelValues("image_mean", OPENAI_CLIP_MEAN, false),
    imageStd: reader.channelValues("image_std", OPENAI_CLIP_STD, true),
  };
}

/** Whether `value` is an integer edge length in 1..{@linkcode MAX_EDGE}. */
function isEdge(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_EDGE;
}

/** `value` as {height, width} when it is `{"height": h, "width": w}` or `[h, w]`. */
function heightWidth(value: unknown): { height: number; width: number } | undefined {
  if (Array.isArray(value)) {
    return value.length === 2 && isEdge(value[0]) && isEdge(value[1])
      ? { height: value[0], width: value[1] }
      : undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort().join(",");
  return keys === "height,width" && isEdge(record.height) && isEdge(record.width)
    ? { height: record.height, width: record.width }
    : undefined;
}

/** Typed access to the keys of a config object; wrong values are ModelErrors naming file and key. */
class ConfigReader {
  readonly #config: Record<string, unknown>;
  readonly #source: string;

  constructor(config: Record<string, unknown>, source: string) {
    this.#config = config;
    this.#source = source;
  }

  #fail(key: string, expected: string): never {
    throw new ModelError(
      `${this.#source}: key "${key}" must be ${expected}, got ${JSON.stringify(this.#config[key])}`,
      { path: this.#source },
    );
  }

  /** A boolean, `fallback` when absent. */
  flag(key: string, fallback: boolean): boolean {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") this.#fail(key, "true or false");
    return value;
  }

  /** A boolean or null (transformers' "unset"), checked only. */
  optionalFlag(key: string): void {
    const value = this.#config[key];
    if (value !== undefined && value !== null && typeof value !== "boolean") {
      this.#fail(key, "true, false or null");
    }
  }

  /** A finite number, `fallback` when absent. */
  finiteNumber(key: string, fallback: number): number {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value)) this.#fail(key, "a finite number");
    return value;
  }

  /** A Pillow filter number 0..5, `fallback` when absent. */
  filter(key: string, fallback: ResampleFilter): ResampleFilter {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 5) {
      this.#fail(key, "a Pillow filter number 0..5");
    }
    return value as ResampleFilter;
  }

  /** One number per channel: a list of 3 or a single number for all; `fallback` when absent. */
  channelValues(
    key: string,
    fallback: readonly [number, number, number],
    nonZero: boolean,
  ): readonly [number, number, number] {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    const valid = (x: unknown): x is number =>
      typeof x === "number" && Number.isFinite(x) && !(nonZero && x === 0);
    const list = typeof value === "number" ? [value, value, value] : value;
    if (!Array.isArray(list) || list.length !== CHANNELS || !list.every(valid)) {
      this.#fail(key, `${nonZero ? "a non-zero number" : "a number"} or a list of 3 of them`);
    }
    return [list[0], list[1], list[2]];
  }

  /**
   * The resize target: an integer or `{"shortest_edge": n}` (transformers' `get_size_dict`
   * with `default_to_square=False`; a `longest_edge` beside it is ignored, as
   * `CLIPImageProcessor.resize` ignores it), or `{"height": h, "width": w}` / `[h, w]`.
   */
  resizeTarget(key: string, fallback: ResizeTarget): ResizeTarget {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    const exact = heightWidth(value);
    if (exact !== undefined) return { kind: "exact", ...exact };
    if (isEdge(value)) return { kind: "shortestEdge", shortestEdge: value };
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort().join(",");
      const shortest = record.shortest_edge;
      if ((keys === "shortest_edge" || keys === "longest_edge,shortest_edge") && isEdge(shortest)) {
        return { kind: "shortestEdge", shortestEdge: shortest };
      }
    }
    return this.#fail(
      key,
      `an integer in 1..${MAX_EDGE}, {"shortest_edge": n}, {"height": h, "width": w} or [h, w]`,
    );
  }

  /** The crop size: an integer n (n × n), `{"height": h, "width": w}` or `[h, w]`. */
  cropSize(
    key: string,
    fallback: { height: number; width: number },
  ): { height: number; width: number } {
    const value = this.#config[key];
    if (value === undefined) return fallback;
    const exact = heightWidth(value);
    if (exact !== undefined) return exact;
    if (isEdge(value)) return { height: value, width: value };
    return this.#fail(key, `an integer in 1..${MAX_EDGE}, {"height": h, "width": w} or [h, w]`);
  }
}
