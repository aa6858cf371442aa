/**
 * The paired analysis of two models scored on the same samples, from their per-sample
 * predictions (src/report/result_samples.ts): the rows are matched by sample key, and for a
 * metric the difference A − B gets a paired percentile-bootstrap 95 % interval
 * (src/stats/paired_bootstrap.ts: both models see the same resampled rows) and, where the metric
 * counts hits (acc1, acc5, recall@k), the exact McNemar test (src/stats/mcnemar.ts) on the units
 * one model gets right and the other wrong.
 *
 * @module
 */

import type { PredictionRow } from "../results/predictions/predictions_file.ts";
import { type SampleOutcomes, sampleOutcomes } from "../results/predictions/sample_metrics.ts";
import { type BootstrapInterval, DEFAULT_RESAMPLES, DEFAULT_SEED } from "../stats/bootstrap.ts";
import { mcnemarFromCorrectness, type McNemarResult } from "../stats/mcnemar.ts";
import { pairedBootstrapDifference } from "../stats/paired_bootstrap.ts";
import type { BootstrapSettings } from "./bootstrap_section.ts";
import type { ResultSamples } from "./result_samples.ts";

/** The two models' rows matched by key, and their per-sample views on those rows. */
export interface PairedSamples {
  /** Rows present in both (in A's order). */
  readonly shared: number;
  /** A's rows whose key B lacks. */
  readonly onlyA: number;
  /** B's rows whose key A lacks. */
  readonly onlyB: number;
  /** A on the shared rows. */
  readonly a: SampleOutcomes;
  /** B on the same rows, in the same order. */
  readonly b: SampleOutcomes;
}

/** The paired test of one metric. */
export interface PairedTest {
  /** Rows paired (samples; images for retrieval). */
  readonly rows: number;
  /** Rows only one model has (not used). */
  readonly unpaired: { readonly a: number; readonly b: number };
  /** A − B on the paired rows, with its paired percentile-bootstrap interval. */
  readonly difference: BootstrapInterval;
  /** The exact McNemar test on the metric's hits; `null` when it has none (mAP, mean recall). */
  readonly mcnemar: McNemarResult | null;
}

/**
 * Matches A's and B's rows by sample key.
 *
 * @returns `undefined` when they share no row.
 */
export function pairSamples(a: ResultSamples, b: ResultSamples): PairedSamples | undefined {
  const rowsA = a.predictions.rows;
  const rowsB = b.predictions.rows;
  const indexB = new Map(rowsB.map((row, i) => [row.key, i]));
  const pairedA: PredictionRow[] = [];
  const pairedB: PredictionRow[] = [];
  for (const row of rowsA) {
    const i = indexB.get(row.key);
    if (i === undefined) continue;
    pairedA.push(row);
    pairedB.push(rowsB[i]);
  }
  if (pairedA.length === 0) return undefined;
  return {
    shared: pairedA.length,
    onlyA: rowsA.length - pairedA.length,
    onlyB: rowsB.length - pairedA.length,
    a: sampleOutcomes(a.predictions, pairedA),
    b: sampleOutcomes(b.predictions, pairedB),
  };
}

/**
 * The paired test of metric `name` on paired samples.
 *
 * @returns `undefined` when either side lacks the metric.
 */
export function pairedTest(
  paired: PairedSamples,
  name: string,
  settings: BootstrapSettings = {},
): PairedTest | undefined {
  const metricA = paired.a.metrics.get(name);
  const metricB = paired.b.metrics.get(name);
  if (metricA === undefined || metricB === undefined) return undefined;
  const difference = pairedBootstrapDifference(paired.shared, metricA, metricB, {
    seed: settings.seed ?? DEFAULT_SEED,
    resamples: settings.resamples ?? DEFAULT_RESAMPLES,
  });
  const hitsA = paired.a.hits.get(name);
  const hitsB = paired.b.hits.get(name);
  // Image recall counts captions: both must hold the same captions per image to pair them.
  const mcnemar = hitsA !== undefined && hitsB !== undefined && hitsA.length === hitsB.length
    ? mcnemarFromCorrectness(hitsA, hitsB)
    : null;
  return {
    rows: paired.shared,
    unpaired: { a: paired.onlyA, b: paired.onlyB },
    difference,
    mcnemar,
  };
}
