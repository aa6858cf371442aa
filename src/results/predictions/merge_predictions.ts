/**
 * Merging the predictions of a sharded run's shards (each `<partial>.predictions.jsonl`, written
 * beside its partial result with `--save-predictions`) into the predictions file an unsharded run
 * writes: the rows of all shards in the unsharded order — by position (tar shard, then sample
 * index), which is how the unsharded run scores them — without their positions. A row is the same
 * whichever shard scored it (a sample's logits do not depend on its batch for the graphs
 * src/results/partial/merge.ts names), so the merged file equals the unsharded one; retrieval's
 * ranks need every image, so the retrieval merge adds them (tasks/zeroshot_retrieval/merge.ts).
 *
 * Predictions are merged only when every shard has them; a set where only some have is refused
 * (naming the missing ones), as are shard files whose header does not match their partial.
 *
 * @module
 */

import { formatShardSpec } from "../../dataset/sharding/shard_spec.ts";
import type { TaskResult } from "../result.ts";
import { pathExists } from "../../io/path_exists.ts";
import type { PartialResult } from "../partial/partial_file.ts";
import {
  PredictionsError,
  type PredictionsHeader,
  predictionsPathFor,
  readPredictions,
  type ShardPredictionRow,
} from "./predictions_file.ts";
import { PredictionsWriter } from "./predictions_writer.ts";

/** The shards' rows in the unsharded order (positions removed), with their common header. */
export interface ShardPredictions {
  /** The header of the merged file (the shards' without `shard`). */
  readonly header: PredictionsHeader;
  /** Every row, in the unsharded order, without `position`. */
  readonly rows: readonly Record<string, unknown>[];
}

/**
 * Reads the predictions beside each partial, when every partial has them.
 *
 * @returns `undefined` when no partial has predictions.
 * @throws {PredictionsError} when only some partials have them, a file is malformed, its header
 *   is not its partial's shard, dataset, model and task, or two rows share a position.
 */
export async function readShardPredictions(
  partials: readonly { source: string; partial: PartialResult }[],
): Promise<ShardPredictions | undefined> {
  const paths = partials.map(({ source }) => predictionsPathFor(source));
  const present = await Promise.all(paths.map(pathExists));
  if (!present.some(Boolean)) return undefined;
  const missing = paths.filter((_, i) => !present[i]);
  if (missing.length > 0) {
    throw new PredictionsError(
      missing[0],
      `missing, while other shards have predictions (${
        paths.filter((_, i) => present[i]).join(", ")
      }); re-run the shard${missing.length > 1 ? "s" : ""} without predictions (${
        missing.join(", ")
      }) with --save-predictions, or merge without predictions by removing the others`,
    );
  }
  const located: { shard: number; index: number; row: Record<string, unknown> }[] = [];
  let header: PredictionsHeader | undefined;
  for (const [i, path] of paths.entries()) {
    const file = await readPredictions(path);
    const outcome = partials[i].partial.outcome;
    const expected = {
      shard: formatShardSpec(outcome.shard),
      dataset: String(outcome.resultFields.dataset),
      task: String(outcome.resultFields.task),
    };
    for (const [field, value] of Object.entries(expected)) {
      const found = file.header[field as keyof PredictionsHeader];
      if (found !== value) {
        throw new PredictionsError(
          path,
          `its ${field} is ${JSON.stringify(found)}, its partial's (${partials[i].source}) ${
            JSON.stringify(value)
          }`,
        );
      }
    }
    const { shard: _shard, ...common } = file.header;
    if (header === undefined) header = common as PredictionsHeader;
    else if (JSON.stringify(common) !== JSON.stringify(header)) {
      throw new PredictionsError(path, `its header differs from ${paths[0]}'s`);
    }
    for (const row of file.rows as ShardPredictionRow[]) {
      const { position, ...rest } = row;
      located.push({ shard: position[0], index: position[1], row: rest });
    }
  }
  located.sort((a, b) => a.shard - b.shard || a.index - b.index);
  for (let i = 1; i < located.length; i++) {
    const [a, b] = [located[i - 1], located[i]];
    if (a.shard === b.shard && a.index === b.index) {
      throw new PredictionsError(
        paths[0],
        `sample ${b.index} of tar shard ${b.shard} has predictions in two shards' files`,
      );
    }
  }
  return { header: header!, rows: located.map((l) => l.row) };
}

/**
 * Writes merged predictions beside the merged result file `resultFile`.
 *
 * @param rows The final rows, in order (the task merge's, with ranks for retrieval).
 * @returns the path written.
 */
export async function writeMergedPredictions(
  resultFile: string,
  result: TaskResult,
  header: PredictionsHeader,
  rows: readonly object[],
): Promise<string> {
  const writer = await PredictionsWriter.create(predictionsPathFor(resultFile), {
    dataset: result.dataset,
    model: result.model,
    task: result.task,
  });
  try {
    await writer.start(header);
    for (let from = 0; from < rows.length; from += 1024) {
      await writer.write(rows.slice(from, from + 1024));
    }
    return await writer.commit();
  } finally {
    await writer.discard();
  }
}
