/**
 * The report's tables as HTML, with the content of the Markdown report (src/report/markdown.ts):
 * per task the model × dataset table of the shown metrics in % with their 95 % Wilson intervals,
 * each model's means (and over the shared datasets, when the models' datasets differ), a † on
 * results whose settings differ from the others of their dataset and a ‡ on values without an
 * interval, both explained in notes below the table; then the bootstrap intervals.
 *
 * @module
 */

import type { BootstrapSection } from "../bootstrap_section.ts";
import type { MetricValue } from "../main_metrics.ts";
import { percent } from "../markdown.ts";
import {
  classificationLayout,
  type MetricAverage,
  type ReportCell,
  type TaskTable,
} from "../report_table.ts";
import { describeDifference } from "../settings_difference.ts";
import { escapeHtml } from "./escape.ts";

/** A table's title. */
export const TABLE_TITLES = {
  zeroshot_classification: "Zero-shot classification: acc1 (mAP on multi-label datasets)",
  zeroshot_retrieval: "Zero-shot retrieval: recall@k",
} as const;

/** `<th>` or `<td>` cells of one row (contents already HTML). */
function tableRow(cells: readonly string[], headerCells = 0): string {
  return `<tr>${
    cells.map((cell, i) => (i < headerCells ? `<th>${cell}</th>` : `<td>${cell}</td>`)).join("")
  }</tr>`;
}

function headRow(columns: readonly string[]): string {
  return `<thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>`;
}

/** A metric's value with its interval, as HTML: `75.00 [65.70, 82.45]`, `75.00 ‡`, `n/a`. */
export function metricHtml(metric: MetricValue): string {
  if (metric.value === null) return `<span class="na">n/a</span>`;
  if (metric.interval === null) {
    return `${percent(metric.value)} <span class="mark" title="${
      escapeHtml(`no interval: ${metric.noIntervalReason ?? ""}`)
    }">‡</span>`;
  }
  return `${percent(metric.value)} <span class="ci">[${percent(metric.interval.low)}, ${
    percent(metric.interval.high)
  }]</span>`;
}

function differenceMark(cell: ReportCell): string {
  if (cell.settingDifferences.length === 0) return "";
  const title = cell.settingDifferences.map(describeDifference).join("; ");
  return ` <span class="mark" title="${escapeHtml(`settings differ: ${title}`)}">†</span>`;
}

function averageHtml(average: MetricAverage): string {
  return average.mean === null
    ? `<span class="na">n/a</span>`
    : `${percent(average.mean)} <span class="count">(${average.count})</span>`;
}

function classificationTable(table: TaskTable): string {
  const { columns, rows } = classificationLayout(table);
  const body = rows.map((r) =>
    tableRow([
      escapeHtml(r.model),
      ...r.cells.map((cell) =>
        cell === undefined ? "—" : metricHtml(cell.metrics[0]) + differenceMark(cell)
      ),
      averageHtml(r.all),
      ...(r.shared ? [averageHtml(r.shared)] : []),
    ], 1)
  );
  return `<table>${headRow(columns)}<tbody>${body.join("")}</tbody></table>`;
}

function retrievalTables(table: TaskTable): string {
  const rows: string[] = [];
  for (const model of table.models) {
    for (const cell of table.cells.filter((c) => c.model === model)) {
      rows.push(tableRow([
        escapeHtml(model),
        escapeHtml(cell.dataset) + differenceMark(cell),
        ...table.labels.map((label) => {
          const metric = cell.metrics.find((m) => m.label === label);
          return metric === undefined ? "—" : metricHtml(metric);
        }),
      ], 1));
    }
  }
  const hasShared = table.averages.some((a) => a.shared !== undefined);
  const means: string[] = [];
  for (const averages of table.averages) {
    means.push(
      tableRow([escapeHtml(averages.model), "its datasets", ...averages.all.map(averageHtml)], 1),
    );
    if (hasShared) {
      means.push(tableRow([
        escapeHtml(averages.model),
        "shared datasets",
        ...averages.shared!.map(averageHtml),
      ], 1));
    }
  }
  return `<table>${headRow(["model", "dataset", ...table.labels])}<tbody>${
    rows.join("")
  }</tbody></table>\n<table>${headRow(["model", "mean over", ...table.labels])}<tbody>${
    means.join("")
  }</tbody></table>`;
}

/** The notes of a table (setting differences †, missing intervals ‡), as text lines. */
export function tableNotes(table: TaskTable): string[] {
  const notes: string[] = [];
  for (const cell of table.cells) {
    for (const difference of cell.settingDifferences) {
      notes.push(
        `† ${cell.model} on ${cell.dataset}: settings differ: ${describeDifference(difference)}`,
      );
    }
  }
  for (const cell of table.cells) {
    for (const metric of cell.metrics) {
      if (metric.value !== null && metric.interval === null) {
        notes.push(
          `‡ ${cell.model} on ${cell.dataset}, ${metric.label}: no interval (${metric.noIntervalReason})`,
        );
      }
    }
  }
  return notes;
}

/** A list of text notes as HTML (empty without notes). */
export function notesHtml(notes: readonly string[]): string {
  return notes.length === 0
    ? ""
    : `<ul class="notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`;
}

/** One task's table(s) and notes, as HTML. */
export function taskTableHtml(table: TaskTable): string {
  const body = table.task === "zeroshot_classification"
    ? classificationTable(table)
    : retrievalTables(table);
  return `<div class="table-wrap">${body}</div>\n${notesHtml(tableNotes(table))}`;
}

const interval = (low: number, high: number) => `[${percent(low)}, ${percent(high)}]`;

/** The bootstrap section as HTML: every metric of the results with predictions. */
export function bootstrapHtml(section: BootstrapSection | undefined): string {
  if (section === undefined || (section.rows.length === 0 && section.ignored.length === 0)) {
    return `<p>No result has per-sample predictions beside it; run <code>eval --save-predictions` +
      `</code> for bootstrap intervals (also of the mean per-class recall and mAP).</p>`;
  }
  const parts = [
    `<p>Seeded percentile bootstrap: ${section.resamples} resamples, seed ${section.seed} ` +
    `(<code>report --seed</code>); rows are samples, or images with their captions for ` +
    `retrieval. Chart whiskers show these intervals where they exist.</p>`,
  ];
  if (section.rows.length > 0) {
    const rows = section.rows.map((entry) =>
      tableRow([
        escapeHtml(entry.model),
        escapeHtml(entry.dataset),
        escapeHtml(entry.label),
        entry.value === null ? "n/a" : percent(entry.value),
        entry.wilson === null ? "—" : interval(entry.wilson.low, entry.wilson.high),
        interval(entry.bootstrap.low, entry.bootstrap.high),
        String(entry.rows),
      ], 1)
    );
    parts.push(
      `<div class="table-wrap"><table>${
        headRow(["model", "dataset", "metric", "value", "Wilson 95 %", "bootstrap 95 %", "rows"])
      }<tbody>${rows.join("")}</tbody></table></div>`,
    );
  }
  parts.push(
    notesHtml(
      section.ignored.map(({ file, reason }) => `predictions not used: ${file}: ${reason}`),
    ),
  );
  return parts.join("\n");
}
