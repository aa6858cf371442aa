/**
 * Running an {@linkcode EvalPlan}: every model × dataset pair in turn, each opened, evaluated
 * with its task and written to `<output_dir>/<model>/<dataset>_<task>.json`. A failing pair is
 * reported and the others still run; the caller decides the exit status from `failures`.
 *
 * @module
 */

import { basename } from "node:path";
import type { EvalPlan } from "./config.ts";
import { openWebDataset, type WebDataset } from "./dataset.ts";
import { ClipbenchError, DatasetError, UsageError } from "./errors.ts";
import { ClipModel } from "./model.ts";
import { ProgressReporter } from "./progress.ts";
import { resultPath, type TaskName, type TaskResult, writeResult } from "./result.ts";
import { evaluateZeroShotClassification } from "../tasks/zeroshot_classification.ts";

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
export function datasetLocation(plan: EvalPlan, dataset: string): string {
  if (!plan.datasetRoot) {
    throw new UsageError(
      `no dataset root for '${dataset}': give --dataset-root <folder or URL> (it may contain ` +
        `{dataset}); downloading datasets from the ModelScope or Hugging Face hubs is not ` +
        `supported yet`,
    );
  }
  return plan.datasetRoot.replaceAll("{dataset}", dataset);
}

/**
 * The task for a dataset: the plan's explicit choice, else by `dataset_type.txt`, else by name
 * (evalscope's list of retrieval datasets), else zero-shot classification.
 */
export function chooseTask(plan: EvalPlan, name: string, dataset: WebDataset): TaskName {
  if (plan.task !== "auto") return plan.task;
  if (dataset.type === "retrieval") return "zeroshot_retrieval";
  if (dataset.type === "multilabel") {
    throw new DatasetError(
      `${name} is a multi-label dataset, which clipbench does not evaluate yet`,
      {
        path: dataset.root,
      },
    );
  }
  // No dataset_type.txt: evalscope decides by name.
  if (!dataset.typeDeclared && RETRIEVAL_DATASETS.has(name)) return "zeroshot_retrieval";
  return "zeroshot_classification";
}

/** The task evalscope would pick from the name alone (used before opening, for --skip-existing). */
function taskByName(plan: EvalPlan, name: string): TaskName {
  if (plan.task !== "auto") return plan.task;
  return RETRIEVAL_DATASETS.has(name) ? "zeroshot_retrieval" : "zeroshot_classification";
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
  for (const modelDir of plan.models) {
    const modelName = basename(modelDir.replace(/[\\/]+$/, ""));
    const pending = [];
    for (const dataset of plan.datasets) {
      const existing = resultPath(plan.outputDir, modelName, dataset, taskByName(plan, dataset));
      if (plan.skipExisting && await exists(existing)) {
        log(`skip ${modelName} / ${dataset}: ${existing} exists`);
      } else {
        pending.push(dataset);
      }
    }
    if (pending.length === 0) continue;
    let model: ClipModel;
    try {
      model = await ClipModel.load(modelDir, {
        threads: plan.threads,
        cropRounding: plan.cropRounding,
        textCleaning: plan.textCleaning,
      });
    } catch (error) {
      for (const dataset of pending) failures.push({ model: modelDir, dataset, error });
      log(`error: ${(error as Error).message}`);
      continue;
    }
    try {
      for (const datasetName of pending) {
        try {
          const result = await evaluateOne(
            plan,
            model,
            datasetName,
            log,
            interactive,
            hooks.signal,
          );
          const path = await writeResult(plan.outputDir, result);
          log(`wrote ${path}`);
          results.push(result);
        } catch (error) {
          if (!(error instanceof ClipbenchError)) throw error;
          failures.push({ model: modelDir, dataset: datasetName, error });
          log(`error: ${model.name} / ${datasetName}: ${error.message}`);
        }
      }
    } finally {
      await model.release();
    }
  }
  return { results, failures };
}

async function evaluateOne(
  plan: EvalPlan,
  model: ClipModel,
  datasetName: string,
  log: (message: string) => void,
  interactive: boolean,
  signal?: AbortSignal,
): Promise<TaskResult> {
  const location = datasetLocation(plan, datasetName);
  const dataset = await openWebDataset(location, { split: plan.split, signal });
  const task = chooseTask(plan, datasetName, dataset);
  if (task !== "zeroshot_classification") {
    throw new DatasetError(`${datasetName}: task ${task} is not supported yet`, { path: location });
  }
  log(
    `${model.name} / ${datasetName}: ${task} over ${dataset.nshards} shard(s) of ${location}/${plan.split}` +
      (plan.limit !== undefined ? `, first ${plan.limit} samples` : ""),
  );
  const progress = new ProgressReporter(`${model.name} / ${datasetName}`, {
    interactive,
    quiet: plan.quiet,
  });
  try {
    return await evaluateZeroShotClassification(model, dataset, {
      datasetName,
      batchSize: plan.batchSize,
      limit: plan.limit,
      maxSkippedFraction: plan.maxSkippedFraction,
      onProgress: (p) => progress.update(p),
      signal,
    });
  } finally {
    progress.finish();
  }
}
