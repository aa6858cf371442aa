/**
 * The one skeleton every task plugs into. A task scores images: it prepares its text side once
 * (a classifier, nothing for retrieval), takes a payload from each sample (a label, captions),
 * scores each batch of image embeddings with those payloads, and reports a result — or, for one
 * shard of a sharded run, the outcome whose states merge into that result. An
 * {@linkcode ImageTask} says only that; this module does the rest, the same way for every task:
 *
 * 1. the task's own option checks ({@linkcode ImageTask.validate}); a shard refuses a `limit`
 *    first;
 * 2. a {@linkcode SampleTally} counts the samples read and skipped and reports progress;
 * 3. the task prepares its scorer ({@linkcode ImageTask.prepare});
 * 4. the samples — all of them up to `limit`, or one shard's, whose positions are recorded
 *    (src/dataset/sharding/shard_reading.ts) — go through the image pipeline
 *    (src/pipeline/image_embeddings.ts); a sample whose payload cannot be taken is skipped with the
 *    reason;
 * 5. each batch is scored in stream order;
 * 6. whole dataset: the tally checks the number scored and the skipped fraction, then the task
 *    builds its result ({@linkcode ImageTask.result}); one shard: the task gives its result fields,
 *    fingerprint and metric state ({@linkcode ImageTask.shardState}) and this module adds how the
 *    shard read the dataset and its counts.
 *
 * {@linkcode defineTask} turns an {@linkcode ImageTask} into the
 * {@linkcode TaskDefinition} the runner and the merge look up (src/run/task_registry.ts);
 * tasks/mod.ts registers it.
 *
 * @module
 */

import type { ShardableDataset } from "../src/dataset/sharding/shard_reading.ts";
import {
  evaluationSamples,
  PositionList,
  ShardReader,
} from "../src/dataset/sharding/shard_reading.ts";
import type { ShardSpec } from "../src/dataset/sharding/shard_spec.ts";
import type { Sample } from "../src/dataset/webdataset.ts";
import { UsageError } from "../src/errors.ts";
import type { ClipModel } from "../src/model/model.ts";
import {
  type EmbeddingBatch,
  imageEmbeddingBatches,
  type PipelineOptions,
} from "../src/pipeline/image_embeddings.ts";
import type { ShardOutcome } from "../src/results/partial/shard_outcome.ts";
import type { TaskPredictionsHeader } from "../src/results/predictions/predictions_file.ts";
import type { PredictionSink } from "../src/results/predictions/predictions_writer.ts";
import type { SkippedSample, TaskName, TaskResult } from "../src/results/result.ts";
import {
  type EvaluationProgress,
  SampleTally,
  type TalliedDataset,
} from "../src/run/sample_tally.ts";
import type { TaskDefinition, TaskMerge, TaskRun } from "../src/run/task_registry.ts";

/** The options every task takes. */
export interface ImageTaskOptions extends PipelineOptions {
  /** Dataset name written into the result. */
  readonly datasetName: string;
  /** Images per batch, and texts (prompts, captions) per text-encoder batch; default 128. */
  readonly batchSize?: number;
  /** Score only the first `limit` samples in shard order. */
  readonly limit?: number;
  /** Fail when more than this fraction of the samples is skipped; default 0.01. */
  readonly maxSkippedFraction?: number;
  /** Called as samples are read. */
  readonly onProgress?: (progress: EvaluationProgress) => void;
  /** Stops the evaluation. */
  readonly signal?: AbortSignal;
  /**
   * Where each scored sample's prediction goes (`--save-predictions`,
   * src/results/predictions/predictions_file.ts); none when absent.
   */
  readonly predictions?: PredictionSink;
}

/** What a task reads: a dataset whose samples stream in shard order. */
export type ImageTaskDataset = ShardableDataset & TalliedDataset & { readonly root: string };

/** One evaluation as a task's hooks see it. */
export interface TaskContext<Dataset, Options> {
  /** The model. */
  readonly model: ClipModel;
  /** The dataset. */
  readonly dataset: Dataset;
  /** The task's options. */
  readonly options: Options;
  /** Images per batch, and texts per text-encoder batch (the option, or 128). */
  readonly batchSize: number;
}

/**
 * Which prediction rows a batch should give: those of a whole run's file, or those of a shard's
 * (src/results/predictions/predictions_file.ts); none when predictions are not saved.
 */
export type PredictionRows = "whole" | "shard";

/** How a task scores: what it takes from each sample, and what it does with a batch. */
export interface BatchScorer<Payload> {
  /** What the task needs of a sample besides its image; throws (any error) to skip the sample. */
  payload(sample: Sample): Payload;
  /**
   * Scores one batch of image embeddings (in stream order); `items` are the samples' payloads.
   * With `rows`, returns one prediction row per sample (without its key and position, which the
   * skeleton adds), or nothing when the task gives its rows at the end
   * ({@linkcode ImageTask.finalPredictions}).
   */
  score(
    batch: EmbeddingBatch<Payload>,
    rows?: PredictionRows,
  ): void | readonly object[] | Promise<void | readonly object[]>;
  /** Samples scored so far. */
  scored(): number;
}

/** The skipped samples of a whole-dataset run, as its result lists them. */
export interface SkipCounts {
  /** All skipped samples. */
  readonly skippedCount: number;
  /** The first skipped samples. */
  readonly skipped: readonly SkippedSample[];
}

/** What a task records of one shard besides its counts (see {@linkcode ShardOutcome}). */
export type ShardState = Pick<ShardOutcome, "resultFields" | "taskFingerprint" | "state">;

/**
 * A task: the hooks the skeleton calls. `Scorer` is what {@linkcode ImageTask.prepare} makes and
 * the other hooks read (its metric accumulator, its classifier).
 */
export interface ImageTask<
  Dataset extends ImageTaskDataset,
  Options extends ImageTaskOptions,
  Payload,
  Scorer extends BatchScorer<Payload>,
  Result extends TaskResult,
> {
  /** Its name, as results and `--task` spell it. */
  readonly name: TaskName;
  /** The dataset of a run of the runner (src/run/evaluate.ts). */
  datasetOf(run: TaskRun): Dataset;
  /** The task's options from a run of the runner. */
  optionsOf(run: TaskRun): Options;
  /** Checks the options before anything is read; throws to refuse them. */
  validate?(options: Options): void;
  /**
   * The task's settings that change numbers, as its result's `clipbench.task_settings` records
   * them (src/results/provenance.ts), known before anything is scored; none when absent.
   */
  settings?(dataset: Dataset, options: Options): Readonly<Record<string, unknown>>;
  /** Prepares the scoring (the text side), before any sample is read. */
  prepare(context: TaskContext<Dataset, Options>): Promise<Scorer>;
  /** What the predictions file's header says of the task, once prepared. */
  predictionsHeader(scorer: Scorer, context: TaskContext<Dataset, Options>): TaskPredictionsHeader;
  /**
   * A whole run's prediction rows when they need every sample (retrieval's ranks): one per
   * sample scored, in scoring order, without keys; absent when each batch gives its rows.
   */
  finalPredictions?(scorer: Scorer, context: TaskContext<Dataset, Options>): Iterable<object>;
  /** The result of a whole dataset, once the tally's checks passed. */
  result(scorer: Scorer, context: TaskContext<Dataset, Options>, skips: SkipCounts): Result;
  /**
   * What a shard records for the merge: the result's fields, the fingerprint of what its numbers
   * depend on, and its metric state; `positions` holds the position of each sample scored, in
   * scoring order.
   */
  shardState(
    scorer: Scorer,
    context: TaskContext<Dataset, Options>,
    positions: PositionList,
  ): ShardState;
  /** Merges the outcomes of all shards into the result an unsharded run writes. */
  merge(merge: TaskMerge): TaskResult;
}

/** Reads and scores the samples (all, or one shard's with their positions). */
async function scoreSamples<
  Dataset extends ImageTaskDataset,
  Options extends ImageTaskOptions,
  Payload,
  Scorer extends BatchScorer<Payload>,
>(
  task: ImageTask<Dataset, Options, Payload, Scorer, TaskResult>,
  model: ClipModel,
  dataset: Dataset,
  options: Options,
  shard?: { reader: ShardReader; positions: PositionList },
) {
  const context = { model, dataset, options, batchSize: options.batchSize ?? 128 };
  const tally = new SampleTally(dataset, options);
  const scorer = await task.prepare(context);
  const sink = options.predictions;
  const rows: PredictionRows | undefined = sink && (shard ? "shard" : "whole");
  // Keys of the samples scored, for rows given at the end.
  const keys: string[] | undefined = rows === "whole" && task.finalPredictions ? [] : undefined;
  await sink?.start(task.predictionsHeader(scorer, context));
  const { samples, skips, positionedSkipped } = evaluationSamples(
    dataset,
    tally,
    options,
    shard?.reader,
  );
  const batches = imageEmbeddingBatches(samples, model, {
    batchSize: context.batchSize,
    extract: (sample) => ({
      payload: scorer.payload(sample),
      key: sample.key,
      position: shard?.reader.positionOf(sample),
    }),
    onSkip: skips.onSkip,
    onSample: skips.onSample,
    numWorkers: options.numWorkers,
    inferenceWorker: options.inferenceWorker,
    signal: options.signal,
  });
  // Batches come in stream order (see src/pipeline/image_embeddings.ts for the overlap of
  // decoding and inference).
  for await (const batch of batches) {
    const batchRows = await scorer.score(
      { ...batch, items: batch.items.map((item) => item.payload) },
      rows,
    );
    if (shard) { for (const item of batch.items) shard.positions.push(item.position!); }
    if (keys) { for (const item of batch.items) keys.push(item.key); }
    if (sink && batchRows) {
      await sink.write(batchRows.map((row, i) => {
        const { key, position } = batch.items[i];
        return { key, ...row, ...(position && { position: [position.shard, position.index] }) };
      }));
    }
  }
  if (sink && keys) {
    let i = 0;
    const final: object[] = [];
    for (const row of task.finalPredictions!(scorer, context)) {
      final.push({ key: keys[i++], ...row });
      if (final.length === 1024) await sink.write(final.splice(0));
    }
    await sink.write(final);
  }
  return { context, scorer, tally, positionedSkipped };
}

/**
 * Runs `task` on a whole dataset (up to the options' `limit`).
 *
 * @throws {DatasetError} when no sample could be scored, or more than `maxSkippedFraction` of the
 * samples had to be skipped; and whatever the task's hooks throw.
 * @throws {UsageError} when `maxSkippedFraction` is outside [0, 1].
 */
export async function evaluateImageTask<
  Dataset extends ImageTaskDataset,
  Options extends ImageTaskOptions,
  Payload,
  Scorer extends BatchScorer<Payload>,
  Result extends TaskResult,
>(
  task: ImageTask<Dataset, Options, Payload, Scorer, Result>,
  model: ClipModel,
  dataset: Dataset,
  options: Options,
): Promise<Result> {
  task.validate?.(options);
  const { context, scorer, tally } = await scoreSamples(task, model, dataset, options);
  tally.check(scorer.scored());
  return task.result(scorer, context, { skippedCount: tally.skippedCount, skipped: tally.skipped });
}

/**
 * Runs one shard of `task` (src/dataset/sharding/shard_reading.ts says which samples) and returns
 * what it collected, for src/results/partial/merge.ts to merge with the other shards. `limit` is
 * not allowed (a shard cannot know which samples come first globally). The skipped-sample
 * threshold is checked by the merge, over all shards; a shard may score no sample at all.
 *
 * @throws {UsageError} when `limit` is given.
 */
export async function evaluateImageTaskShard<
  Dataset extends ImageTaskDataset,
  Options extends ImageTaskOptions,
  Payload,
  Scorer extends BatchScorer<Payload>,
>(
  task: ImageTask<Dataset, Options, Payload, Scorer, TaskResult>,
  model: ClipModel,
  dataset: Dataset,
  options: Options,
  shard: ShardSpec,
): Promise<ShardOutcome> {
  if (options.limit !== undefined) {
    throw new UsageError("a limit cannot be combined with a shard (see --shard in the README)");
  }
  task.validate?.(options);
  const reader = new ShardReader(dataset, shard);
  const positions = new PositionList();
  const { context, scorer, tally, positionedSkipped } = await scoreSamples(
    task,
    model,
    dataset,
    options,
    { reader, positions },
  );
  const { resultFields, taskFingerprint, state } = task.shardState(scorer, context, positions);
  return {
    shard,
    reading: { mode: reader.plan.mode, tarShards: reader.plan.tarShards, nshards: dataset.nshards },
    datasetRoot: dataset.root,
    resultFields,
    taskFingerprint,
    state,
    read: tally.read,
    scored: scorer.scored(),
    skippedCount: tally.skippedCount,
    skipped: positionedSkipped ?? [],
  };
}

/** The definition the runner and the merge look up (src/run/task_registry.ts) of `task`. */
export function defineTask<
  Dataset extends ImageTaskDataset,
  Options extends ImageTaskOptions,
  Payload,
  Scorer extends BatchScorer<Payload>,
>(task: ImageTask<Dataset, Options, Payload, Scorer, TaskResult>): TaskDefinition {
  return {
    name: task.name,
    settings: (run) => task.settings?.(task.datasetOf(run), task.optionsOf(run)) ?? {},
    evaluate: (run) => evaluateImageTask(task, run.model, task.datasetOf(run), task.optionsOf(run)),
    evaluateShard: (run, shard) =>
      evaluateImageTaskShard(task, run.model, task.datasetOf(run), task.optionsOf(run), shard),
    merge: (merge) => task.merge(merge),
  };
}
