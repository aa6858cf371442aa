/**
 * The model × dataset tables of a report, one per task, as data: each result's shown metrics
 * with their intervals ({@linkcode mainMetrics}), its setting differences
 * ({@linkcode findSettingDifferences}), and per model the mean of each shown metric over the
 * datasets it has (with their number) and, when the models do not all have the same datasets,
 * over the datasets all of them share. The Markdown, CSV and JSON writers format this.
 *
 * @module
 */

import type { TaskName } from "../results/result.ts";
import type { BootstrapSection } from "./bootstrap_section.ts";
import { mainMetrics, type MetricValue } from "./main_metrics.ts";
import type { ReportedResult } from "./result_files.ts";
import { findSettingDifferences, type SettingDifference } from "./settings_difference.ts";

/** One model's result on one dataset. */
export interface ReportCell {
  /** Model name. */
  readonly model: string;
  /** Dataset name. */
  readonly dataset: string;
  /** The result. */
  readonly result: ReportedResult;
  /** Its shown metrics. */
  readonly metrics: readonly MetricValue[];
  /** Settings in which it differs from the dataset's other results. */
  readonly settingDifferences: readonly SettingDifference[];
}

/** The mean of one metric over some of a model's datasets. */
export interface MetricAverage {
  /** Metric label (for classification, `main`: acc1, or mAP on multi-label datasets). */
  readonly label: string;
  /** The mean; `null` when no dataset has a value. */
  readonly mean: number | null;
  /** Datasets averaged. */
  readonly count: number;
}

/** A model's averages in one task's table. */
export interface ModelAverages {
  /** Model name. */
  readonly model: string;
  /** Over all datasets the model has. */
  readonly all: readonly MetricAverage[];
  /** Over the datasets every model of the table has; absent when all have the same ones. */
  readonly shared?: readonly MetricAverage[];
}

/** One task's table. */
export interface TaskTable {
  /** Task. */
  readonly task: TaskName;
  /** Datasets, sorted. */
  readonly datasets: readonly string[];
  /** Models, sorted. */
  readonly models: readonly string[];
  /** Metric labels shown, in order. */
  readonly labels: readonly string[];
  /** Every result, by dataset then model. */
  readonly cells: readonly ReportCell[];
  /** Per model averages. */
  readonly averages: readonly ModelAverages[];
}

/** One model's row of a classification table (see {@linkcode classificationLayout}). */
export interface ClassificationRow {
  /** The model. */
  readonly model: string;
  /** Its result per dataset column (`undefined`: no result). */
  readonly cells: readonly (ReportCell | undefined)[];
  /** Its mean over its datasets. */
  readonly all: MetricAverage;
  /** Its mean over the datasets every model has (when the table has that column). */
  readonly shared?: MetricAverage;
}

/**
 * The layout of a classification table, the same in Markdown and HTML: a `model` column, a
 * column per dataset (titled `dataset (metric)` where its main metric is not acc1), the mean over
 * each model's datasets and, when models differ in datasets, the mean over the shared ones.
 */
export function classificationLayout(
  table: TaskTable,
): { columns: string[]; rows: ClassificationRow[] } {
  const metricOf = (dataset: string) =>
    table.cells.find((c) => c.dataset === dataset)?.metrics[0]?.label ?? "acc1";
  const hasShared = table.averages.some((a) => a.shared !== undefined);
  const columns = [
    "model",
    ...table.datasets.map((d) => (metricOf(d) === "acc1" ? d : `${d} (${metricOf(d)})`)),
    "mean (datasets)",
    ...(hasShared ? ["mean over shared (datasets)"] : []),
  ];
  const rows = table.models.map((model) => {
    const averages = table.averages.find((a) => a.model === model)!;
    return {
      model,
      cells: table.datasets.map((dataset) =>
        table.cells.find((c) => c.model === model && c.dataset === dataset)
      ),
      all: averages.all[0],
      ...(hasShared && { shared: averages.shared![0] }),
    };
  });
  return { columns, rows };
}

/** A report: its tables, in task order (classification, then retrieval). */
export interface Report {
  /** One table per task present. */
  readonly tables: readonly TaskTable[];
  /** Bootstrap intervals, when some result has predictions beside it. */
  readonly bootstrap?: BootstrapSection;
}

/** The label classification averages are given under (acc1, or mAP for multi-label data). */
export const CLASSIFICATION_MAIN_LABEL = "main";

function averageKey(task: TaskName, metric: MetricValue): string {
  return task === "zeroshot_classification" ? CLASSIFICATION_MAIN_LABEL : metric.label;
}

function average(
  task: TaskName,
  labels: readonly string[],
  cells: readonly ReportCell[],
): MetricAverage[] {
  return labels.map((label) => {
    const values: number[] = [];
    for (const cell of cells) {
      const metric = cell.metrics.find((m) => averageKey(task, m) === label);
      if (metric?.value !== null && metric?.value !== undefined) values.push(metric.value);
    }
    const mean = values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
    return { label, mean, count: values.length };
  });
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Builds the tables of `results` (with the bootstrap section computed from their predictions). */
export function buildReport(
  results: readonly ReportedResult[],
  bootstrap?: BootstrapSection,
): Report {
  const differences = findSettingDifferences(results);
  const tables: TaskTable[] = [];
  for (const task of ["zeroshot_classification", "zeroshot_retrieval"] as const) {
    const ofTask = results.filter((r) => r.task === task);
    if (ofTask.length === 0) continue;
    const cells: ReportCell[] = ofTask
      .map((result) => ({
        model: result.model,
        dataset: result.dataset,
        result,
        metrics: mainMetrics(result),
        settingDifferences: differences.get(result) ?? [],
      }))
      .sort((a, b) => compareText(a.dataset, b.dataset) || compareText(a.model, b.model));
    const datasets = [...new Set(cells.map((c) => c.dataset))];
    const models = [...new Set(cells.map((c) => c.model))].sort(compareText);
    const labels = [...new Set(cells.flatMap((c) => c.metrics.map((m) => m.label)))];
    if (task === "zeroshot_retrieval") {
      labels.sort((a, b) => {
        const [sideA, kA] = [a.split(" ")[0], Number(a.split("@")[1])];
        const [sideB, kB] = [b.split(" ")[0], Number(b.split("@")[1])];
        return sideA === sideB ? kA - kB : compareText(sideA, sideB);
      });
    }
    const averageLabels = task === "zeroshot_classification" ? [CLASSIFICATION_MAIN_LABEL] : labels;
    const datasetsOf = (model: string) =>
      new Set(cells.filter((c) => c.model === model).map((c) => c.dataset));
    const shared = datasets.filter((d) => models.every((m) => datasetsOf(m).has(d)));
    const allSame = models.every((m) => datasetsOf(m).size === shared.length);
    const averages = models.map((model) => {
      const own = cells.filter((c) => c.model === model);
      return {
        model,
        all: average(task, averageLabels, own),
        ...(!allSame && {
          shared: average(task, averageLabels, own.filter((c) => shared.includes(c.dataset))),
        }),
      };
    });
    tables.push({ task, datasets, models, labels, cells, averages });
  }
  return { tables, ...(bootstrap !== undefined && { bootstrap }) };
}
