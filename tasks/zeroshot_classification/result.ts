/**
 * The result of a zero-shot classification, as evalscope writes it: its fields in evalscope's
 * order, with the provenance of the class names and templates. The unsharded run
 * (tasks/zeroshot_classification/mod.ts) and the merge of a sharded one
 * (tasks/zeroshot_classification/merge.ts) build it here, so both write the same file.
 *
 * @module
 */

import type { ClassificationMetrics } from "../../src/metrics/classification.ts";
import type { MultilabelMetrics } from "../../src/metrics/multilabel.ts";
import type { SkippedSample, TaskResult } from "../../src/results/result.ts";

/** The result of a zero-shot classification: evalscope's fields and provenance. */
export interface ZeroShotClassificationResult extends TaskResult {
  /** `acc1`/`acc5`/`mean_per_class_recall`, or `mean_average_precision` for multi-label data. */
  readonly metrics: ClassificationMetrics | MultilabelMetrics;
  /** Where the class names came from: `"dataset"` (its `classnames.txt`) or the override's source. */
  readonly classnames_source: string;
  /** Where the templates came from: `"dataset"` or the override's source. */
  readonly templates_source: string;
  /** The class names used, with `dumpClassnames`. */
  readonly classnames?: readonly string[];
  /** The templates (or class → prompts object) used, with `dumpTemplates`. */
  readonly templates?: readonly string[] | Readonly<Record<string, readonly string[]>>;
}

/** The fields of a classification result other than its metrics and counts. */
export interface ClassificationResultFields {
  /** Dataset name. */
  readonly dataset: string;
  /** Model name. */
  readonly model: string;
  /** Where the class names came from. */
  readonly classnames_source: string;
  /** Where the templates came from. */
  readonly templates_source: string;
  /** The class names used, with `dumpClassnames`. */
  readonly classnames?: readonly string[];
  /** The templates used, with `dumpTemplates`. */
  readonly templates?: readonly string[] | Readonly<Record<string, readonly string[]>>;
}

/**
 * A classification result, its fields in the order evalscope's file has them. Used by the
 * unsharded run and by the merge of a sharded one, so both write the same file.
 */
export function zeroShotClassificationResult(
  fields: ClassificationResultFields,
  metrics: ClassificationMetrics | MultilabelMetrics,
  counts: { scored: number; skippedCount: number; skipped: readonly SkippedSample[] },
): ZeroShotClassificationResult {
  return {
    dataset: fields.dataset,
    model: fields.model,
    task: "zeroshot_classification",
    metrics,
    n_samples: counts.scored,
    n_skipped: counts.skippedCount,
    classnames_source: fields.classnames_source,
    templates_source: fields.templates_source,
    ...(fields.classnames !== undefined && { classnames: fields.classnames }),
    ...(fields.templates !== undefined && { templates: fields.templates }),
    skipped: counts.skipped,
  };
}
