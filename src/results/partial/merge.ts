/**
 * Merging the partial results of shards `0/n … (n-1)/n` into the result an unsharded run writes,
 * bit for bit.
 *
 * Checks, each refusal a {@linkcode PartialError} that names the files involved and what is
 * wrong:
 *
 * - every file is an intact partial (src/results/partial/partial_file.ts: magic, version, checksum);
 * - every partial is consistent with itself (src/results/partial/consistency.ts): its tar-file list is
 *   the one its shard index reads, each sample it holds belongs to that shard, its counts agree
 *   with its per-class counts, rows and embeddings, and every number is finite — so a partial
 *   rewritten with a recomputed checksum is refused too, naming the file and the field;
 * - all come from the same model, dataset, task inputs and options: their fingerprints
 *   (src/results/partial/fingerprint.ts) and result fields are equal, and the message names the first
 *   field that differs;
 * - all are shards of the same count `n`, each index `0 … n-1` exactly once (missing and
 *   duplicated shards are named).
 *
 * Why the numbers are exactly the unsharded run's:
 *
 * - classification: the counts are integers, added exactly; acc@k divides the same integers and
 *   the mean per-class recall runs NumPy's pairwise sum over the same per-class recalls in class
 *   order ({@linkcode ClassificationAccumulator}).
 * - multi-label: every sample's float32 logits and targets are put back in the unsharded run's
 *   order — sorted by position (tar shard, then index within it) — before the mean average
 *   precision ranks them, so ties and torch's float32 summation order are the same.
 * - retrieval: images are renumbered in the same global order and each image's captions follow
 *   it in their own order, which is how the unsharded run numbers images and captions, so every
 *   rank (ties go to the lower index) and every float32 mean is the same.
 * - skipped samples: the counts add up; the listed ones are the first in global order, as the
 *   unsharded run lists them; the skipped-sample threshold and "nothing scored" are checked over
 *   the whole dataset, with the unsharded run's messages.
 *
 * The merged result carries the `clipbench` block (src/results/provenance.ts) with what the
 * partials know: the model's name, family, fingerprint and file hashes (not the model as given:
 * `given` is `null`), the settings that change numbers, the task's settings and per-class recall
 * (computed from the merged counts), the shard count and how the shards read the dataset, and the
 * samples; `time` and `runtime` are `null` (the shards ran apart). `settings` and `task_settings`
 * are those of the unsharded run, so `--skip-existing` takes one for the other.
 *
 * The embeddings themselves are what onnxruntime computes for each image and caption; a shard
 * puts a sample in a different batch than an unsharded run would. For graphs whose rows do not
 * depend on the rest of the batch (CLIP's fixed-length text rows, the vision towers; checked on
 * the demo model) that changes nothing. Families whose text rows are padded to the longest row
 * of the batch (Chinese-CLIP, Jina) can differ in the last bits from one batching to another —
 * between two unsharded runs with different batch sizes as much as between sharded and unsharded.
 *
 * @module
 */

import { MAX_LISTED_SKIPS, type TaskName, type TaskResult } from "../result.ts";
import {
  clipbenchBlock,
  modelProvenanceOf,
  numberSettings,
  type TaskProvenance,
} from "../provenance.ts";
import { SampleTally } from "../../run/sample_tally.ts";
import type { PositionedSkip } from "../../dataset/sharding/shard_reading.ts";
import { formatShardSpec } from "../../dataset/sharding/shard_spec.ts";
import { taskDefinition } from "../../run/task_registry.ts";
import { checkPartialConsistency } from "./consistency.ts";
import { firstDifference } from "./fingerprint.ts";
import { PartialError, type PartialResult, readPartial } from "./partial_file.ts";
import type { ShardOutcome } from "./shard_outcome.ts";
import type { PredictionsHeader } from "../predictions/predictions_file.ts";
import {
  readShardPredictions,
  type ShardPredictions,
  writeMergedPredictions,
} from "../predictions/merge_predictions.ts";

/** A partial result and the file (or other source) it came from, for messages. */
export interface SourcedPartial {
  /** Where it came from. */
  readonly source: string;
  /** The partial. */
  readonly partial: PartialResult;
}

const GROUPS: readonly [keyof PartialResult["fingerprint"], string][] = [
  ["model", "model (its files or settings)"],
  ["dataset", "dataset"],
  ["task", "class names, templates, classifier or recall@k"],
  ["options", "options"],
];

/** Refuses partials that do not belong together (see the module documentation). */
function checkCompatible(partials: readonly SourcedPartial[]): void {
  const [first, ...rest] = partials;
  for (const other of rest) {
    const differ = (what: string, path: string, left: string, right: string) =>
      new PartialError(
        `${other.source} does not belong with ${first.source}: they differ in the ${what} ` +
          `(${path}: ${left} in ${first.source}, ${right} in ${other.source})`,
        { path: other.source },
      );
    for (const [group, what] of GROUPS) {
      const found = firstDifference(
        first.partial.fingerprint[group],
        other.partial.fingerprint[group],
        group,
      );
      if (found) throw differ(what, found.path, found.left, found.right);
    }
    const fields = firstDifference(
      first.partial.outcome.resultFields,
      other.partial.outcome.resultFields,
      "result",
    );
    if (fields) throw differ("result fields", fields.path, fields.left, fields.right);
    if (first.partial.outcome.state.kind !== other.partial.outcome.state.kind) {
      throw differ(
        "task",
        "state.kind",
        first.partial.outcome.state.kind,
        other.partial.outcome.state.kind,
      );
    }
  }
}

/** Refuses a set that is not exactly shards 0 … n-1 of one n. */
function checkShardSet(partials: readonly SourcedPartial[]): void {
  const count = partials[0].partial.outcome.shard.count;
  const bySlot = new Map<number, string>();
  for (const { source, partial } of partials) {
    const { shard } = partial.outcome;
    if (shard.count !== count) {
      throw new PartialError(
        `${source} is shard ${formatShardSpec(shard)} but ${partials[0].source} is shard ` +
          `${formatShardSpec(partials[0].partial.outcome.shard)}: partials of different shard ` +
          `counts cannot be merged`,
        { path: source },
      );
    }
    const earlier = bySlot.get(shard.index);
    if (earlier !== undefined) {
      throw new PartialError(
        `duplicate shard ${formatShardSpec(shard)}: given twice, as ${earlier} and ${source}`,
        { path: source },
      );
    }
    bySlot.set(shard.index, source);
  }
  const missing: string[] = [];
  for (let index = 0; index < count; index++) {
    if (!bySlot.has(index)) missing.push(formatShardSpec({ index, count }));
  }
  if (missing.length > 0) {
    const given = [...bySlot.keys()].sort((a, b) => a - b).map((index) =>
      formatShardSpec({ index, count })
    );
    throw new PartialError(
      `missing shard${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of ${count} ` +
        `(given: ${given.join(", ")})`,
    );
  }
}

/** The skipped samples of all shards: the total and the first ones in global order. */
function mergeSkips(outcomes: readonly ShardOutcome[]): {
  count: number;
  first: PositionedSkip[];
} {
  const all = outcomes.flatMap((o) => o.skipped);
  all.sort((a, b) => a.shard - b.shard || a.index - b.index);
  return {
    count: outcomes.reduce((sum, o) => sum + o.skippedCount, 0),
    first: all.slice(0, MAX_LISTED_SKIPS),
  };
}

/**
 * Merges the partial results of all shards of one evaluation into its result.
 *
 * @throws {PartialError} when a partial is inconsistent, the partials do not belong together, or
 * shards are missing or duplicated (see the module documentation).
 * @throws {DatasetError} when no sample was scored, or more than the allowed fraction skipped —
 * as the unsharded run would have failed.
 * @throws {UsageError} when a recall@k exceeds the number of images or captions.
 */
export function mergePartials(partials: readonly SourcedPartial[]): TaskResult {
  return mergeWithPredictions(partials).result;
}

/** A merged result, and the merged predictions when the shards saved some. */
export interface MergedResult {
  /** The result. */
  readonly result: TaskResult;
  /** The merged predictions file's header and rows. */
  readonly predictions?: { readonly header: PredictionsHeader; readonly rows: readonly object[] };
}

/**
 * {@linkcode mergePartials}, and with the shards' predictions (`shardPredictions`, read by
 * src/results/predictions/merge_predictions.ts) their merged rows.
 *
 * @throws {PartialError} as {@linkcode mergePartials}, and when the task gives no rows for the
 *   predictions.
 */
export function mergeWithPredictions(
  partials: readonly SourcedPartial[],
  shardPredictions?: ShardPredictions,
): MergedResult {
  if (partials.length === 0) throw new PartialError("no partial results to merge");
  for (const { source, partial } of partials) checkPartialConsistency(source, partial);
  checkCompatible(partials);
  checkShardSet(partials);
  const sources = partials.map((p) => p.source);
  const outcomes = partials.map((p) => p.partial.outcome);
  const { fingerprint } = partials[0].partial;
  const first = outcomes[0];

  const skips = mergeSkips(outcomes);
  const maxSkipped = fingerprint.options.max_skipped;
  const tally = new SampleTally(
    { root: first.datasetRoot, shardUrls: [] },
    { maxSkippedFraction: typeof maxSkipped === "number" ? maxSkipped : undefined },
  );
  for (const skip of skips.first) {
    tally.onSkip({ key: skip.key, source: skip.source, reason: skip.reason });
  }
  tally.skippedCount = skips.count;
  let emitted: readonly object[] | undefined;
  const result = taskDefinition(first.resultFields.task as TaskName).merge({
    outcomes,
    sources,
    fingerprint,
    tally,
    skippedCount: skips.count,
    skipped: tally.skipped,
    ...(shardPredictions && {
      predictions: { rows: shardPredictions.rows, emit: (rows) => (emitted = rows) },
    }),
  });
  if (shardPredictions && emitted === undefined) {
    throw new PartialError(`${sources[0]}: the ${result.task} merge gave no prediction rows`);
  }
  const limit = fingerprint.options.limit;
  const merged = {
    ...result,
    clipbench: clipbenchBlock({
      model: modelProvenanceOf(fingerprint.model, { given: null, name: result.model }),
      settings: numberSettings(
        fingerprint.model,
        String(fingerprint.dataset.split),
        typeof limit === "number" ? limit : null,
      ),
      task: (result.clipbench ?? { task_settings: {} }) as TaskProvenance,
      shards: {
        count: first.shard.count,
        reading: first.reading.mode,
        tar_files: first.reading.nshards,
      },
      samples: { scored: result.n_samples, skipped: result.n_skipped },
      time: null,
      runtime: null,
    }),
  };
  return {
    result: merged,
    ...(shardPredictions && {
      predictions: { header: { ...shardPredictions.header, model: merged.model }, rows: emitted! },
    }),
  };
}

/**
 * Reads partial files and merges them ({@linkcode mergePartials}).
 *
 * @throws {PartialError} for an unreadable or corrupted file, and as {@linkcode mergePartials}.
 */
export async function mergePartialFiles(paths: readonly string[]): Promise<TaskResult> {
  const partials: SourcedPartial[] = [];
  for (const path of paths) partials.push({ source: path, partial: await readPartial(path) });
  return mergePartials(partials);
}

/**
 * Reads partial files (and the predictions beside them, when every shard saved some), merges them,
 * writes the result with `writeResult` and the merged predictions beside it.
 *
 * @returns the result, the path `writeResult` gave, and the predictions file written.
 * @throws {PartialError} as {@linkcode mergePartialFiles}.
 * @throws {PredictionsError} when only some shards saved predictions or a file does not fit.
 */
export async function mergePartialFilesAndWrite(
  paths: readonly string[],
  writeResult: (result: TaskResult) => Promise<string>,
): Promise<{ result: TaskResult; path: string; predictionsPath?: string }> {
  const partials: SourcedPartial[] = [];
  for (const path of paths) partials.push({ source: path, partial: await readPartial(path) });
  const shardPredictions = await readShardPredictions(partials);
  const { result, predictions } = mergeWithPredictions(partials, shardPredictions);
  const path = await writeResult(result);
  const predictionsPath = predictions &&
    await writeMergedPredictions(path, result, predictions.header, predictions.rows);
  return { result, path, ...(predictionsPath && { predictionsPath }) };
}
