/**
 * Running an {@linkcode EvalPlan}: every model × dataset pair in turn, each opened, evaluated
 * with its task and written to `<output_dir>/<model>/<dataset>_<task>.json`. A failing pair is
 * reported and the others still run; the caller decides the exit status from `failures`.
 *
 * With `plan.shard` each pair evaluates only its shard and writes a partial result,
 * `<output_dir>/<model>/<dataset>_<task>.shard-<i>-of-<n>.partial` (src/results/partial/partial_file.ts),
 * with a fingerprint of everything its numbers depend on; src/results/partial/merge.ts makes the result.
 *
 * Every result carries a `clipbench` block saying how it was made (src/results/provenance.ts).
 * Two models whose results would go to the same `<output_dir>/<name>/` are refused before
 * anything runs ({@linkcode resultNames}). With `plan.skipExisting`, an existing result is kept
 * only when its block records the settings this run would use (src/results/existing_result.ts);
 * otherwise the pair runs again and the log says why.
 *
 * {@linkcode evaluateDataset} evaluates one dataset with a model already loaded (the HTTP
 * handler's path, src/server/handler.ts).
 *
 * @module
 */

import { basename, resolve } from "node:path";
import type { EvalPlan, ModelSpec } from "./config.ts";
import { type DownloadProgress, DownloadProgressReporter } from "../hub/download_progress.ts";
import { resolveDataset } from "../hub/resolve_dataset.ts";
import { prepareModel } from "./prepare_model.ts";
import { openWebDataset, type WebDataset } from "../dataset/wds.ts";
import { ClipbenchError, UsageError } from "../errors.ts";
import { ClipModel, type LoadModelOptions } from "../model/model.ts";
import { ProgressReporter } from "./progress.ts";
import { resultPath, type TaskName, type TaskResult, writeResult } from "../results/result.ts";
import type { EvaluationProgress } from "./sample_tally.ts";
import { type CommonTaskOptions, taskDefinition, type TaskRun } from "./task_registry.ts";
import { defaultCacheDir } from "../io/cache_dir.ts";
import { modelFingerprint, type PartialFingerprint } from "../results/partial/fingerprint.ts";
import { partialPath, type PartialResult, writePartial } from "../results/partial/partial_file.ts";
import type { ShardOutcome } from "../results/partial/shard_outcome.ts";
import { CUSTOM_QUERIES_FILE, type CustomDataset, openCustomDataset } from "../dataset/custom.ts";
import {
  type PromptFile,
  readClassnamesFile,
  readTemplatesFile,
  type ZeroShotTemplates,
} from "../dataset/prompts.ts";
import { pathExists } from "../io/path_exists.ts";
import { predictionsPathFor } from "../results/predictions/predictions_file.ts";
import {
  type PredictionSink,
  PredictionsWriter,
} from "../results/predictions/predictions_writer.ts";
import { formatShardSpec } from "../dataset/sharding/shard_spec.ts";
import { decideReuse } from "../results/existing_result.ts";
import {
  clipbenchBlock,
  numberSettings,
  runTiming,
  type TaskProvenance,
} from "../results/provenance.ts";
import { loadedModelProvenance, runtimeInfo } from "../results/run_provenance.ts";

/** evalscope's name for a folder of `image_queries.jsonl` (retrieval). */
export const CUSTOM_DATASET = "custom";

/** Datasets that CLIP_benchmark and evalscope evaluate as image–text retrieval. */
const RETRIEVAL_DATASETS: ReadonlySet<string> = new Set([
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
  /** Called as samples are read (besides the progress shown on stderr). */
  readonly onProgress?: (progress: EvaluationProgress) => void;
}

/** What one model × dataset evaluation produced: a result, or (for a shard) a partial result. */
export type DatasetOutcome =
  | { readonly kind: "result"; readonly result: TaskResult }
  | { readonly kind: "partial"; readonly partial: PartialResult };

/** The name a model's results are filed under: its `name`, else {@linkcode modelResultName}. */
export function resultNameOf(spec: ModelSpec): string {
  return spec.name ?? modelResultName(spec.id);
}

/**
 * The name each model's results are filed under, in order.
 *
 * @throws {UsageError} when two models would write to the same `<output_dir>/<name>/` (the same
 * base name from different folders or hubs), naming both; a distinct `--model-name` (or
 * `models[].name`) for each resolves it.
 */
export function resultNames(models: readonly ModelSpec[]): string[] {
  const names = models.map(resultNameOf);
  const first = new Map<string, number>();
  names.forEach((name, i) => {
    const earlier = first.get(name);
    if (earlier === undefined) {
      first.set(name, i);
      return;
    }
    const describe = (spec: ModelSpec) =>
      `${spec.id}${spec.hub ? ` (${spec.hub})` : ""}${spec.revision ? `@${spec.revision}` : ""}`;
    throw new UsageError(
      `models ${describe(models[earlier])} and ${describe(models[i])} would both write their ` +
        `results to ${name}/: give each a distinct --model-name (or models[].name in a config)`,
    );
  });
  return names;
}

/** The dataset location for one dataset name: `{dataset}` in the root replaced by the name. */
function datasetLocation(plan: EvalPlan, dataset: string): string | undefined {
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
function chooseTask(plan: EvalPlan, name: string, dataset: WebDataset): TaskName {
  if (plan.task !== "auto") return plan.task;
  if (dataset.type === "retrieval") return "zeroshot_retrieval";
  if (dataset.type === "multilabel") return "zeroshot_classification";
  // No dataset_type.txt: evalscope decides by name.
  if (!dataset.typeDeclared && RETRIEVAL_DATASETS.has(name)) return "zeroshot_retrieval";
  return "zeroshot_classification";
}

/**
 * Evaluates every model on every dataset of the plan (each pair's shard, with `plan.shard`).
 *
 * @returns the results written (for a sharded plan: none), the partial files written, the pairs
 * that failed, the results `--skip-existing` kept (`reused`, read from their files), and
 * `summary`: every result written or kept, in plan order.
 * @throws {UsageError} when two models would write to the same result folder
 * ({@linkcode resultNames}).
 *
 * @example Evaluate the demo model on the first 16 samples of the demo dataset
 * ```ts
 * import assert from "node:assert/strict";
 * import { completePlan, runEvaluations } from "@clipbench/clipbench";
 *
 * const outputDir = await Deno.makeTempDir();
 * const plan = completePlan({
 *   models: [{ id: "examples/demo/tiny-clip-demo" }],
 *   datasets: ["fashion_mnist_1k"],
 *   datasetRoot: "examples/demo/data/{dataset}",
 *   limit: 16,
 *   noCache: true, // leave the classifier cache alone
 *   outputDir,
 *   quiet: true,
 * });
 * const { results, failures } = await runEvaluations(plan);
 * assert.deepEqual(failures, []);
 * assert.equal(results[0].task, "zeroshot_classification");
 * assert.equal(results[0].n_samples, 16);
 * // evalscope's file layout: <output dir>/<model>/<dataset>_<task>.json
 * const written = `${outputDir}/tiny-clip-demo/fashion_mnist_1k_zeroshot_classification.json`;
 * assert.ok((await Deno.stat(written)).isFile);
 * await Deno.remove(outputDir, { recursive: true });
 * ```
 */
export async function runEvaluations(
  plan: EvalPlan,
  hooks: RunHooks = {},
): Promise<{
  results: TaskResult[];
  partials: string[];
  failures: EvaluationFailure[];
  reused: TaskResult[];
  summary: TaskResult[];
}> {
  const log = hooks.log ?? ((message: string) => plan.quiet || console.error(message));
  const interactive = hooks.interactive ?? Deno.stderr.isTerminal();
  const names = resultNames(plan.models);
  const results: TaskResult[] = [];
  const partials: string[] = [];
  const failures: EvaluationFailure[] = [];
  const reused: TaskResult[] = [];
  const summary: TaskResult[] = [];
  const prompts = await readPromptFiles(plan);
  const progress = new DownloadProgressReporter({ interactive, quiet: plan.quiet });
  for (const [m, spec] of plan.models.entries()) {
    const modelName = names[m];
    // Loaded on the first dataset that is not skipped; a load failure fails the model's rest.
    let model: ClipModel | undefined;
    let loadError: unknown;
    try {
      for (const datasetName of plan.datasets) {
        const fail = (error: unknown) => {
          failures.push({ model: spec.id, dataset: datasetName, error });
          log(`failed: ${modelName} / ${datasetName} (its error is listed with the failures)`);
        };
        if (loadError !== undefined) {
          fail(loadError);
          continue;
        }
        try {
          // The metadata decides the task, hence the result file --skip-existing looks for.
          const opened = await openDataset(plan, datasetName, { signal: hooks.signal, progress });
          const existing = plan.shard
            ? partialPath(plan.outputDir, modelName, datasetName, opened.task, plan.shard)
            : resultPath(plan.outputDir, modelName, datasetName, opened.task, plan.outputTemplate);
          const found = plan.skipExisting && await pathExists(existing);
          // A partial is checked by the merge (its fingerprint); it is kept when it exists.
          if (found && plan.shard) {
            log(`skip ${modelName} / ${datasetName}: ${existing} exists`);
            continue;
          }
          try {
            if (model === undefined) {
              const prepared = await prepareModel(plan, spec, {
                progress,
                signal: hooks.signal,
                log,
              });
              model = await ClipModel.load(prepared.dir, {
                ...modelLoadOptions(plan),
                tokenizerDir: prepared.tokenizerDir,
              });
            }
          } catch (error) {
            loadError = error;
            throw error;
          }
          const identity = { given: spec.id, name: modelName };
          if (found) {
            const run = taskRun(plan, model, datasetName, opened, prompts, {});
            let decision = await decideReuse(
              existing,
              await expectedSettings(plan, model, identity, opened.task, run),
            );
            const predictionsFile = predictionsPathFor(existing);
            if (decision.reuse && plan.savePredictions && !(await pathExists(predictionsFile))) {
              decision = {
                reuse: false,
                reason:
                  `has no predictions (${predictionsFile}), which --save-predictions asks for`,
              };
            }
            if (decision.reuse) {
              log(`skip ${modelName} / ${datasetName}: ${existing} was made with these settings`);
              reused.push(decision.result);
              summary.push(decision.result);
              continue;
            }
            log(`re-run ${modelName} / ${datasetName}: ${existing} ${decision.reason}`);
          }
          const predictions = plan.savePredictions
            ? await PredictionsWriter.create(predictionsPathFor(existing), {
              dataset: datasetName,
              model: modelName,
              task: opened.task,
              ...(plan.shard && { shard: formatShardSpec(plan.shard) }),
            })
            : undefined;
          try {
            const outcome = await evaluateOpened(
              plan,
              model,
              identity,
              datasetName,
              opened,
              prompts,
              {
                log,
                interactive,
                signal: hooks.signal,
                onProgress: hooks.onProgress,
                predictions,
              },
            );
            // The predictions first: a result beside them is what makes them count (report
            // checks that they agree with it).
            if (predictions) log(`wrote ${await predictions.commit()}`);
            if (outcome.kind === "partial") {
              log(`wrote ${await writePartial(existing, outcome.partial)}`);
              partials.push(existing);
            } else {
              log(
                `wrote ${await writeResult(plan.outputDir, outcome.result, plan.outputTemplate)}`,
              );
              results.push(outcome.result);
              summary.push(outcome.result);
            }
          } finally {
            await predictions?.discard();
          }
        } catch (error) {
          if (!(error instanceof ClipbenchError)) throw error;
          fail(error);
        }
      }
    } finally {
      await model?.release();
    }
  }
  return { results, partials, failures, reused, summary };
}

/** The settings a run of `run` will record: what `--skip-existing` compares. */
async function expectedSettings(
  plan: EvalPlan,
  model: ClipModel,
  identity: { given: string | null; name: string },
  task: TaskName,
  run: TaskRun,
) {
  const { fingerprint } = await loadedModelProvenance(model, identity, cacheDirOf(plan));
  return {
    settings: numberSettings(fingerprint, plan.split, plan.limit ?? null),
    task_settings: taskDefinition(task).settings(run),
  };
}

/** The options {@linkcode ClipModel.load} gets from a plan. */
export function modelLoadOptions(plan: EvalPlan): LoadModelOptions {
  return {
    threads: plan.threads,
    graphOptimizationLevel: plan.graphOptimizationLevel,
    memoryArena: plan.memoryArena,
    executionProvider: plan.device,
    dtype: plan.dtype,
    preprocess: plan.preprocess,
    cropRounding: plan.cropRounding,
    textCleaning: plan.textCleaning,
  };
}

/**
 * Evaluates one dataset of a plan with a loaded model: opens it, runs its task (or the plan's
 * shard of it) and returns the result (or the partial result); nothing is written.
 *
 * @param modelName The name the result is filed under.
 * @param hooks `prompts`: class-name and template overrides (default: the plan's files, read
 * now); `given`: the model as its result's `clipbench.model.given` records it (default:
 * `modelName`).
 */
export async function evaluateDataset(
  plan: EvalPlan,
  model: ClipModel,
  modelName: string,
  datasetName: string,
  hooks: RunHooks & { readonly prompts?: PromptFiles; readonly given?: string } = {},
): Promise<DatasetOutcome> {
  const log = hooks.log ?? ((message: string) => plan.quiet || console.error(message));
  const interactive = hooks.interactive ?? false;
  const opened = await openDataset(plan, datasetName, {
    signal: hooks.signal,
    progress: new DownloadProgressReporter({ interactive, quiet: plan.quiet }),
  });
  return await evaluateOpened(
    plan,
    model,
    { given: hooks.given ?? modelName, name: modelName },
    datasetName,
    opened,
    hooks.prompts ?? await readPromptFiles(plan),
    { log, interactive, signal: hooks.signal, onProgress: hooks.onProgress },
  );
}

/** Class-name and template overrides, read once per run and handed to every classification. */
export interface PromptFiles {
  /** Class names replacing each dataset's. */
  readonly classnames?: PromptFile<readonly string[]>;
  /** Templates replacing each dataset's. */
  readonly templates?: PromptFile<ZeroShotTemplates>;
}

async function readPromptFiles(plan: EvalPlan): Promise<PromptFiles> {
  return {
    classnames: plan.classnamesFile ? await readClassnamesFile(plan.classnamesFile) : undefined,
    templates: plan.templatesFile ? await readTemplatesFile(plan.templatesFile) : undefined,
  };
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
      dataset: await openCustomDataset(root, { boundary: plan.datasetBoundary, signal }),
      task: "zeroshot_retrieval",
      location: root,
    };
  }
  let dataset: WebDataset;
  let location: string;
  if (root !== undefined) {
    dataset = await openWebDataset(root, {
      split: plan.split,
      signal,
      boundary: plan.datasetBoundary,
    });
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

/** The plan's cache folder (file hashes), or the default one. */
function cacheDirOf(plan: EvalPlan): string {
  return plan.cacheDir ?? defaultCacheDir();
}

/** One evaluation as the task sees it (src/run/task_registry.ts). */
function taskRun(
  plan: EvalPlan,
  model: ClipModel,
  datasetName: string,
  opened: OpenedDataset,
  prompts: PromptFiles,
  hooks: {
    signal?: AbortSignal;
    onProgress?: (progress: EvaluationProgress) => void;
    predictions?: PredictionSink;
  },
): TaskRun {
  const common: CommonTaskOptions = {
    datasetName,
    batchSize: plan.batchSize,
    limit: plan.limit,
    maxSkippedFraction: plan.maxSkippedFraction,
    numWorkers: plan.numWorkers,
    inferenceWorker: plan.inferenceWorker,
    onProgress: hooks.onProgress,
    signal: hooks.signal,
    predictions: hooks.predictions,
  };
  return { model, dataset: opened.dataset, plan, common, prompts };
}

async function evaluateOpened(
  plan: EvalPlan,
  model: ClipModel,
  identity: { given: string | null; name: string },
  datasetName: string,
  opened: OpenedDataset,
  prompts: PromptFiles,
  hooks: {
    log: (message: string) => void;
    interactive: boolean;
    signal?: AbortSignal;
    onProgress?: (progress: EvaluationProgress) => void;
    predictions?: PredictionSink;
  },
): Promise<DatasetOutcome> {
  const { log, interactive, signal, onProgress } = hooks;
  const { task, location } = opened;
  const modelName = identity.name;
  log(
    `${model.name} / ${datasetName}: ${task} over ${opened.dataset.nshards} shard(s) of ${location}` +
      (plan.limit !== undefined ? `, first ${plan.limit} samples` : "") +
      (plan.shard !== undefined ? `, shard ${plan.shard.index}/${plan.shard.count}` : ""),
  );
  const progress = new ProgressReporter(`${model.name} / ${datasetName}`, {
    interactive,
    quiet: plan.quiet,
  });
  const run = taskRun(plan, model, datasetName, opened, prompts, {
    signal,
    predictions: hooks.predictions,
    onProgress: (p: EvaluationProgress) => {
      progress.update(p);
      onProgress?.(p);
    },
  });
  try {
    const definition = taskDefinition(task);
    if (plan.shard === undefined) {
      const start = new Date();
      const result = await definition.evaluate(run);
      const end = new Date();
      const { fingerprint, provenance } = await loadedModelProvenance(
        model,
        identity,
        cacheDirOf(plan),
      );
      // Filed under the hub id's name, not the cache folder's (a commit hash on Hugging Face).
      return {
        kind: "result",
        result: {
          ...result,
          model: modelName,
          clipbench: clipbenchBlock({
            model: provenance,
            settings: numberSettings(fingerprint, plan.split, plan.limit ?? null),
            task:
              (result.clipbench ?? { task_settings: definition.settings(run) }) as TaskProvenance,
            shards: null,
            samples: { scored: result.n_samples, skipped: result.n_skipped },
            time: runTiming(start, end, result.n_samples),
            runtime: await runtimeInfo(
              model.sessionSettings.executionProvider ?? "cpu",
              plan.threads,
            ),
          }),
        },
      };
    }
    const outcome = await definition.evaluateShard(run, plan.shard);
    return {
      kind: "partial",
      partial: await partialResult(plan, model, modelName, opened, outcome),
    };
  } finally {
    progress.finish();
  }
}

/** A shard's outcome with its fingerprint (src/results/partial/fingerprint.ts) and model name. */
async function partialResult(
  plan: EvalPlan,
  model: ClipModel,
  modelName: string,
  opened: OpenedDataset,
  outcome: ShardOutcome,
): Promise<PartialResult> {
  const dataset = opened.dataset;
  const fingerprint: PartialFingerprint = {
    model: await modelFingerprint(model, cacheDirOf(plan)),
    dataset: {
      name: outcome.resultFields.dataset,
      split: plan.split,
      task: opened.task,
      type: dataset.type,
      nshards: dataset.nshards,
    },
    task: outcome.taskFingerprint,
    options: {
      batch_size: plan.batchSize,
      max_skipped: plan.maxSkippedFraction,
      limit: plan.limit ?? null,
    },
  };
  return {
    fingerprint,
    outcome: { ...outcome, resultFields: { ...outcome.resultFields, model: modelName } },
  };
}
