/**
 * How the partial outcomes of a sharded zero-shot retrieval merge into the unsharded run's result,
 * bit for bit: images are renumbered in the unsharded run's order
 * (src/results/partial/global_order.ts) and each image's captions follow it in their own order,
 * which is how the unsharded run numbers images and captions, so every rank (ties go to the lower
 * index) and every float32 mean is the same.
 *
 * @module
 */

import { RetrievalAccumulator } from "../../src/metrics/retrieval.ts";
import { globalOrder } from "../../src/results/partial/global_order.ts";
import { PartialError } from "../../src/results/partial/partial_file.ts";
import type { RetrievalShardState } from "../../src/results/partial/shard_outcome.ts";
import type { TaskResult } from "../../src/results/result.ts";
import type { TaskMerge } from "../../src/run/task_registry.ts";
import { retrievalRows } from "./predictions.ts";
import { zeroShotRetrievalResult } from "./result.ts";

/**
 * The merged predictions: each shard row (`key`, `captions`, in global order) with its image's
 * ranks from the merged accumulator.
 *
 * @throws {PartialError} when the rows do not match the merged images and captions.
 */
function rankedRows(
  rows: readonly Record<string, unknown>[],
  accumulator: RetrievalAccumulator,
): object[] {
  const ranks = retrievalRows(accumulator);
  if (rows.length !== ranks.length) {
    throw new PartialError(
      `the shards' predictions list ${rows.length} images, their partials ${ranks.length}`,
    );
  }
  return rows.map((row, image) => {
    if (row.captions !== ranks[image].image_ranks.length) {
      throw new PartialError(
        `predictions of ${row.key} list ${row.captions} captions, the partial ` +
          `${ranks[image].image_ranks.length}`,
      );
    }
    return { key: row.key, ...ranks[image] };
  });
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

/**
 * The result of merged retrieval shards.
 *
 * @throws {PartialError} when the partials disagree on the embedding size or have no recall@k
 * list.
 * @throws {DatasetError} when no image was scored or too many samples were skipped.
 * @throws {UsageError} when a recall@k exceeds the number of images or captions.
 */
export function mergeRetrievalShards(merge: TaskMerge): TaskResult {
  const { outcomes, sources, fingerprint, tally, skippedCount, skipped } = merge;
  const fields = outcomes[0].resultFields;
  const recallK = fingerprint.task.recall_k;
  if (!Array.isArray(recallK)) {
    throw new PartialError(`${sources[0]}: the fingerprint has no recall@k list`);
  }
  const states = outcomes.map((o) => o.state as RetrievalShardState);
  const merged = mergeRetrieval(states, sources);
  tally.check(merged?.accumulator.imageCount ?? 0);
  const accumulator = merged!.accumulator;
  if (merge.predictions) merge.predictions.emit(rankedRows(merge.predictions.rows, accumulator));
  return zeroShotRetrievalResult(
    { dataset: String(fields.dataset), model: String(fields.model) },
    accumulator.result(recallK as number[]),
    recallK as number[],
    {
      images: accumulator.imageCount,
      captions: accumulator.captionCount,
      skippedCount,
      skipped,
    },
  );
}
