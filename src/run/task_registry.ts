/**
 * The tasks the runner (src/run/evaluate.ts) and the merge of shards
 * (src/results/partial/merge.ts) can run, looked up by name. Dependencies point one way: `tasks/`
 * use `src/`, nothing in `src/` imports `tasks/`; `tasks/mod.ts` registers every task, and the
 * entry points (`cli.ts`, `mod.ts`) import it.
 *
 * A task plugs in with one {@linkcode TaskDefinition}: how it evaluates a whole dataset, how it
 * evaluates one shard into a partial outcome, and how the partial outcomes of all shards merge
 * into the result the whole run would have written.
 *
 * @module
 */

import { ClipbenchError } from "../errors.ts";
import type { CustomDataset } from "../dataset/custom.ts";
import type { ShardSpec } from "../dataset/sharding/shard_spec.ts";
import type { WebDataset } from "../dataset/wds.ts";
import type { ClipModel } from "../model/model.ts";
import type { PartialFingerprint } from "../results/partial/fingerprint.ts";
import type { PredictionSink } from "../results/predictions/predictions_writer.ts";
import type { ShardOutcome } from "../results/partial/shard_outcome.ts";
import type { SkippedSample, TaskName, TaskResult } from "../results/result.ts";
import type { EvalPlan } from "./config.ts";
import type { PromptFiles } from "./evaluate.ts";
import type { EvaluationProgress, SampleTally } from "./sample_tally.ts";

/** The options every task takes from the plan, as the runner passes them. */
export interface CommonTaskOptions {
  /** The dataset's name, for messages and result fields. */
  readonly datasetName: string;
  /** Images (and prompts) per batch. */
  readonly batchSize: number;
  /** Samples read at most. */
  readonly limit?: number;
  /** Largest fraction of skipped samples before the run fails. */
  readonly maxSkippedFraction?: number;
  /** Decoding workers. */
  readonly numWorkers?: number;
  /** Image inference in a worker. */
  readonly inferenceWorker?: boolean;
  /** Progress, every few samples. */
  readonly onProgress?: (progress: EvaluationProgress) => void;
  /** Stops the evaluation. */
  readonly signal?: AbortSignal;
  /** Where per-sample predictions go (`--save-predictions`). */
  readonly predictions?: PredictionSink;
}

/** One evaluation of a model on a dataset, as the runner hands it to a task. */
export interface TaskRun {
  /** The loaded model. */
  readonly model: ClipModel;
  /** The opened dataset (a custom one only for tasks that accept it). */
  readonly dataset: WebDataset | CustomDataset;
  /** The plan, for the task's own options. */
  readonly plan: EvalPlan;
  /** The options every task takes. */
  readonly common: CommonTaskOptions;
  /** Class-name and template overrides of the run. */
  readonly prompts: PromptFiles;
}

/** The partial outcomes of every shard of one evaluation, checked and ready to merge. */
export interface TaskMerge {
  /** The outcomes, shard 0 first. */
  readonly outcomes: readonly ShardOutcome[];
  /** Where each came from, for messages. */
  readonly sources: readonly string[];
  /** The fingerprint they share. */
  readonly fingerprint: PartialFingerprint;
  /** The tally over the whole dataset, its skipped samples already recorded. */
  readonly tally: SampleTally;
  /** Skipped samples over all shards. */
  readonly skippedCount: number;
  /** The first skipped samples in global order. */
  readonly skipped: readonly SkippedSample[];
  /**
   * The shards' prediction rows in global order, when every shard saved predictions
   * (src/results/predictions/merge_predictions.ts): the task gives the merged file's rows to
   * `emit` (as they are, or completed: retrieval adds its ranks).
   */
  readonly predictions?: {
    readonly rows: readonly Record<string, unknown>[];
    emit(rows: readonly object[]): void;
  };
}

/** A task: what the runner and the merge need of it. */
export interface TaskDefinition {
  /** Its name, as results and `--task` spell it. */
  readonly name: TaskName;
  /**
   * The task's settings that change numbers (the block's `task_settings`, src/results/provenance.ts),
   * known before anything is scored: what `--skip-existing` compares with an existing result's.
   */
  settings(run: TaskRun): Readonly<Record<string, unknown>>;
  /** Evaluates a whole dataset (up to the plan's limit). */
  evaluate(run: TaskRun): Promise<TaskResult>;
  /** Evaluates one shard of a dataset into the outcome its partial result file holds. */
  evaluateShard(run: TaskRun, shard: ShardSpec): Promise<ShardOutcome>;
  /**
   * Merges the outcomes of all shards into the result an unsharded run writes.
   *
   * @throws {DatasetError} when nothing was scored or too many samples were skipped.
   */
  merge(merge: TaskMerge): TaskResult;
}

const registered = new Map<TaskName, TaskDefinition>();

/** Registers a task (tasks/mod.ts does, for every task); a later one of the same name replaces it. */
export function registerTask(definition: TaskDefinition): void {
  registered.set(definition.name, definition);
}

/**
 * The task registered under `name`.
 *
 * @throws {ClipbenchError} when none is: the caller did not import `tasks/mod.ts` (`mod.ts` and
 * `cli.ts` do).
 */
export function taskDefinition(name: TaskName): TaskDefinition {
  const definition = registered.get(name);
  if (definition === undefined) {
    throw new ClipbenchError(
      `no task '${name}' is registered: import tasks/mod.ts (mod.ts and cli.ts do) before ` +
        `evaluating or merging`,
    );
  }
  return definition;
}
