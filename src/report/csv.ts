/**
 * A report as CSV, in the shape of CLIP_benchmark's `clip_benchmark build` (one row per result
 * file: `dataset`, `model`, `task`, then each metric; the union of the metric names over all
 * files, in the order first seen), followed by clipbench's counts `n_samples`, `n_images`,
 * `n_captions`. Values are written as JSON numbers; a missing or `null` metric is an empty field.
 * Fields are quoted as RFC 4180 asks (commas, quotes, line breaks).
 *
 * @module
 */

import type { Report } from "./report_table.ts";

/** One CSV field, quoted when needed. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The report as CSV (ends with a newline). */
export function formatCsv(report: Report): string {
  const results = report.tables.flatMap((table) => table.cells.map((cell) => cell.result));
  const metricNames = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const columns = [
    "dataset",
    "model",
    "task",
    ...metricNames,
    "n_samples",
    "n_images",
    "n_captions",
  ];
  const lines = [columns.map(csvField).join(",")];
  const number = (value: number | null | undefined) =>
    value === null || value === undefined ? "" : String(value);
  for (const result of results) {
    lines.push(
      [
        result.dataset,
        result.model,
        result.task,
        ...metricNames.map((name) => number(result.metrics[name])),
        number(result.nSamples),
        number(result.nImages),
        number(result.nCaptions),
      ].map(csvField).join(","),
    );
  }
  return lines.join("\n") + "\n";
}
