/**
 * A report as JSON: `{format: "clipbench-report", version: 1, tables: [...]}`, each table with
 * its task, datasets, models, the shown metrics of every result (value, Wilson interval as
 * `low`/`high` with the `successes`/`trials` behind it, or `no_interval` saying why), the
 * settings in which a result differs from the dataset's others, its `per_class_recall` when the
 * result's `clipbench` block has one, and the per-model averages; then `bootstrap`: the seed,
 * resamples and each metric's percentile-bootstrap interval of the results with predictions
 * (`null` when none has).
 *
 * @module
 */

import type { MetricValue } from "./main_metrics.ts";
import type { MetricAverage, Report } from "./report_table.ts";

/** The `format` field of a JSON report. */
export const REPORT_JSON_FORMAT = "clipbench-report";

/** The version of the JSON report's layout. */
export const REPORT_JSON_VERSION = 1;

function metricJson(metric: MetricValue) {
  return {
    name: metric.name,
    label: metric.label,
    value: metric.value,
    ...(metric.interval !== null
      ? {
        low: metric.interval.low,
        high: metric.interval.high,
        successes: metric.interval.successes,
        trials: metric.interval.trials,
      }
      : { no_interval: metric.noIntervalReason }),
  };
}

function averageJson(average: MetricAverage) {
  return { label: average.label, mean: average.mean, datasets: average.count };
}

/** The report as a JSON-ready object. */
export function reportJson(report: Report): Record<string, unknown> {
  return {
    format: REPORT_JSON_FORMAT,
    version: REPORT_JSON_VERSION,
    confidence: 0.95,
    interval_method: "wilson",
    tables: report.tables.map((table) => ({
      task: table.task,
      datasets: table.datasets,
      models: table.models,
      results: table.cells.map((cell) => {
        const perClassRecall = cell.result.clipbench?.per_class_recall;
        return {
          model: cell.model,
          dataset: cell.dataset,
          file: cell.result.path,
          metrics: cell.metrics.map(metricJson),
          settings_differ: cell.settingDifferences,
          ...(perClassRecall !== undefined && { per_class_recall: perClassRecall }),
        };
      }),
      averages: table.averages.map((averages) => ({
        model: averages.model,
        all: averages.all.map(averageJson),
        ...(averages.shared !== undefined && { shared: averages.shared.map(averageJson) }),
      })),
    })),
    bootstrap: report.bootstrap === undefined ? null : {
      method: "percentile",
      seed: report.bootstrap.seed,
      resamples: report.bootstrap.resamples,
      results: report.bootstrap.rows.map((row) => ({
        model: row.model,
        dataset: row.dataset,
        task: row.task,
        name: row.name,
        label: row.label,
        value: row.value,
        estimate: row.bootstrap.estimate,
        low: row.bootstrap.low,
        high: row.bootstrap.high,
        rows: row.rows,
      })),
      ignored: report.bootstrap.ignored,
    },
  };
}

/** The report as JSON text (ends with a newline). */
export function formatJson(report: Report): string {
  return JSON.stringify(reportJson(report), null, 2) + "\n";
}
