/**
 * The comparison of two models on the datasets they share: per dataset (and task) the difference
 * in the main metric — acc1 (mAP on multi-label data), or image and text recall at the smallest
 * k for retrieval — with each model's 95 % Wilson interval, and a verdict: one model is better
 * when the two intervals do not overlap, otherwise the difference is not established.
 *
 * Non-overlapping intervals are a conservative test (two intervals can overlap while the
 * difference is significant). When both results have per-sample predictions beside them
 * (`eval --save-predictions`), the comparison is paired instead (src/report/paired_test.ts): the
 * samples are matched by key, the difference gets a paired-bootstrap 95 % interval, and metrics
 * that count hits the exact McNemar test; one model is better when the interval excludes 0 and,
 * where there is a McNemar test, its p-value is below 0.05 — otherwise the difference is not
 * established.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { intervalsOverlap } from "../stats/wilson.ts";
import { mainMetrics, type MetricValue } from "./main_metrics.ts";
import { loadResults, type ReportedResult } from "./result_files.ts";
import { describeDifference, findSettingDifferences } from "./settings_difference.ts";
import type { BootstrapSettings } from "./bootstrap_section.ts";
import { type PairedTest, pairedTest, pairSamples } from "./paired_test.ts";
import {
  type IgnoredPredictions,
  loadResultSamples,
  type ResultSamples,
} from "./result_samples.ts";

/** The outcome for one metric of one shared dataset. */
export type Verdict = "a_better" | "b_better" | "not_established";

/** One metric of one shared dataset. */
export interface MetricComparison {
  /** Metric label. */
  readonly label: string;
  /** A's value with its interval. */
  readonly a: MetricValue;
  /** B's value with its interval. */
  readonly b: MetricValue;
  /** A − B; `null` when either has no value. */
  readonly difference: number | null;
  /** The verdict. */
  readonly verdict: Verdict;
  /** Why, in words. */
  readonly reason: string;
  /** The paired test, when both results have predictions. */
  readonly paired?: PairedTest;
}

/** One shared dataset. */
export interface DatasetComparison {
  /** Dataset name. */
  readonly dataset: string;
  /** Task. */
  readonly task: string;
  /** A's and B's result files. */
  readonly files: readonly [string, string];
  /** Each compared metric. */
  readonly metrics: readonly MetricComparison[];
  /** Setting differences between the two results (from their `clipbench` blocks). */
  readonly settingDifferences: readonly string[];
}

/** A comparison of A and B. */
export interface Comparison {
  /** A's model name. */
  readonly a: string;
  /** B's model name. */
  readonly b: string;
  /** The shared datasets, sorted. */
  readonly datasets: readonly DatasetComparison[];
  /** Datasets only A has. */
  readonly onlyA: readonly string[];
  /** Datasets only B has. */
  readonly onlyB: readonly string[];
}

/** The note on datasets compared without predictions. */
export const NO_PAIRED_TEST_NOTE =
  "Without per-sample predictions beside both results (eval --save-predictions) there is no " +
  "paired test: those verdicts compare the two 95 % Wilson intervals, which is conservative.";

/** Significance level of the McNemar test in a paired verdict. */
export const MCNEMAR_ALPHA = 0.05;

function pairedVerdict(
  label: string,
  a: MetricValue,
  b: MetricValue,
  paired: PairedTest,
): MetricComparison {
  const { low, high, estimate } = paired.difference;
  const difference = a.value !== null && b.value !== null ? a.value - b.value : estimate;
  const interval = `paired bootstrap 95 % interval of A − B [${(100 * low).toFixed(2)}, ${
    (100 * high).toFixed(2)
  }]`;
  const p = paired.mcnemar && `McNemar p = ${formatPValue(paired.mcnemar.pValue)}`;
  const excludes = low > 0 || high < 0;
  const significant = paired.mcnemar === null || paired.mcnemar.pValue < MCNEMAR_ALPHA;
  const base = { label, a, b, difference, paired };
  if (excludes && significant) {
    return {
      ...base,
      verdict: low > 0 ? "a_better" : "b_better",
      reason: `${interval} excludes 0${p ? `; ${p}` : ""}`,
    };
  }
  const why = !excludes ? `${interval} contains 0` : `${interval} excludes 0 but ${p} ≥ 0.05`;
  return { ...base, verdict: "not_established", reason: p && !excludes ? `${why}; ${p}` : why };
}

/** A p-value in 3 significant digits (scientific below 0.001). */
export function formatPValue(p: number): string {
  return p >= 0.001 ? p.toPrecision(3) : p.toExponential(2);
}

function compareMetric(label: string, a: MetricValue, b: MetricValue): MetricComparison {
  const difference = a.value !== null && b.value !== null ? a.value - b.value : null;
  if (a.interval === null || b.interval === null) {
    const reason = a.interval === null ? a.noIntervalReason : b.noIntervalReason;
    return {
      label,
      a,
      b,
      difference,
      verdict: "not_established",
      reason: `no interval: ${reason}`,
    };
  }
  if (intervalsOverlap(a.interval, b.interval)) {
    return { label, a, b, difference, verdict: "not_established", reason: "intervals overlap" };
  }
  const verdict = a.interval.low > b.interval.high ? "a_better" : "b_better";
  return { label, a, b, difference, verdict, reason: "intervals do not overlap" };
}

/** The metrics compared for a result: the main one, or for retrieval both recalls at the least k. */
function comparedMetrics(result: ReportedResult): MetricValue[] {
  const metrics = mainMetrics(result);
  if (result.task !== "zeroshot_retrieval") return metrics;
  const k = Math.min(...metrics.map((m) => Number(m.label.split("@")[1])));
  return metrics.filter((m) => Number(m.label.split("@")[1]) === k);
}

function singleModel(results: readonly ReportedResult[], what: string): string {
  const models = [...new Set(results.map((r) => r.model))].sort();
  if (models.length !== 1) {
    throw new UsageError(
      `${what} holds results of ${models.length} models (${models.join(", ")}); ` +
        "give one model's folder (outputs/<model>) or one result file",
    );
  }
  return models[0];
}

/** Compares the results of A with those of B (each of one model). */
export function compareResults(
  aResults: readonly ReportedResult[],
  bResults: readonly ReportedResult[],
  names: { a: string; b: string } = { a: "A", b: "B" },
  samples: ReadonlyMap<string, ResultSamples> = new Map(),
  settings: BootstrapSettings = {},
): Comparison {
  const a = singleModel(aResults, names.a);
  const b = singleModel(bResults, names.b);
  const key = (r: ReportedResult) => `${r.dataset}\u0000${r.task}`;
  const bByKey = new Map(bResults.map((r) => [key(r), r]));
  const aKeys = new Set(aResults.map(key));
  const differences = findSettingDifferences([...aResults, ...bResults]);
  const datasets: DatasetComparison[] = [];
  for (const resultA of [...aResults].sort((x, y) => (key(x) < key(y) ? -1 : 1))) {
    const resultB = bByKey.get(key(resultA));
    if (resultB === undefined) continue;
    const metricsB = comparedMetrics(resultB);
    const samplesA = samples.get(resultA.path);
    const samplesB = samples.get(resultB.path);
    const pairs = samplesA && samplesB && samplesA.predictions.header.kind ===
        samplesB.predictions.header.kind
      ? pairSamples(samplesA, samplesB)
      : undefined;
    const metrics = comparedMetrics(resultA).flatMap((metricA) => {
      const metricB = metricsB.find((m) => m.label === metricA.label);
      if (metricB === undefined) return [];
      const paired = pairs && pairedTest(pairs, metricA.name, settings);
      return [
        paired
          ? pairedVerdict(metricA.label, metricA, metricB, paired)
          : compareMetric(metricA.label, metricA, metricB),
      ];
    });
    const settingDifferences = [
      ...(differences.get(resultA) ?? []).map((d) => `${a}: ${describeDifference(d)}`),
      ...(differences.get(resultB) ?? []).map((d) => `${b}: ${describeDifference(d)}`),
    ];
    datasets.push({
      dataset: resultA.dataset,
      task: resultA.task,
      files: [resultA.path, resultB.path],
      metrics,
      settingDifferences,
    });
  }
  return {
    a,
    b,
    datasets,
    onlyA: aResults.filter((r) => !bByKey.has(key(r))).map((r) => r.dataset).sort(),
    onlyB: bResults.filter((r) => !aKeys.has(key(r))).map((r) => r.dataset).sort(),
  };
}

/**
 * Loads A and B (a model's folder of results, or one result file each) and compares them.
 *
 * @throws {UsageError} when a path holds no result or several models' results, or when they
 *   share no dataset.
 */
export async function compareFolders(
  aPath: string,
  bPath: string,
  settings: BootstrapSettings = {},
): Promise<Comparison & { ignored: readonly IgnoredPredictions[] }> {
  const aResults = await loadResults([aPath]);
  const bResults = await loadResults([bPath]);
  const { samples, ignored } = await loadResultSamples([...aResults, ...bResults]);
  const comparison = {
    ...compareResults(aResults, bResults, { a: aPath, b: bPath }, samples, settings),
    ignored,
  };
  if (comparison.datasets.length === 0) {
    throw new UsageError(`${aPath} and ${bPath} share no dataset`);
  }
  return comparison;
}
