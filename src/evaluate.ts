/**
 * Running an {@linkcode EvalPlan}: every model × dataset pair in turn, each opened, evaluated
 * with its task and written to `<output_dir>/<model>/<dataset>_<task>.json`. A failing pair is
 * reported and the others still run; the caller decides the exit status from `failures`.
 *
 * @module
 */

import { basename, resolve } from "node:path";
import type { EvalPlan, ModelSpec } from "./config.ts";
import { type DownloadProgress, DownloadProgressReporter } from "./hub/download_progress.ts";
import { resolveDataset } from "./hub/resolve_dataset.ts";
import { resolveModel } from "./hub/resolve_model.ts";
import { openWebDataset, type WebDataset } from "./dataset.ts";
import { ClipbenchError, UsageError } from "./errors.ts";
import { ClipModel } from "./model.ts";
import { ProgressReporter } from "./progress.ts";
import { resultPath, type TaskName, type TaskResult, writeResult } from "./result.ts";
import {
  evaluateZeroShotClassification,
  type EvaluationProgress,
} from "../tasks/zeroshot_classification.ts";
import { evaluateZeroShotRetrieval } from "../tasks/zeroshot_retrieval.ts";
import { CUSTOM_QUERIES_FILE, type CustomDataset, openCustomDataset } from "./custom_dataset.ts";
import {
  type PromptFile,
  promptOverridesFor,
  readClassnamesFile,
  readTemplatesFile,
  type ZeroShotTemplates,
} from "./prompt_files.ts";

/** evalscope's name for a folder of `image_queries.jsonl` (retrieval). */
export const CUSTOM_DATASET = "custom";

/** Datasets that CLIP_benchmark and evalscope evaluate as image–text retrieval. */
export const RETRIEVAL_DATASETS: ReadonlySet<string> = new Set([
  "custom",
  "muge",
  "flickr30k",
  "flickr8k",
  "mscoco_captions",
  "mscoco_captions2017",
  "multilingual_mscoco_captions",
  "flickr30k-200",
  "crossmodal3600",
  "xtd200",
]);

/** A model × dataset pair that failed, and why. */
export interface EvaluationFailure {
  /** Model folder. */
  readonly model: string;
  /** Dataset name. */
  readonly dataset: string;
  /** The error. */
  readonly error: unknown;
}

/** Hooks for {@linkcode runEvaluations}. */
export interface RunHooks {
  /** Informational messages (default: stderr unless quiet). */
  readonly log?: (message: string) => void;
  /** Whether stderr is a terminal (progress bar) — default: asks Deno. */
  readonly interactive?: boolean;
  /** Stops the run. */
  readonly signal?: AbortSignal;
}

/** The dataset location for one dataset name: `{dataset}` in the root replaced by the name. */
export function datasetLocation(plan: EvalPlan, dataset: string): string | undefined {
  return plan.datasetRoot?.replaceAll("{dataset}", dataset);
}

/**
 * The name a model's results are filed under, as evalscope names them: the last part of a hub
 * id, or the base name of a local folder.
 */
export function modelResultName(id: string): string {
  try {
    if (Deno.statSync(id).isDirectory) return basename(resolve(id));
  } catch {
    // Not a local folder: a hub id.
  }
  return id.replace(/[\\/]+$/, "").split("/").pop() ?? id;
}

/**
 * The task for a dataset: the plan's explicit choice, else by `dataset_type.txt`, else by name
 * (evalscope's list of retrieval datasets), else zero-shot classification.
 */
export function chooseTask(plan: EvalPlan, name: string, dataset: WebDataset): TaskName {
  if (plan.task !== "auto") return plan.task;
  if (dataset.type === "retrieval") return "zeroshot_retrieval";
  if (dataset.type === "multilabel") return "zeroshot_classification";
  // No dataset_type.txt: evalscope decides by name.
  if (!dataset.typeDeclared && RETRIEVAL_DATASETS.has(name)) return "zeroshot_retrieval";
  return "zeroshot_classification";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Evaluates every model on every dataset of the plan.
 *
 * @returns the results written and the pairs that failed.
 */
export async function runEvaluations(
  plan: EvalPlan,
  hooks: RunHooks = {},
): Promise<{ results: TaskResult[]; failures: EvaluationFailure[] }> {
  const log = hooks.log ?? ((message: string) => plan.quiet || console.error(message));
  const interactive = hooks.interactive ?? Deno.stderr.isTerminal();
  const results: TaskResult[] = [];
  const failures: EvaluationFailure[] = [];
  const prompts: PromptFiles = {
    classnames: plan.classnamesFile ? await readClassnamesFile(plan.classnamesFile) : undefined,
    templates: plan.templatesFile ? await readTemplatesFile(plan.templatesFile) : undefined,
  };
  const progress = new DownloadProgressReporter({ interactive, quiet: plan.quiet });
  for (const spec of plan.models) {
    const modelName = modelResultName(spec.id);
    // Loaded on the first dataset that is not skipped; a load failure fails the model's rest.
    let model: ClipModel | undefined;
    let loadError: unknown;
    try {
      for (const datasetName of plan.datasets) {
        const fail = (error: unknown) => {
          failures.push({ model: spec.id, dataset: datasetName, error });
          log(`error: ${modelName} / ${datasetName}: ${(error as Error).message}`);
        };
        if (loadError !== undefined) {
          fail(loadError);
          continue;
        }
        try {
          // The metadata decides the task, hence the result file --skip-existing looks for.
          const opened = await openDataset(plan, datasetName, { signal: hooks.signal, progress });
          const existing = resultPath(plan.outputDir, modelName, datasetName, opened.task);
          if (plan.skipExisting && await exists(existing)) {
            log(`skip ${modelName} / ${datasetName}: ${existing} exists`);
            continue;
          }
          try {
            model ??= await ClipModel.load(await modelFolder(plan, spec, progress, hooks.signal), {
              threads: plan.threads,
              graphOptimizationLevel: plan.graphOptimizationLevel,
              memoryArena: plan.memoryArena,
              executionProvider: plan.device,
              dtype: plan.dtype,
              preprocess: plan.preprocess,
              cropRounding: plan.cropRounding,
              textCleaning: plan.textCleaning,
            });
          } catch (error) {
            loadError = error;
            throw error;
          }
          // Filed under the hub id's name, not the cache folder's (a commit hash on Hugging Face).
          const result = {
            ...await evaluateOpened(plan, model, datasetName, opened, prompts, {
              log,
              interactive,
              signal: hooks.signal,
            }),
            model: modelName,
          };
          log(`wrote ${await writeResult(plan.outputDir, result)}`);
          results.push(result);
        } catch (error) {
          if (!(error instanceof ClipbenchError)) throw error;
          fail(error);
        }
      }
    } finally {
      await model?.release();
    }
  }
  return { results, failures };
}

/** Override files read once per run, handed to every classification. */
interface PromptFiles {
  readonly classnames?: PromptFile<readonly string[]>;
  readonly templates?: PromptFile<ZeroShotTemplates>;
}

/** An opened dataset and the task it will be evaluated with. */
type OpenedDataset =
  | { task: "zeroshot_retrieval"; dataset: WebDataset | CustomDataset; location: string }
  | { task: "zeroshot_classification"; dataset: WebDataset; location: string };

/** Opens a dataset: evalscope's `custom` folder, else a WebDataset. */
async function openDataset(
  plan: EvalPlan,
  datasetName: string,
  hooks: { signal?: AbortSignal; progress: DownloadProgress },
): Promise<OpenedDataset> {
  const { signal } = hooks;
  const root = datasetLocation(plan, datasetName);
  if (datasetName === CUSTOM_DATASET) {
    if (root === undefined) {
      throw new UsageError(
        `the custom dataset needs --dataset-root: the folder holding ${CUSTOM_QUERIES_FILE}`,
      );
    }
    if (plan.task === "zeroshot_classification") {
      throw new UsageError(`the custom dataset (${CUSTOM_QUERIES_FILE}) is a retrieval dataset`);
    }
    return {
      dataset: await openCustomDataset(root),
      task: "zeroshot_retrieval",
      location: root,
    };
  }
  let dataset: WebDataset;
  let location: string;
  if (root !== undefined) {
    dataset = await openWebDataset(root, { split: plan.split, signal });
    location = root;
  } else {
    const resolved = await resolveDataset(datasetName, {
      hub: plan.hub,
      endpoint: plan.endpoint,
      offline: plan.offline,
      cacheDir: plan.cacheDir,
      split: plan.split,
      progress: hooks.progress,
      signal,
    });
    dataset = await openWebDataset(resolved.location, { split: resolved.split, signal });
    location = `${resolved.repository.label} (${resolved.mode})`;
  }
  return { dataset, task: chooseTask(plan, datasetName, dataset), location } as OpenedDataset;
}

/** The local folder of a model: the folder itself, or the hub snapshot it resolves to. */
async function modelFolder(
  plan: EvalPlan,
  spec: ModelSpec,
  progress: DownloadProgress,
  signal?: AbortSignal,
): Promise<string> {
  const resolved = await resolveModel(spec.id, {
    hub: spec.hub ?? plan.hub,
    revision: spec.revision ?? plan.revision,
    endpoint: plan.endpoint,
    offline: plan.offline,
    dtype: plan.dtype,
    progress,
    signal,
  });
  return resolved.dir;
}

async function evaluateOpened(
  plan: EvalPlan,
  model: ClipModel,
  datasetName: string,
  opened: OpenedDataset,
  prompts: PromptFiles,
  hooks: { log: (message: string) => void; interactive: boolean; signal?: AbortSignal },
): Promise<TaskResult> {
  const { log, interactive, signal } = hooks;
  const { task, location } = opened;
  log(
    `${model.name} / ${datasetName}: ${task} over ${opened.dataset.nshards} shard(s) of ${location}` +
      (plan.limit !== undefined ? `, first ${plan.limit} samples` : ""),
  );
  const progress = new ProgressReporter(`${model.name} / ${datasetName}`, {
    interactive,
    quiet: plan.quiet,
  });
  const common = {
    datasetName,
    batchSize: plan.batchSize,
    limit: plan.limit,
    maxSkippedFraction: plan.maxSkippedFraction,
    numWorkers: plan.numWorkers,
    inferenceWorker: plan.inferenceWorker,
    onProgress: (p: EvaluationProgress) => progress.update(p),
    signal,
  };
  try {
    if (opened.task === "zeroshot_retrieval") {
      return await evaluateZeroShotRetrieval(model, opened.dataset, {
        ...common,
        recallK: plan.recallK,
      });
    }
    return await evaluateZeroShotClassification(model, opened.dataset, {
      ...common,
      ...promptOverridesFor(datasetName, prompts),
      dumpClassnames: plan.dumpClassnames,
      dumpTemplates: plan.dumpTemplates,
      cacheDir: plan.cacheDir,
      noCache: plan.noCache,
    });
  } finally {
    progress.finish();
  }
}
