/**
 * The pairwise comparisons of the HTML report: for every two models that share datasets, the
 * comparison of src/report/compare.ts ({@linkcode compareResults}) as a table — per shared
 * dataset the main metric of each with its 95 % Wilson interval, the difference A − B, and the
 * verdict with its reason; and, where the comparison carries a paired test (`paired`: the paired
 * bootstrap interval of the difference and the exact McNemar p-value, from per-sample
 * predictions), those too.
 *
 * @module
 */

import {
  compareResults,
  type Comparison,
  formatPValue,
  type MetricComparison,
} from "../compare.ts";
import type { BootstrapSettings } from "../bootstrap_section.ts";
import type { PairedTest } from "../paired_test.ts";
import type { ResultSamples } from "../result_samples.ts";
import { percent } from "../markdown.ts";
import type { ReportedResult } from "../result_files.ts";
import { escapeHtml } from "./escape.ts";
import { notesHtml } from "./tables.ts";
import { metricHtml } from "./tables.ts";

/** The paired test of a metric comparison, when it has one. */
export function pairedOf(metric: MetricComparison): PairedTest | undefined {
  return metric.paired;
}

/** Every pair of models (sorted names, A before B) that shares at least one dataset. */
export function pairwiseComparisons(
  results: readonly ReportedResult[],
  samples: ReadonlyMap<string, ResultSamples> = new Map(),
  settings: BootstrapSettings = {},
): Comparison[] {
  const models = [...new Set(results.map((r) => r.model))].sort();
  const comparisons: Comparison[] = [];
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) {
      const a = results.filter((r) => r.model === models[i]);
      const b = results.filter((r) => r.model === models[j]);
      const comparison = compareResults(a, b, { a: models[i], b: models[j] }, samples, settings);
      if (comparison.datasets.length > 0) comparisons.push(comparison);
    }
  }
  return comparisons;
}

function signedPercent(value: number | null): string {
  if (value === null) return "n/a";
  const text = percent(value);
  return value > 0 ? `+${text}` : text;
}

function verdictHtml(comparison: Comparison, metric: MetricComparison): string {
  const winner = metric.verdict === "a_better"
    ? comparison.a
    : metric.verdict === "b_better"
    ? comparison.b
    : undefined;
  const text = winner === undefined ? "not established" : `${winner} better`;
  return `<span class="verdict ${metric.verdict}">${escapeHtml(text)}</span> ` +
    `<span class="reason">(${escapeHtml(metric.reason)})</span>`;
}

/** One comparison as HTML: a heading, the table and its notes. */
export function comparisonHtml(comparison: Comparison): string {
  const metrics = comparison.datasets.flatMap((d) => d.metrics);
  const withPaired = metrics.some((m) => pairedOf(m) !== undefined);
  const columns = [
    "dataset",
    "metric",
    `A: ${comparison.a}`,
    `B: ${comparison.b}`,
    "A − B",
    ...(withPaired ? ["paired bootstrap 95 % of A − B", "McNemar p (A only / B only)"] : []),
    "verdict",
  ];
  const rows: string[] = [];
  for (const dataset of comparison.datasets) {
    for (const metric of dataset.metrics) {
      const paired = pairedOf(metric);
      const pairedCells = !withPaired ? [] : paired === undefined ? ["—", "—"] : [
        `[${signedPercent(paired.difference.low)}, ${signedPercent(paired.difference.high)}]` +
        ` <span class="count">(${paired.rows} rows)</span>`,
        paired.mcnemar === null
          ? "—"
          : `${formatPValue(paired.mcnemar.pValue)} <span class="count">(${paired.mcnemar.aOnly}` +
            ` / ${paired.mcnemar.bOnly})</span>`,
      ];
      rows.push(
        `<tr><th>${escapeHtml(dataset.dataset)}</th><td>${escapeHtml(metric.label)}</td><td>${
          metricHtml(metric.a)
        }</td><td>${metricHtml(metric.b)}</td><td>${signedPercent(metric.difference)}</td>${
          pairedCells.map((cell) => `<td>${cell}</td>`).join("")
        }<td class="left">${verdictHtml(comparison, metric)}</td></tr>`,
      );
    }
  }
  const notes = [
    ...comparison.datasets.flatMap((d) =>
      d.settingDifferences.map((text) => `${d.dataset}: settings differ: ${text}`)
    ),
    ...(comparison.onlyA.length > 0
      ? [`only ${comparison.a} has: ${comparison.onlyA.join(", ")}`]
      : []),
    ...(comparison.onlyB.length > 0
      ? [`only ${comparison.b} has: ${comparison.onlyB.join(", ")}`]
      : []),
    withPaired
      ? "Verdicts compare the two 95 % Wilson intervals (conservative); the paired columns test " +
        "the difference on the samples both models scored."
      : "Verdicts compare the two 95 % Wilson intervals, which is conservative; a paired test " +
        "needs per-sample predictions of both models (eval --save-predictions).",
  ];
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  return `<h3>${escapeHtml(comparison.a)} (A) vs ${escapeHtml(comparison.b)} (B)</h3>\n` +
    `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${
      rows.join("")
    }</tbody></table></div>\n${notesHtml(notes)}`;
}
