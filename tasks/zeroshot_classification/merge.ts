/**
 * How the partial outcomes of a sharded zero-shot classification merge into the unsharded run's
 * result, bit for bit: single-label per-class counts are integers, added exactly, and acc@k and the
 * mean per-class recall are computed from the sums as the unsharded run computes them
 * ({@linkcode ClassificationAccumulator}); multi-label logits and targets are put back in the
 * unsharded run's sample order (src/results/partial/global_order.ts) before the mean average
 * precision ranks them, so ties and torch's float32 summation order are the same.
 *
 * @module
 */

import { ClassificationAccumulator } from "../../src/metrics/classification.ts";
import { MultilabelAccumulator } from "../../src/metrics/multilabel.ts";
import { globalOrder } from "../../src/results/partial/global_order.ts";
import { PartialError } from "../../src/results/partial/partial_file.ts";
import type { MultilabelShardState } from "../../src/results/partial/shard_outcome.ts";
import type { TaskResult } from "../../src/results/result.ts";
import type { TaskMerge } from "../../src/run/task_registry.ts";
import { perClassRecall } from "../../src/results/provenance.ts";
import {
  type ClassificationResultFields,
  classificationSettings,
  zeroShotClassificationResult,
} from "./result.ts";

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

/**
 * The result of merged classification (single- or multi-label) shards.
 *
 * @throws {PartialError} when per-class counts do not merge, or the partials are not of a
 * classification.
 * @throws {DatasetError} when nothing was scored or too many samples were skipped.
 */
export function mergeClassificationShards(merge: TaskMerge): TaskResult {
  const { outcomes, sources, tally, skippedCount, skipped, fingerprint } = merge;
  const first = outcomes[0];
  // Each row is complete in its shard's file: the merged file holds them in global order.
  merge.predictions?.emit(merge.predictions.rows);
  const fields = first.resultFields as unknown as ClassificationResultFields;
  // The class names and templates the shards used, as their fingerprint records them.
  const taskSettings = classificationSettings(
    fingerprint.task.classnames as string[],
    fingerprint.task.templates as string[] | Record<string, string[]>,
  );
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
    const counts = accumulator.state();
    return zeroShotClassificationResult(
      fields,
      accumulator.result(),
      { scored: accumulator.count, skippedCount, skipped },
      {
        task_settings: taskSettings,
        per_class_recall: perClassRecall(counts.perClassTotal, counts.perClassCorrect),
      },
    );
  }
  if (first.state.kind === "multilabel") {
    const states = outcomes.map((o) => o.state as MultilabelShardState);
    const { accumulator, scored } = mergeMultilabel(states, sources);
    tally.check(scored);
    return zeroShotClassificationResult(
      fields,
      accumulator.result(),
      { scored, skippedCount, skipped },
      { task_settings: taskSettings },
    );
  }
  throw new PartialError(`${sources[0]}: a ${first.state.kind} partial is not a classification's`, {
    path: sources[0],
  });
}
