/**
 * Zero-shot retrieval as the runner and the merge see it (src/run/task_registry.ts): its options
 * from the plan, its whole-dataset and shard evaluations, its merge.
 *
 * @module
 */

import type { TaskDefinition, TaskRun } from "../../src/run/task_registry.ts";
import { mergeRetrievalShards } from "./merge.ts";
import {
  evaluateZeroShotRetrieval,
  evaluateZeroShotRetrievalShard,
  type ZeroShotRetrievalOptions,
} from "./mod.ts";

/** The task's options: the common ones and recall@k. */
function options(run: TaskRun): ZeroShotRetrievalOptions {
  return { ...run.common, recallK: run.plan.recallK };
}

/** Zero-shot image–text retrieval (WebDatasets with captions, and evalscope's custom folders). */
export const zeroShotRetrievalTask: TaskDefinition = {
  name: "zeroshot_retrieval",
  evaluate: (run) => evaluateZeroShotRetrieval(run.model, run.dataset, options(run)),
  evaluateShard: (run, shard) =>
    evaluateZeroShotRetrievalShard(run.model, run.dataset, options(run), shard),
  merge: mergeRetrievalShards,
};
