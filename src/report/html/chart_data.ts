/**
 * The data behind the HTML report's charts, from a report's tables ({@linkcode Report}):
 *
 * - per task, one bar per model × dataset × shown metric, in %, with its 95 % interval — the
 *   seeded bootstrap interval where the report has one for that result and metric (predictions
 *   beside the result), else the Wilson interval from the counts, else none;
 * - per model × dataset, the main metric (acc1, mAP on multi-label data, image R@1 for retrieval,
 *   or the first recall shown) against the images per second of its run
 *   (`clipbench.time.images_per_s`), for every result whose run was timed.
 *
 * @module
 */

import type { TaskName } from "../../results/result.ts";
import type { BootstrapSection } from "../bootstrap_section.ts";
import type { MetricValue } from "../main_metrics.ts";
import type { ReportCell, TaskTable } from "../report_table.ts";

/** Which interval a bar's whisker shows. */
export type IntervalKind = "bootstrap" | "Wilson" | "none";

/** One bar of a task's chart. */
export interface BarDatum {
  /** Dataset name. */
  readonly dataset: string;
  /** The dataset's label on the axis (with ` (mAP)` for a multi-label dataset). */
  readonly axis: string;
  /** Model name. */
  readonly model: string;
  /** Metric label. */
  readonly metric: string;
  /** Value in %. */
  readonly value: number;
  /** Interval bounds in % (`null` without an interval). */
  readonly low: number | null;
  /** Upper bound in %. */
  readonly high: number | null;
  /** Which interval. */
  readonly interval: IntervalKind;
}

/** One point of the accuracy-against-speed scatter. */
export interface SpeedDatum {
  /** Model name. */
  readonly model: string;
  /** Dataset name. */
  readonly dataset: string;
  /** Task. */
  readonly task: TaskName;
  /** The metric plotted (acc1, mAP, image R@1, …). */
  readonly metric: string;
  /** Its value in %. */
  readonly value: number;
  /** Images scored per second. */
  readonly imagesPerSecond: number;
}

/** A result left out of the scatter, and why. */
export interface UntimedResult {
  /** Model name. */
  readonly model: string;
  /** Dataset name. */
  readonly dataset: string;
  /** Why. */
  readonly reason: string;
}

/** The interval drawn for `metric` of `cell`: the bootstrap one when there is one, else Wilson. */
export function chartInterval(
  cell: Pick<ReportCell, "model" | "dataset" | "result">,
  metric: MetricValue,
  bootstrap: BootstrapSection | undefined,
): { low: number; high: number; kind: IntervalKind } | null {
  const row = bootstrap?.rows.find((r) =>
    r.model === cell.model && r.dataset === cell.dataset && r.task === cell.result.task &&
    r.name === metric.name
  );
  if (row !== undefined) {
    return { low: row.bootstrap.low, high: row.bootstrap.high, kind: "bootstrap" };
  }
  if (metric.interval !== null) {
    return { low: metric.interval.low, high: metric.interval.high, kind: "Wilson" };
  }
  return null;
}

const inPercent = (value: number) => 100 * value;

/** The bars of one task's chart, by dataset, then model, then metric (values in %). */
export function barData(table: TaskTable, bootstrap: BootstrapSection | undefined): BarDatum[] {
  const bars: BarDatum[] = [];
  for (const cell of table.cells) {
    const metrics = table.task === "zeroshot_classification"
      ? cell.metrics.slice(0, 1)
      : cell.metrics;
    for (const metric of metrics) {
      if (metric.value === null) continue;
      const interval = chartInterval(cell, metric, bootstrap);
      bars.push({
        dataset: cell.dataset,
        axis: table.task === "zeroshot_classification" && metric.label !== "acc1"
          ? `${cell.dataset} (${metric.label})`
          : cell.dataset,
        model: cell.model,
        metric: metric.label,
        value: inPercent(metric.value),
        low: interval === null ? null : inPercent(interval.low),
        high: interval === null ? null : inPercent(interval.high),
        interval: interval?.kind ?? "none",
      });
    }
  }
  return bars;
}

/** The images per second of a result's run, or why there is none. */
export function imagesPerSecond(cell: Pick<ReportCell, "result">): number | string {
  const block = cell.result.clipbench;
  if (block === undefined) return "the result has no clipbench block";
  const time = block.time;
  if (time === null) return "its run was not timed as a whole (a merge of shards)";
  const speed = typeof time === "object" && time !== null
    ? (time as Record<string, unknown>).images_per_s
    : undefined;
  if (typeof speed !== "number" || !Number.isFinite(speed) || speed <= 0) {
    return "its clipbench.time.images_per_s is not a positive number";
  }
  return speed;
}

/** The scatter's points, and the results left out of it. */
export function speedData(
  tables: readonly TaskTable[],
): { points: SpeedDatum[]; untimed: UntimedResult[] } {
  const points: SpeedDatum[] = [];
  const untimed: UntimedResult[] = [];
  for (const table of tables) {
    for (const cell of table.cells) {
      const main = cell.metrics[0];
      if (main === undefined || main.value === null) continue;
      const speed = imagesPerSecond(cell);
      if (typeof speed === "string") {
        untimed.push({ model: cell.model, dataset: cell.dataset, reason: speed });
        continue;
      }
      points.push({
        model: cell.model,
        dataset: cell.dataset,
        task: table.task,
        metric: main.label,
        value: inPercent(main.value),
        imagesPerSecond: speed,
      });
    }
  }
  return { points, untimed };
}
