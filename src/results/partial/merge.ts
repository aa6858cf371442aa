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
 * The embeddings themselves are what onnxruntime computes for each image and caption; a shard
 * puts a sample in a different batch than an unsharded run would. For graphs whose rows do not
 * depend on the rest of the batch (CLIP's fixed-length text rows, the vision towers; checked on
 * the demo model) that changes nothing. Families whose text rows are padded to the longest row
 * of the batch (Chinese-CLIP, Jina) can differ in the last bits from one batching to another —
 * between two unsharded runs with different batch sizes as much as between sharded and unsharded.
 *
 * @module
 */

import { ClassificationAccumulator } from "../../metrics/classification.ts";
import { MultilabelAccumulator } from "../../metrics/multilabel.ts";
import { RetrievalAccumulator } from "../../metrics/retrieval.ts";
import { MAX_LISTED_SKIPS, type TaskResult } from "../result.ts";
import { SampleTally } from "../../run/sample_tally.ts";
import type { PositionedSkip } from "../../dataset/sharding/shard_reading.ts";
import { formatShardSpec } from "../../dataset/sharding/shard_spec.ts";
import {
  type ClassificationResultFields,
  zeroShotClassificationResult,
} from "../../../tasks/zeroshot_classification/mod.ts";
import { zeroShotRetrievalResult } from "../../../tasks/zeroshot_retrieval.ts";
import { checkPartialConsistency } from "./consistency.ts";
import { firstDifference } from "./fingerprint.ts";
import { PartialError, type PartialResult, readPartial } from "./partial_file.ts";
import type {
  MultilabelShardState,
  RetrievalShardState,
  ShardOutcome,
  ShardPositions,
} from "./shard_outcome.ts";

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

/** One row of a shard, located by its sample's position. */
interface Located {
  readonly shard: number;
  readonly index: number;
  /** Which partial. */
  readonly part: number;
  /** Which row of that partial. */
  readonly row: number;
}

/** Every row of every partial, in the dataset's global order; duplicates refused. */
function globalOrder(
  positions: readonly ShardPositions[],
  sources: readonly string[],
): Located[] {
  const rows: Located[] = [];
  positions.forEach((p, part) => {
    for (let row = 0; row < p.shards.length; row++) {
      rows.push({ shard: p.shards[row], index: p.indices[row], part, row });
    }
  });
  rows.sort((a, b) => a.shard - b.shard || a.index - b.index);
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1];
    const b = rows[i];
    if (a.shard === b.shard && a.index === b.index) {
      throw new PartialError(
        `sample ${b.index} of tar shard ${b.shard} is in both ${sources[a.part]} and ` +
          `${sources[b.part]}: the partials overlap`,
      );
    }
  }
  return rows;
}

function mergeMultilabel(
  states: readonly MultilabelShardState[],
  sources: readonly string[],
) {
  const { numClasses, torchVectorLanes } = states[0];
  const order = globalOrder(states.map((s) => s.positions), sources);
  const scores = new Float32Array(order.length * numClasses);
  const targets: Uint8Array[] = [];
  order.forEach(({ part, row }, i) => {
    const from = row * numClasses;
    scores.set(states[part].scores.subarray(from, from + numClasses), i * numClasses);
    targets.push(states[part].targets.subarray(from, from + numClasses));
  });
  const accumulator = new MultilabelAccumulator(numClasses, { torchVectorLanes });
  accumulator.update(scores, targets);
  return { accumulator, scored: order.length };
}

function mergeRetrieval(states: readonly RetrievalShardState[], sources: readonly string[]) {
  const withImages = states.map((state, part) => ({ state, part })).filter((s) => s.state.dim > 0);
  if (withImages.length === 0) return undefined;
  const dim = withImages[0].state.dim;
  for (const { state, part } of withImages) {
    if (state.dim !== dim) {
      throw new PartialError(
        `${sources[part]} has ${state.dim}-dimensional embeddings, ` +
          `${sources[withImages[0].part]} ${dim}-dimensional`,
        { path: sources[part] },
      );
    }
  }
  // Where each image's captions start in its partial.
  const firstCaption = states.map((state) => {
    const starts = new Int32Array(state.captionCounts.length);
    let next = 0;
    state.captionCounts.forEach((count, image) => {
      starts[image] = next;
      next += count;
    });
    return starts;
  });
  const order = globalOrder(states.map((s) => s.positions), sources);
  let captionTotal = 0;
  for (const { part, row } of order) captionTotal += states[part].captionCounts[row];
  const images = new Float32Array(order.length * dim);
  const captions = new Float32Array(captionTotal * dim);
  const captionImages = new Int32Array(captionTotal);
  let caption = 0;
  order.forEach(({ part, row }, image) => {
    const state = states[part];
    images.set(state.images.subarray(row * dim, (row + 1) * dim), image * dim);
    const count = state.captionCounts[row];
    const from = firstCaption[part][row] * dim;
    captions.set(state.captions.subarray(from, from + count * dim), caption * dim);
    captionImages.fill(image, caption, caption + count);
    caption += count;
  });
  const accumulator = new RetrievalAccumulator(dim);
  accumulator.addImages(images, order.length);
  accumulator.addCaptions(captions, captionImages);
  return { accumulator };
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
  const skipped = tally.skipped;
  const fields = first.resultFields;

  if (first.state.kind === "classification") {
    const accumulator = new ClassificationAccumulator(first.state.counts.numClasses);
    outcomes.forEach((outcome, part) => {
      if (outcome.state.kind !== "classification") return;
      try {
        accumulator.merge(outcome.state.counts);
      } catch (error) {
        throw new PartialError(`${sources[part]}: ${(error as Error).message}`, {
          path: sources[part],
          cause: error,
        });
      }
    });
    tally.check(accumulator.count);
    return zeroShotClassificationResult(
      fields as unknown as ClassificationResultFields,
      accumulator.result(),
      { scored: accumulator.count, skippedCount: skips.count, skipped },
    );
  }
  if (first.state.kind === "multilabel") {
    const states = outcomes.map((o) => o.state as MultilabelShardState);
    const { accumulator, scored } = mergeMultilabel(states, sources);
    tally.check(scored);
    return zeroShotClassificationResult(
      fields as unknown as ClassificationResultFields,
      accumulator.result(),
      { scored, skippedCount: skips.count, skipped },
    );
  }
  const recallK = fingerprint.task.recall_k;
  if (!Array.isArray(recallK)) {
    throw new PartialError(`${sources[0]}: the fingerprint has no recall@k list`);
  }
  const states = outcomes.map((o) => o.state as RetrievalShardState);
  const merged = mergeRetrieval(states, sources);
  tally.check(merged?.accumulator.imageCount ?? 0);
  const accumulator = merged!.accumulator;
  return zeroShotRetrievalResult(
    { dataset: String(fields.dataset), model: String(fields.model) },
    accumulator.result(recallK as number[]),
    {
      images: accumulator.imageCount,
      captions: accumulator.captionCount,
      skippedCount: skips.count,
      skipped,
    },
  );
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
