/**
 * The result of a zero-shot retrieval: its fields in the order the file has them. The unsharded
 * run (tasks/zeroshot_retrieval/mod.ts) and the merge of a sharded one
 * (tasks/zeroshot_retrieval/merge.ts) build it here, so both write the same file.
 *
 * @module
 */

import type { RetrievalMetrics } from "../../src/metrics/retrieval.ts";
import type { TaskProvenance } from "../../src/results/provenance.ts";
import type { SkippedSample, TaskResult } from "../../src/results/result.ts";

/** The result of a retrieval evaluation: a {@linkcode TaskResult} plus the counts. */
export interface ZeroShotRetrievalResult extends TaskResult {
  /** `zeroshot_retrieval`. */
  readonly task: "zeroshot_retrieval";
  /** For each k: `image_retrieval_recall@k`, then `text_retrieval_recall@k`. */
  readonly metrics: RetrievalMetrics;
  /** Images scored (the same as `n_samples`). */
  readonly n_images: number;
  /** Captions scored. */
  readonly n_captions: number;
}

/** The task settings a retrieval records (`clipbench.task_settings`): the k of recall@k. */
export function retrievalSettings(recallK: readonly number[]): TaskProvenance {
  return { task_settings: { recall_k: [...recallK] } };
}

/**
 * A retrieval result, its fields in the order the file has them. Used by the unsharded run and by
 * the merge of a sharded one, so both write the same file; the task's part of the `clipbench`
 * block records the recall@k list ({@linkcode retrievalSettings}).
 */
export function zeroShotRetrievalResult(
  fields: { readonly dataset: string; readonly model: string },
  metrics: RetrievalMetrics,
  recallK: readonly number[],
  counts: {
    images: number;
    captions: number;
    skippedCount: number;
    skipped: readonly SkippedSample[];
  },
): ZeroShotRetrievalResult {
  return {
    dataset: fields.dataset,
    model: fields.model,
    task: "zeroshot_retrieval",
    metrics,
    n_samples: counts.images,
    n_images: counts.images,
    n_captions: counts.captions,
    n_skipped: counts.skippedCount,
    skipped: counts.skipped,
    clipbench: retrievalSettings(recallK),
  };
}
