/**
 * Which ONNX files of a model folder serve each modality, for a chosen precision.
 *
 * transformers.js exports keep every precision of a graph side by side in `onnx/`, told apart by
 * a file-name suffix: `vision_model.onnx` (fp32), `vision_model_fp16.onnx`,
 * `vision_model_quantized.onnx` (q8), … The same suffix is used for every graph of the model:
 * the towers `vision_model{suffix}.onnx` and `text_model{suffix}.onnx`, and the joint
 * `model{suffix}.onnx`. Each modality takes its tower when present, else the joint graph.
 * External-data files (`model.onnx_data`) beside a graph are read by onnxruntime itself.
 *
 * @module
 */

import { join } from "node:path";
import { ModelError } from "../errors.ts";

/** File-name suffix of each precision, as transformers.js names its `dtype` variants. */
export const DTYPE_SUFFIXES = {
  fp32: "",
  fp16: "_fp16",
  q8: "_quantized",
  int8: "_int8",
  uint8: "_uint8",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
} as const;

/** A precision variant of the ONNX graphs (transformers.js `dtype`). */
export type ModelDtype = keyof typeof DTYPE_SUFFIXES;

/** The accepted `dtype` values, in the order of {@linkcode DTYPE_SUFFIXES}. */
export const MODEL_DTYPES: readonly ModelDtype[] = Object.keys(DTYPE_SUFFIXES) as ModelDtype[];

/** Base names of the graphs: the two towers and the joint graph. */
const GRAPH_BASES = ["vision_model", "text_model", "model"] as const;

/** The graph files chosen for a model. */
export interface ModelGraphFiles {
  /** Precision the files were chosen for. */
  readonly dtype: ModelDtype;
  /** Graph encoding images. */
  readonly vision: string;
  /** Graph encoding texts (the same path as `vision` for a joint graph). */
  readonly text: string;
}

/** Whether `value` is one of the accepted dtypes. */
export function isModelDtype(value: unknown): value is ModelDtype {
  return typeof value === "string" && Object.hasOwn(DTYPE_SUFFIXES, value);
}

/** The dtype whose suffix ends a graph file name, with the base name; undefined for other files. */
function classify(file: string): { base: string; dtype: ModelDtype } | undefined {
  if (!file.endsWith(".onnx")) return undefined;
  const stem = file.slice(0, -".onnx".length);
  for (const base of GRAPH_BASES) {
    if (!stem.startsWith(base)) continue;
    const suffix = stem.slice(base.length);
    const dtype = MODEL_DTYPES.find((d) => DTYPE_SUFFIXES[d] === suffix);
    if (dtype !== undefined) return { base, dtype };
  }
  return undefined;
}

/**
 * The graph files of `onnx/` grouped by precision, e.g. `fp32 (model.onnx), q8
 * (model_quantized.onnx)`, for messages.
 */
export function describeVariants(files: readonly string[]): string {
  const byDtype = new Map<ModelDtype, string[]>();
  for (const file of [...files].sort()) {
    const found = classify(file);
    if (found) byDtype.set(found.dtype, [...(byDtype.get(found.dtype) ?? []), file]);
  }
  if (byDtype.size === 0) return "none";
  return MODEL_DTYPES.filter((d) => byDtype.has(d))
    .map((d) => `${d} (${byDtype.get(d)!.join(", ")})`)
    .join(", ");
}

async function listOnnxFolder(folder: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.isFile || entry.isSymlink) files.push(entry.name);
    }
  } catch (error) {
    throw new ModelError(
      `model file not found: ${join(folder, "vision_model.onnx")} (no readable onnx/ folder: ${
        (error as Error).message
      })`,
      { path: folder, cause: error },
    );
  }
  return files;
}

/**
 * Chooses the graph of each modality in `<modelDir>/onnx` for `dtype`: the tower
 * (`vision_model{suffix}.onnx`, `text_model{suffix}.onnx`) when present, else the joint
 * `model{suffix}.onnx`.
 *
 * @throws {ModelError} when no file has the dtype's suffix (listing the variants present), or a
 *   modality has neither its tower nor a joint graph (naming the files looked for).
 */
export async function findModelGraphs(
  modelDir: string,
  dtype: ModelDtype = "fp32",
): Promise<ModelGraphFiles> {
  if (!isModelDtype(dtype)) {
    throw new RangeError(`dtype must be one of ${MODEL_DTYPES.join(", ")}, got ${String(dtype)}`);
  }
  const folder = join(modelDir, "onnx");
  const files = await listOnnxFolder(folder);
  const suffix = DTYPE_SUFFIXES[dtype];
  const present = new Set(files);
  const path = (base: string) => `${base}${suffix}.onnx`;
  const joint = present.has(path("model")) ? join(folder, path("model")) : undefined;
  const pick = (tower: string): string | undefined =>
    present.has(path(tower)) ? join(folder, path(tower)) : joint;
  const vision = pick("vision_model");
  const text = pick("text_model");
  if (vision !== undefined && text !== undefined) return { dtype, vision, text };

  const anyOfDtype = GRAPH_BASES.some((base) => present.has(path(base)));
  if (!anyOfDtype) {
    throw new ModelError(
      `${folder} has no ${dtype} graphs (${GRAPH_BASES.map(path).join(", ")}); variants present: ${
        describeVariants(files)
      }`,
      { path: join(folder, path("vision_model")) },
    );
  }
  const missing = vision === undefined ? "vision_model" : "text_model";
  throw new ModelError(
    `model file not found: ${join(folder, path(missing))} (nor a joint ${
      join(folder, path("model"))
    }); graphs present: ${describeVariants(files)}`,
    { path: join(folder, path(missing)) },
  );
}
