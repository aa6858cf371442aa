/**
 * The comparison of two models on the datasets they share: per dataset (and task) the difference
 * in the main metric — acc1 (mAP on multi-label data), or image and text recall at the smallest
 * k for retrieval — with each model's 95 % Wilson interval, and a verdict: one model is better
 * when the two intervals do not overlap, otherwise the difference is not established.
 *
 * Non-overlapping intervals are a conservative test (two intervals can overlap while the
 * difference is significant). The sharper paired analysis — a paired-bootstrap interval of the
 * difference (`pairedBootstrapDifference`, src/stats/paired_bootstrap.ts) and the exact McNemar
 * test (`mcnemarExact`, src/stats/mcnemar.ts) — needs per-sample predictions, which results do
 * not hold yet.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { intervalsOverlap } from "../stats/wilson.ts";
import { mainMetrics, type MetricValue } from "./main_metrics.ts";
import { loadResults, type ReportedResult } from "./result_files.ts";
import { describeDifference, findSettingDifferences } from "./settings_difference.ts";

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

/** The sentence every comparison carries about the missing paired test. */
export const NO_PAIRED_TEST_NOTE =
  "No paired test: result files hold no per-sample predictions yet (--save-predictions is " +
  "future work); with them, compare would give a paired-bootstrap interval of the difference " +
  "and the exact McNemar p-value. Verdicts compare the two 95 % Wilson intervals, which is " +
  "conservative.";

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
    const metrics = comparedMetrics(resultA).flatMap((metricA) => {
      const metricB = metricsB.find((m) => m.label === metricA.label);
      return metricB === undefined ? [] : [compareMetric(metricA.label, metricA, metricB)];
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
export async function compareFolders(aPath: string, bPath: string): Promise<Comparison> {
  const comparison = compareResults(await loadResults([aPath]), await loadResults([bPath]), {
    a: aPath,
    b: bPath,
  });
  if (comparison.datasets.length === 0) {
    throw new UsageError(`${aPath} and ${bPath} share no dataset`);
  }
  return comparison;
}
