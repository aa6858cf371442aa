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
  formatPValue,
  MCNEMAR_ALPHA,
  type MetricComparison,
  NO_PAIRED_TEST_NOTE,
} from "./compare.ts";
import { bootstrapFlags, parseFlags, parseFormat, writeOutput } from "./flags.ts";
import type { IgnoredPredictions } from "./result_samples.ts";
import { formatMetric, percent } from "./markdown.ts";

/** The help text of `compare`. */
export const COMPARE_HELP = `Usage: deno run -A cli.ts compare A B [flags]

Compares two models on the datasets they share. A and B are each a model's folder of results
(outputs/<model>) or one result file. Per dataset: the main metric of each (acc1, or mAP for
multi-label datasets; image and text recall at the smallest k for retrieval) with its 95 % Wilson
score interval, the difference A - B, and a verdict.

When both results have per-sample predictions beside them (eval --save-predictions), the test is
paired: samples matched by key, a paired-bootstrap 95 % interval of A - B (seeded, 1000
resamples) and, for acc1 and recall@k, the exact McNemar test on the samples one model gets right
and the other wrong. "A better" (or B) when the interval excludes 0 and McNemar's p < 0.05.
Without predictions: "A better" when the two Wilson intervals do not overlap (conservative).
Otherwise "difference not established".

Flags:
  --format FORMAT   markdown (default) or json
  --output FILE     write to FILE instead of stdout
  --seed N          seed of the paired bootstrap (default 0)
  --resamples N     paired bootstrap resamples (default 1000)
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

function pairedCells(metric: MetricComparison): string {
  const paired = metric.paired;
  if (paired === undefined) return "— | —";
  const { low, high } = paired.difference;
  const mcnemar = paired.mcnemar === null
    ? "—"
    : `${formatPValue(paired.mcnemar.pValue)} (${paired.mcnemar.aOnly} / ${paired.mcnemar.bOnly})`;
  return `[${signedPercent(low)}, ${signedPercent(high)}] | ${mcnemar}`;
}

/** The comparison as Markdown (ends with a newline). */
export function formatComparisonMarkdown(
  comparison: Comparison & { ignored?: readonly IgnoredPredictions[] },
): string {
  const { a, b } = comparison;
  const metrics = comparison.datasets.flatMap((d) => d.metrics);
  const paired = metrics.filter((m) => m.paired !== undefined);
  const withPaired = paired.length > 0;
  const lines = [
    `# compare ${a} (A) with ${b} (B)`,
    "",
    ...(withPaired
      ? [
        "Values in %, with 95 % Wilson score intervals from counts in brackets; paired: the",
        "paired-bootstrap 95 % interval of A − B and the exact McNemar p-value (samples only A",
        "gets right / only B gets right).",
      ]
      : ["Values in %, with 95 % Wilson score intervals from counts in brackets."]),
    "",
    `| dataset | metric | A: ${a} | B: ${b} | A − B |` +
    (withPaired ? " paired 95 % | McNemar p (A / B) |" : ""),
    "| --- | --- | ---: | ---: | ---: |" + (withPaired ? " ---: | ---: |" : ""),
  ];
  for (const dataset of comparison.datasets) {
    for (const metric of dataset.metrics) {
      lines.push(
        `| ${dataset.dataset} | ${metric.label} | ${formatMetric(metric.a)} | ` +
          `${formatMetric(metric.b)} | ${signedPercent(metric.difference)} |` +
          (withPaired ? ` ${pairedCells(metric)} |` : ""),
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
  const first = paired[0]?.paired;
  if (first !== undefined) {
    lines.push(
      "",
      `Paired tests: seed ${first.difference.seed}, ${first.difference.resamples} resamples; ` +
        `McNemar at ${MCNEMAR_ALPHA}.`,
    );
    for (const metric of paired) {
      const { unpaired } = metric.paired!;
      if (unpaired.a + unpaired.b > 0) {
        lines.push(
          `- ${metric.label}: ${metric.paired!.rows} samples paired by key; ` +
            `${unpaired.a} of A's and ${unpaired.b} of B's have no partner`,
        );
      }
    }
  }
  if (paired.length < metrics.length) lines.push("", NO_PAIRED_TEST_NOTE);
  for (const { file, reason } of comparison.ignored ?? []) {
    lines.push("", `- predictions not used: ${file}: ${reason}`);
  }
  return lines.join("\n") + "\n";
}

/** The comparison as JSON text (ends with a newline). */
export function formatComparisonJson(
  comparison: Comparison & { ignored?: readonly IgnoredPredictions[] },
): string {
  const metricJson = (metric: MetricComparison) => ({
    label: metric.label,
    a: metric.a.value,
    a_interval: metric.a.interval && [metric.a.interval.low, metric.a.interval.high],
    b: metric.b.value,
    b_interval: metric.b.interval && [metric.b.interval.low, metric.b.interval.high],
    difference: metric.difference,
    verdict: metric.verdict,
    reason: metric.reason,
    paired: metric.paired === undefined ? null : {
      rows: metric.paired.rows,
      unpaired_a: metric.paired.unpaired.a,
      unpaired_b: metric.paired.unpaired.b,
      difference: metric.paired.difference.estimate,
      low: metric.paired.difference.low,
      high: metric.paired.difference.high,
      seed: metric.paired.difference.seed,
      resamples: metric.paired.difference.resamples,
      mcnemar: metric.paired.mcnemar && {
        a_only: metric.paired.mcnemar.aOnly,
        b_only: metric.paired.mcnemar.bOnly,
        p_value: metric.paired.mcnemar.pValue,
      },
    },
  });
  return JSON.stringify(
    {
      format: "clipbench-compare",
      version: 1,
      a: comparison.a,
      b: comparison.b,
      paired_test: "paired percentile bootstrap of A - B; exact McNemar test",
      ignored_predictions: comparison.ignored ?? [],
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
    seed: { type: "string" },
    resamples: { type: "string" },
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
  const comparison = await compareFolders(positionals[0], positionals[1], bootstrapFlags(values));
  const text = format === "json"
    ? formatComparisonJson(comparison)
    : formatComparisonMarkdown(comparison);
  await writeOutput(text, values.output as string | undefined);
  return 0;
}
