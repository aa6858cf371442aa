/**
 * A report as Markdown: per task a table (classification: one row per model, one column per
 * dataset, then the model's mean; retrieval: one row per model and dataset, one column per
 * recall, then the model's means), values in percent with their 95 % Wilson intervals in
 * brackets, and numbered notes for results whose settings differ (†) and metrics without an
 * interval (‡).
 *
 * @module
 */

import type { MetricValue } from "./main_metrics.ts";
import {
  classificationLayout,
  type MetricAverage,
  type Report,
  type ReportCell,
  type TaskTable,
} from "./report_table.ts";
import { describeDifference } from "./settings_difference.ts";
import type { BootstrapSection } from "./bootstrap_section.ts";

/** A fraction as a percentage with two decimals. */
export function percent(value: number): string {
  return (100 * value).toFixed(2);
}

/** `75.00 [65.70, 82.45]`, `75.00 ‡` without an interval, `n/a` without a value. */
export function formatMetric(metric: MetricValue): string {
  if (metric.value === null) return "n/a";
  if (metric.interval === null) return `${percent(metric.value)} ‡`;
  return `${percent(metric.value)} [${percent(metric.interval.low)}, ${
    percent(metric.interval.high)
  }]`;
}

function formatAverage(average: MetricAverage): string {
  return average.mean === null ? "n/a" : `${percent(average.mean)} (${average.count})`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
}

function header(cells: readonly string[], leftColumns: number): string[] {
  return [row(cells), `|${cells.map((_, i) => (i < leftColumns ? " --- " : " ---: ")).join("|")}|`];
}

const TITLES = {
  zeroshot_classification: "Zero-shot classification: acc1 (mAP on multi-label datasets)",
  zeroshot_retrieval: "Zero-shot retrieval: recall@k",
} as const;

function mark(cell: ReportCell): string {
  return cell.settingDifferences.length > 0 ? " †" : "";
}

function classificationTable(table: TaskTable): string[] {
  const { columns, rows } = classificationLayout(table);
  const lines = header(columns, 1);
  for (const r of rows) {
    lines.push(row([
      r.model,
      ...r.cells.map((cell) =>
        cell === undefined ? "—" : formatMetric(cell.metrics[0]) + mark(cell)
      ),
      formatAverage(r.all),
      ...(r.shared ? [formatAverage(r.shared)] : []),
    ]));
  }
  return lines;
}

function retrievalTables(table: TaskTable): string[] {
  const lines = header(["model", "dataset", ...table.labels], 2);
  for (const model of table.models) {
    for (const cell of table.cells.filter((c) => c.model === model)) {
      lines.push(row([
        model,
        cell.dataset + mark(cell),
        ...table.labels.map((label) => {
          const metric = cell.metrics.find((m) => m.label === label);
          return metric === undefined ? "—" : formatMetric(metric);
        }),
      ]));
    }
  }
  const hasShared = table.averages.some((a) => a.shared !== undefined);
  lines.push("", ...header(["model", "mean over", ...table.labels], 2));
  for (const averages of table.averages) {
    lines.push(row([averages.model, "its datasets", ...averages.all.map(formatAverage)]));
    if (hasShared) {
      lines.push(row([averages.model, "shared datasets", ...averages.shared!.map(formatAverage)]));
    }
  }
  return lines;
}

/** The notes of a table: setting differences and missing intervals. */
function notes(table: TaskTable): string[] {
  const out: string[] = [];
  for (const cell of table.cells) {
    for (const difference of cell.settingDifferences) {
      out.push(
        `- † ${cell.model} on ${cell.dataset}: settings differ: ${describeDifference(difference)}`,
      );
    }
  }
  for (const cell of table.cells) {
    for (const metric of cell.metrics) {
      if (metric.value !== null && metric.interval === null) {
        out.push(
          `- ‡ ${cell.model} on ${cell.dataset}, ${metric.label}: no interval (${metric.noIntervalReason})`,
        );
      }
    }
  }
  return out;
}

function interval(low: number, high: number): string {
  return `[${percent(low)}, ${percent(high)}]`;
}

/** The bootstrap section: a table of every metric of the results with predictions. */
function bootstrapLines(section: BootstrapSection | undefined): string[] {
  const lines = ["## Bootstrap intervals", ""];
  if (section === undefined || (section.rows.length === 0 && section.ignored.length === 0)) {
    lines.push(
      "No result has per-sample predictions beside it; run `eval --save-predictions` for",
      "bootstrap intervals (also of the mean per-class recall and mAP).",
    );
    return lines;
  }
  lines.push(
    `Seeded percentile bootstrap: ${section.resamples} resamples, seed ${section.seed} ` +
      "(`report --seed`);",
    "rows are samples, or images with their captions for retrieval.",
    "",
  );
  if (section.rows.length > 0) {
    lines.push(
      ...header(
        ["model", "dataset", "metric", "value", "Wilson 95 %", "bootstrap 95 %", "rows"],
        3,
      ),
    );
    for (const entry of section.rows) {
      lines.push(row([
        entry.model,
        entry.dataset,
        entry.label,
        entry.value === null ? "n/a" : percent(entry.value),
        entry.wilson === null ? "—" : interval(entry.wilson.low, entry.wilson.high),
        interval(entry.bootstrap.low, entry.bootstrap.high),
        String(entry.rows),
      ]));
    }
  }
  for (const { file, reason } of section.ignored) {
    lines.push("", `- predictions not used: ${file}: ${reason}`);
  }
  return lines;
}

/** The report as Markdown (ends with a newline). */
export function formatMarkdown(report: Report): string {
  const lines = [
    "# clipbench report",
    "",
    "Values in %, with 95 % Wilson score intervals from counts in brackets; means are over the",
    "datasets a model has (their number in parentheses).",
  ];
  for (const table of report.tables) {
    lines.push("", `## ${TITLES[table.task]}`, "");
    lines.push(
      ...(table.task === "zeroshot_classification"
        ? classificationTable(table)
        : retrievalTables(table)),
    );
    const tableNotes = notes(table);
    if (tableNotes.length > 0) lines.push("", ...tableNotes);
  }
  lines.push("", ...bootstrapLines(report.bootstrap));
  return lines.join("\n") + "\n";
}
