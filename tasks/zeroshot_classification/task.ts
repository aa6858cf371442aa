/**
 * Zero-shot classification as the runner and the merge see it (src/run/task_registry.ts): its
 * options from the plan, its whole-dataset and shard evaluations, its merge.
 *
 * @module
 */

import { promptOverridesFor } from "../../src/dataset/prompts.ts";
import type { WebDataset } from "../../src/dataset/wds.ts";
import type { TaskDefinition, TaskRun } from "../../src/run/task_registry.ts";
import { mergeClassificationShards } from "./merge.ts";
import {
  evaluateZeroShotClassification,
  evaluateZeroShotClassificationShard,
  type ZeroShotClassificationOptions,
} from "./mod.ts";

/** The task's options: the common ones, the prompt overrides, dumps and the classifier cache. */
function options(run: TaskRun): ZeroShotClassificationOptions {
  const { common, plan, prompts } = run;
  return {
    ...common,
    ...promptOverridesFor(common.datasetName, prompts),
    dumpClassnames: plan.dumpClassnames,
    dumpTemplates: plan.dumpTemplates,
    cacheDir: plan.cacheDir,
    noCache: plan.noCache,
  };
}

/** The runner chooses this task for WebDatasets only (a custom dataset is a retrieval one). */
const webDataset = (run: TaskRun) => run.dataset as WebDataset;

/** Zero-shot classification (single- and multi-label). */
export const zeroShotClassificationTask: TaskDefinition = {
  name: "zeroshot_classification",
  evaluate: (run) => evaluateZeroShotClassification(run.model, webDataset(run), options(run)),
  evaluateShard: (run, shard) =>
    evaluateZeroShotClassificationShard(run.model, webDataset(run), options(run), shard),
  merge: mergeClassificationShards,
};
