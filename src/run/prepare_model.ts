/**
 * From a model of the plan to what `ClipModel.load` reads: the model folder (a local folder, or a
 * hub repository brought into the cache), converted from PyTorch weights into the conversion
 * cache when it has no ONNX graphs (src/convert/conversion_cache.ts), and the tokenizer folder
 * for a model without a tokenizer (`--tokenizer`, else OpenAI CLIP's for open_clip checkpoints).
 *
 * @module
 */

import { join } from "node:path";
import { hasCheckpointWeights } from "../checkpoint/open_checkpoint.ts";
import {
  CONVERSION_RECORD,
  type ConversionRecord,
  CONVERT_DTYPES,
  type ConvertDtype,
} from "../convert/convert.ts";
import { convertedModelDir } from "../convert/conversion_cache.ts";
import { ModelError } from "../errors.ts";
import type { DownloadProgress } from "../hub/download_progress.ts";
import { resolveModel } from "../hub/resolve_model.ts";
import { DEFAULT_OPEN_CLIP_TOKENIZER, resolveTokenizer } from "../hub/resolve_tokenizer.ts";
import type { EvalPlan, ModelSpec } from "./config.ts";

/** A model ready to load. */
export interface PreparedModel {
  /** The folder `ClipModel.load` reads. */
  readonly dir: string;
  /** The folder whose tokenizer replaces the model's, when the model has none. */
  readonly tokenizerDir?: string;
}

/** Options of {@linkcode prepareModel}. */
export interface PrepareModelOptions {
  /** Download progress. */
  readonly progress?: DownloadProgress;
  /** Cancels downloads. */
  readonly signal?: AbortSignal;
  /** Progress lines (conversion). */
  readonly log?: (line: string) => void;
}

/**
 * Resolves, converts where needed, and finds the tokenizer of `spec` (see the module doc).
 *
 * @throws {ModelError} for a model that cannot be found, converted (naming the file and tensor
 *   or option), or tokenized.
 */
export async function prepareModel(
  plan: EvalPlan,
  spec: ModelSpec,
  options: PrepareModelOptions = {},
): Promise<PreparedModel> {
  const hub = {
    hub: spec.hub ?? plan.hub,
    revision: spec.revision ?? plan.revision,
    endpoint: plan.endpoint,
    offline: plan.offline,
    progress: options.progress,
    signal: options.signal,
  };
  const resolved = await resolveModel(spec.id, {
    ...hub,
    dtype: plan.dtype,
    checkpoints: !plan.noConvert,
  });
  let dir = resolved.dir;
  let record: ConversionRecord | undefined;
  if (!(await hasOnnxFolder(dir)) && await hasCheckpointWeights(dir)) {
    if (plan.noConvert) {
      throw new ModelError(
        `${spec.id} holds PyTorch weights and no ONNX graphs (onnx/*.onnx); without ` +
          `--no-convert clipbench converts it (see 'cli.ts convert')`,
        { path: dir },
      );
    }
    if (!(CONVERT_DTYPES as readonly string[]).includes(plan.dtype)) {
      throw new ModelError(
        `${spec.id} is a PyTorch checkpoint: clipbench converts it to float32 graphs, float16 ` +
          `ones with --dtype fp16, or int8-weight ones with --dtype int8; --dtype ${plan.dtype} ` +
          `applies to ONNX exports only`,
        { path: dir },
      );
    }
    dir = await convertedModelDir(dir, {
      cacheDir: plan.cacheDir,
      dtype: plan.dtype as ConvertDtype,
      log: options.log,
    });
    record = JSON.parse(await Deno.readTextFile(join(dir, CONVERSION_RECORD)));
  }
  if (plan.tokenizer !== undefined) {
    const tokenizerDir = await isDirectory(plan.tokenizer)
      ? plan.tokenizer
      // Another repository: its main revision, not the model's.
      : await resolveTokenizer(plan.tokenizer, { ...hub, revision: undefined });
    return { dir, tokenizerDir };
  }
  if (record?.tokenizer === "none") {
    if (record.architecture !== "open_clip") {
      throw new ModelError(
        `${spec.id} has no tokenizer files (tokenizer.json, vocab.json + merges.txt, vocab.txt ` +
          `or spiece.model): pass --tokenizer <folder or hub id>`,
        { path: resolved.dir },
      );
    }
    // open_clip's built-in tokenizer is OpenAI CLIP's BPE, on Hugging Face: through the plan's
    // endpoint when that is a Hugging Face mirror, else through the environment's.
    const tokenizerDir = await resolveTokenizer(DEFAULT_OPEN_CLIP_TOKENIZER, {
      ...hub,
      hub: "huggingface",
      revision: undefined,
      endpoint: hub.hub === "huggingface" ? hub.endpoint : undefined,
    });
    return { dir, tokenizerDir };
  }
  return { dir };
}

async function hasOnnxFolder(dir: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(join(dir, "onnx"))) {
      if (entry.name.endsWith(".onnx")) return true;
    }
  } catch {
    // No onnx/ folder.
  }
  return false;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
