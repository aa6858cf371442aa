/**
 * The bootstrap part of a report: for every result with usable predictions
 * (src/report/result_samples.ts), a seeded percentile-bootstrap 95 % interval
 * (src/stats/bootstrap.ts) of each of its metrics — acc1, acc5 and the mean per-class recall, the
 * mean average precision, or every retrieval recall@k — beside the Wilson interval from the
 * counts where the metric has one. Each result's metrics are resampled with the same seed, so
 * they see the same resamples, and anyone can reproduce an interval from the seed printed.
 *
 * @module
 */

import {
  type BootstrapInterval,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  percentileBootstrap,
} from "../stats/bootstrap.ts";
import type { ProportionInterval } from "../stats/wilson.ts";
import { metricLabel, metricValue } from "./main_metrics.ts";
import type { IgnoredPredictions, ResultSamples } from "./result_samples.ts";
import type { TaskName } from "../results/result.ts";

/** One metric of one result with its intervals. */
export interface BootstrapRow {
  /** Model name. */
  readonly model: string;
  /** Dataset name. */
  readonly dataset: string;
  /** Task. */
  readonly task: TaskName;
  /** Metric name in the result. */
  readonly name: string;
  /** Short label. */
  readonly label: string;
  /** The result's value. */
  readonly value: number | null;
  /** The Wilson interval from the counts, where there is one. */
  readonly wilson: ProportionInterval | null;
  /** The bootstrap interval (its `estimate` recomputed from the rows). */
  readonly bootstrap: BootstrapInterval;
  /** Rows resampled (samples; images for retrieval). */
  readonly rows: number;
}

/** The bootstrap intervals of a report. */
export interface BootstrapSection {
  /** Seed of every resampling. */
  readonly seed: number;
  /** Resamples per interval. */
  readonly resamples: number;
  /** One row per result and metric. */
  readonly rows: readonly BootstrapRow[];
  /** Predictions found but not used. */
  readonly ignored: readonly IgnoredPredictions[];
}

/** How the intervals are drawn. */
export interface BootstrapSettings {
  /** Seed (default {@linkcode DEFAULT_SEED}). */
  readonly seed?: number;
  /** Resamples (default {@linkcode DEFAULT_RESAMPLES}). */
  readonly resamples?: number;
}

/** The bootstrap section of `samples` (sorted by dataset, then model). */
export function bootstrapSection(
  samples: readonly ResultSamples[],
  ignored: readonly IgnoredPredictions[],
  settings: BootstrapSettings = {},
): BootstrapSection {
  const seed = settings.seed ?? DEFAULT_SEED;
  const resamples = settings.resamples ?? DEFAULT_RESAMPLES;
  const rows: BootstrapRow[] = [];
  const sorted = [...samples].sort((a, b) =>
    a.result.dataset.localeCompare(b.result.dataset) || a.result.model.localeCompare(b.result.model)
  );
  for (const item of sorted) {
    const { result, outcomes } = item;
    for (const name of outcomes.metrics.keys()) {
      rows.push({
        model: result.model,
        dataset: result.dataset,
        task: result.task,
        name,
        label: metricLabel(name),
        value: result.metrics[name] ?? null,
        wilson: metricValue(result, name).interval,
        bootstrap: percentileBootstrap(outcomes.n, outcomes.metrics.get(name)!, {
          seed,
          resamples,
        }),
        rows: outcomes.n,
      });
    }
  }
  return { seed, resamples, rows, ignored };
}
