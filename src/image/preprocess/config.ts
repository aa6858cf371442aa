/**
 * The settings of image preprocessing, read from a model's `preprocessor_config.json` as
 * transformers' image processor classes read it (`CLIPImageProcessor`,
 * `ChineseCLIPImageProcessor`, `SiglipImageProcessor`, Jina CLIP's `JinaCLIPImageProcessor`):
 * each class's defaults for the keys the JSON leaves out, validation naming the file and the key,
 * and the crop rounding and conversion order of each {@linkcode PreprocessMode}. The pixel work
 * done with these settings is in `./kernel.ts`.
 *
 * @module
 */

import { ModelError } from "../../errors.ts";
import { ResampleFilter } from "../resize.ts";

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

/**
 * When a {@linkcode NativeImage} is converted to RGB (images given as RGB are the same either
 * way, and so are "L" and "RGB" images).
 *
 * - `"before_resize"`: transformers' `CLIPImageProcessor` (`convert_rgb` first).
 * - `"after_resize"`: open_clip's transform (`Resize` → `CenterCrop` → `convert("RGB")`): the
 *   resize follows Pillow's rules for the image's mode (see `resizeNative`: NEAREST for "P" and
 *   "1", premultiplied alpha for "RGBA" and "LA", 32-bit arithmetic for "I", CMYK resampled as
 *   CMYK), and padding from a crop larger than the image is a zero pixel of that mode (palette
 *   entry 0 for "P", white for "CMYK").
 */
export type ConversionOrder = "before_resize" | "after_resize";

/**
 * Which Python pipeline to reproduce: `"hf"` (transformers' image processor: RGB first, crop
 * offset floored) or `"openclip"` (open_clip's / CLIP_benchmark's torchvision transform: resize
 * and crop in the image's own mode, RGB after, crop offset rounded half to even).
 */
export type PreprocessMode = "hf" | "openclip";

/** The crop rounding and conversion order of a {@linkcode PreprocessMode}. */
export function preprocessModeSettings(
  mode: PreprocessMode,
): { cropRounding: CropRounding; conversionOrder: ConversionOrder } {
  if (mode === "openclip") return { cropRounding: "round", conversionOrder: "after_resize" };
  if (mode === "hf") return { cropRounding: "floor", conversionOrder: "before_resize" };
  throw new RangeError(`preprocess mode must be "hf" or "openclip", got ${String(mode)}`);
}

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
  /**
   * When native-mode images become RGB (not in the JSON; see {@linkcode ConversionOrder});
   * absent means `"before_resize"`.
   */
  readonly conversionOrder?: ConversionOrder;
}

/** Options for `ImagePreprocessor.fromConfig` (`./kernel.ts`): what the JSON does not say. */
export interface PreprocessorOptions {
  /** Crop placement on odd margins: `"floor"` for transformers, `"round"` for open_clip. */
  readonly cropRounding: CropRounding;
  /**
   * When native-mode images become RGB: `"before_resize"` (transformers, the default) or
   * `"after_resize"` (open_clip). See {@linkcode ConversionOrder}.
   */
  readonly conversionOrder?: ConversionOrder;
  /** Name of the file the JSON came from, used in error messages. */
  readonly source?: string;
  /**
   * Image processor class assumed when the JSON names none (`image_processor_type`, or the older
   * `feature_extractor_type`); default `CLIPImageProcessor`.
   */
  readonly processorType?: string;
}

/**
 * Image processor classes whose defaults clipbench knows: transformers' `CLIPImageProcessor`,
 * `ChineseCLIPImageProcessor` and `SiglipImageProcessor`, and Jina CLIP's own
 * `JinaCLIPImageProcessor` (its `preprocessor_config.json` has keys of its own: `size`,
 * `resize_mode`, `interpolation`, `mean`, `std`).
 */
const KNOWN_IMAGE_PROCESSORS: readonly string[] = [
  "CLIPImageProcessor",
  "ChineseCLIPImageProcessor",
  "SiglipImageProcessor",
  "JinaCLIPImageProcessor",
];

/** OpenAI CLIP's per-channel mean, transformers' `OPENAI_CLIP_MEAN`. */
const OPENAI_CLIP_MEAN: readonly [number, number, number] = [
  0.48145466,
  0.4578275,
  0.40821073,
];
/** OpenAI CLIP's per-channel standard deviation, transformers' `OPENAI_CLIP_STD`. */
const OPENAI_CLIP_STD: readonly [number, number, number] = [
  0.26862954,
  0.26130258,
  0.27577711,
];

/** Number of output channels (RGB). */
export const CHANNELS = 3;
/** Largest accepted size or crop edge. */
const MAX_EDGE = 16384;

/** Throws a RangeError unless `order` is a {@linkcode ConversionOrder} or undefined. */
export function checkConversionOrder(order: ConversionOrder | undefined): void {
  if (order !== undefined && order !== "before_resize" && order !== "after_resize") {
    throw new RangeError(
      `conversionOrder must be "before_resize" or "after_resize", got ${String(order)}`,
    );
  }
}

/** transformers' `IMAGENET_STANDARD_MEAN` / `_STD` (SigLIP's defaults). */
const HALF: readonly [number, number, number] = [0.5, 0.5, 0.5];

/** What an image processor class does with the keys its JSON leaves out. */
interface ProcessorClass {
  /** Default `size`. */
  readonly size: ResizeTarget;
  /** Whether the class has a centre-crop step (Siglip's has none: its crop keys are ignored). */
  readonly crops: boolean;
  /** Whether its resize goes to `size.height` × `size.width` only. */
  readonly exactResizeOnly: boolean;
  /** Default `image_mean` and `image_std`. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

const CLIP_CLASS: ProcessorClass = {
  size: { kind: "shortestEdge", shortestEdge: 224 },
  crops: true,
  exactResizeOnly: false,
  mean: OPENAI_CLIP_MEAN,
  std: OPENAI_CLIP_STD,
};

const PROCESSOR_CLASSES: Readonly<Record<string, ProcessorClass>> = {
  CLIPImageProcessor: CLIP_CLASS,
  ChineseCLIPImageProcessor: { ...CLIP_CLASS, exactResizeOnly: true },
  SiglipImageProcessor: {
    size: { kind: "exact", height: 224, width: 224 },
    crops: false,
    exactResizeOnly: true,
    mean: HALF,
    std: HALF,
  },
  // JinaCLIPImageProcessor's keys are translated first (jinaClipToTransformersKeys).
  JinaCLIPImageProcessor: CLIP_CLASS,
};

/**
 * The image processor class a config declares, in transformers' current spelling
 * (`CLIPFeatureExtractor` → `CLIPImageProcessor`, `SiglipImageProcessorFast` →
 * `SiglipImageProcessor`), else `fallback`.
 */
function processorTypeOf(config: Record<string, unknown>, fallback: string): string {
  const declared = config.image_processor_type ?? config.feature_extractor_type;
  if (typeof declared !== "string" || declared === "") return fallback;
  return declared.replace(/Fast$/, "").replace(/FeatureExtractor$/, "ImageProcessor");
}

/**
 * Jina CLIP's `preprocessor_config.json` (`size`, `resize_mode`, `interpolation`, `mean`, `std`)
 * as the transformers-style keys of the same transform: open_clip's `image_transform`, resize
 * then centre crop to `size`, rescale 1/255, normalise.
 */
function jinaClipToTransformersKeys(
  config: Record<string, unknown>,
  source: string,
): Record<string, unknown> {
  const fail = (key: string, expected: string): never => {
    throw new ModelError(
      `${source}: key "${key}" must be ${expected}, got ${JSON.stringify(config[key])}`,
      { path: source },
    );
  };
  const size = config.size ?? 224;
  if (!isEdge(size)) fail("size", `an integer in 1..${MAX_EDGE}`);
  const mode = config.resize_mode ?? "shortest";
  if (mode !== "shortest" && mode !== "squash") {
    fail("resize_mode", `"shortest" or "squash" (clipbench does not pad as "longest" does)`);
  }
  const interpolation = config.interpolation ?? "bicubic";
  if (interpolation !== "bicubic" && interpolation !== "bilinear") {
    fail("interpolation", `"bicubic" or "bilinear"`);
  }
  return {
    do_resize: true,
    size: mode === "squash" ? { height: size, width: size } : { shortest_edge: size },
    resample: interpolation === "bicubic" ? ResampleFilter.BICUBIC : ResampleFilter.BILINEAR,
    do_center_crop: true,
    crop_size: size,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: config.mean ?? config.image_mean,
    image_std: config.std ?? config.image_std,
  };
}

/**
 * Reads and validates the keys of a parsed `preprocessor_config.json` (the defaults of each
 * image processor class are listed at `ImagePreprocessor.fromConfig` in `./kernel.ts`).
 */
export function parsePreprocessorSettings(
  json: unknown,
  cropRounding: CropRounding,
  source: string,
  fallbackType: string,
): PreprocessorSettings {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ModelError(`${source}: expected a JSON object at the top level`, { path: source });
  }
  if (cropRounding !== "floor" && cropRounding !== "round") {
    throw new RangeError(`cropRounding must be "floor" or "round", got ${String(cropRounding)}`);
  }
  let config = json as Record<string, unknown>;
  const type = processorTypeOf(config, fallbackType);
  if (type === "JinaCLIPImageProcessor") config = jinaClipToTransformersKeys(config, source);
  const known = PROCESSOR_CLASSES[type];
  const processorClass = known ?? CLIP_CLASS;
  const reader = new ConfigReader(config, source);
  reader.optionalFlag("do_convert_rgb");
  const settings: PreprocessorSettings = {
    doResize: reader.flag("do_resize", true),
    size: reader.resizeTarget("size", processorClass.size),
    resample: reader.filter("resample", ResampleFilter.BICUBIC),
    doCenterCrop: processorClass.crops ? reader.flag("do_center_crop", true) : false,
    cropSize: processorClass.crops
      ? reader.cropSize("crop_size", { height: 224, width: 224 })
      : { height: 224, width: 224 },
    cropRounding,
    doRescale: reader.flag("do_rescale", true),
    rescaleFactor: reader.finiteNumber("rescale_factor", 1 / 255),
    doNormalize: reader.flag("do_normalize", true),
    imageMean: reader.channelValues("image_mean", processorClass.mean, false),
    imageStd: reader.channelValues("image_std", processorClass.std, true),
  };
  if (processorClass.exactResizeOnly && settings.doResize && settings.size.kind !== "exact") {
    throw new ModelError(
      `${source}: ${type} resizes to size.height × size.width, so "size" must be ` +
        `{"height": h, "width": w}; got ${JSON.stringify(config.size ?? "its default")}`,
      { path: source },
    );
  }
  if (!known) {
    const missing = requiredKeys(settings).filter((key) => config[key] === undefined);
    if (missing.length > 0) {
      throw new ModelError(
        `${source}: image processor ${type} is not one clipbench knows the defaults of (${
          KNOWN_IMAGE_PROCESSORS.join(", ")
        }), so these keys must be given: ${missing.join(", ")}`,
        { path: source },
      );
    }
  }
  return settings;
}

/** The keys that decide the output of a configuration with these settings. */
function requiredKeys(settings: PreprocessorSettings): string[] {
  const keys = ["do_resize", "do_center_crop", "do_rescale", "do_normalize"];
  if (settings.doResize) keys.push("size", "resample");
  if (settings.doCenterCrop) keys.push("crop_size");
  if (settings.doRescale) keys.push("rescale_factor");
  if (settings.doNormalize) keys.push("image_mean", "image_std");
  return keys;
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
