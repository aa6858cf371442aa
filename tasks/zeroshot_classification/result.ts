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
import { sha256OfJson, type TaskProvenance } from "../../src/results/provenance.ts";
import type { SkippedSample, TaskResult } from "../../src/results/result.ts";
import type { ZeroShotTemplates } from "../../src/dataset/prompts.ts";
import { templatesAsJson } from "./prompts.ts";

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
 * The task settings a classification records (`clipbench.task_settings`): the SHA-256 of the
 * class names used and of the templates used (the canonical JSON of the list, or of the class →
 * prompts object), as the partial's fingerprint holds them (src/results/provenance.ts).
 */
export function classificationSettings(
  classnames: readonly string[],
  templates: readonly string[] | Readonly<Record<string, readonly string[]>>,
): Readonly<Record<string, unknown>> {
  return {
    classnames_sha256: sha256OfJson([...classnames]),
    templates_sha256: sha256OfJson(templates),
  };
}

/** {@linkcode classificationSettings} of chosen prompts. */
export function promptSettings(
  classnames: readonly string[],
  templates: ZeroShotTemplates,
): Readonly<Record<string, unknown>> {
  return classificationSettings(classnames, templatesAsJson(templates));
}

/**
 * A classification result, its fields in the order evalscope's file has them. Used by the
 * unsharded run and by the merge of a sharded one, so both write the same file; `provenance` is
 * the task's part of the `clipbench` block, which the runner or the merge completes.
 */
export function zeroShotClassificationResult(
  fields: ClassificationResultFields,
  metrics: ClassificationMetrics | MultilabelMetrics,
  counts: { scored: number; skippedCount: number; skipped: readonly SkippedSample[] },
  provenance: TaskProvenance,
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
    clipbench: provenance,
  };
}
