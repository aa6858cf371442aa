/**
 * `cli.ts compare A B`: two models' results (each a model folder `outputs/<model>/` or one result
 * file) compared on the datasets they share ({@linkcode compareFolders}), as Markdown (default)
 * or JSON.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import {
  compareFolders,
  type Comparison,
  type MetricComparison,
  NO_PAIRED_TEST_NOTE,
} from "./compare.ts";
import { parseFlags, parseFormat, writeOutput } from "./flags.ts";
import { formatMetric, percent } from "./markdown.ts";

/** The help text of `compare`. */
export const COMPARE_HELP = `Usage: deno run -A cli.ts compare A B [flags]

Compares two models on the datasets they share. A and B are each a model's folder of results
(outputs/<model>) or one result file. Per dataset: the main metric of each (acc1, or mAP for
multi-label datasets; image and text recall at the smallest k for retrieval) with its 95 % Wilson
score interval, the difference A - B, and a verdict: "A better" (or B) when the two intervals do
not overlap, otherwise "difference not established". Result files hold no per-sample predictions
yet, so there is no paired test (paired bootstrap, McNemar) for now.

Flags:
  --format FORMAT   markdown (default) or json
  --output FILE     write to FILE instead of stdout
  -h, --help        show this help
`;

function verdictText(comparison: Comparison, metric: MetricComparison): string {
  if (metric.verdict === "not_established") return `difference not established (${metric.reason})`;
  return `${metric.verdict === "a_better" ? comparison.a : comparison.b} better (${metric.reason})`;
}

function signedPercent(value: number | null): string {
  if (value === null) return "n/a";
  const text = percent(value);
  return value > 0 ? `+${text}` : text;
}

/** The comparison as Markdown (ends with a newline). */
export function formatComparisonMarkdown(comparison: Comparison): string {
  const { a, b } = comparison;
  const lines = [
    `# compare ${a} (A) with ${b} (B)`,
    "",
    "Values in %, with 95 % Wilson score intervals from counts in brackets.",
    "",
    `| dataset | metric | A: ${a} | B: ${b} | A − B |`,
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const dataset of comparison.datasets) {
    for (const metric of dataset.metrics) {
      lines.push(
        `| ${dataset.dataset} | ${metric.label} | ${formatMetric(metric.a)} | ` +
          `${formatMetric(metric.b)} | ${signedPercent(metric.difference)} |`,
      );
    }
  }
  lines.push("", "Verdicts:");
  for (const dataset of comparison.datasets) {
    const verdicts = dataset.metrics.map((m) => `${m.label}: ${verdictText(comparison, m)}`);
    lines.push(`- ${dataset.dataset}: ${verdicts.join("; ") || "no metric in common"}`);
    for (const difference of dataset.settingDifferences) {
      lines.push(`  - settings differ: ${difference}`);
    }
  }
  if (comparison.onlyA.length > 0) lines.push("", `Only A has: ${comparison.onlyA.join(", ")}`);
  if (comparison.onlyB.length > 0) lines.push("", `Only B has: ${comparison.onlyB.join(", ")}`);
  lines.push("", NO_PAIRED_TEST_NOTE);
  return lines.join("\n") + "\n";
}

/** The comparison as JSON text (ends with a newline). */
export function formatComparisonJson(comparison: Comparison): string {
  const metricJson = (metric: MetricComparison) => ({
    label: metric.label,
    a: metric.a.value,
    a_interval: metric.a.interval && [metric.a.interval.low, metric.a.interval.high],
    b: metric.b.value,
    b_interval: metric.b.interval && [metric.b.interval.low, metric.b.interval.high],
    difference: metric.difference,
    verdict: metric.verdict,
    reason: metric.reason,
  });
  return JSON.stringify(
    {
      format: "clipbench-compare",
      version: 1,
      a: comparison.a,
      b: comparison.b,
      paired_test: null,
      note: NO_PAIRED_TEST_NOTE,
      datasets: comparison.datasets.map((d) => ({
        dataset: d.dataset,
        task: d.task,
        files: d.files,
        metrics: d.metrics.map(metricJson),
        settings_differ: d.settingDifferences,
      })),
      only_a: comparison.onlyA,
      only_b: comparison.onlyB,
    },
    null,
    2,
  ) + "\n";
}

/**
 * Runs `compare` with its arguments (those after the command name).
 *
 * @returns the exit status (0).
 * @throws {UsageError} for bad flags, not exactly two paths, a path without results or with
 *   several models, or no shared dataset.
 */
export async function runCompare(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    format: { type: "string" },
    output: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(COMPARE_HELP);
    return 0;
  }
  const format = parseFormat(
    (values.format as string | undefined) ?? "markdown",
    [
      "markdown",
      "json",
    ] as const,
  );
  if (positionals.length !== 2) {
    throw new UsageError(`compare needs two paths A and B, got ${positionals.length}`);
  }
  const comparison = await compareFolders(positionals[0], positionals[1]);
  const text = format === "json"
    ? formatComparisonJson(comparison)
    : formatComparisonMarkdown(comparison);
  await writeOutput(text, values.output as string | undefined);
  return 0;
}
