/**
 * The metrics a report shows for each result, with their 95 % Wilson intervals:
 *
 * - classification: `acc1`, or `mean_average_precision` ("mAP") for multi-label data;
 * - retrieval: image and text recall@1, @5 and @10 (`image_retrieval_recall@k`,
 *   `text_retrieval_recall@k`; the k the file has when it has none of these).
 *
 * A Wilson interval needs the count behind a proportion: `acc1` is a mean over `n_samples`
 * images, `text_retrieval_recall@k` a mean over the `n_images` images and
 * `image_retrieval_recall@k` a mean over the `n_captions` captions. The count is value × trials,
 * accepted only when it is a whole number that gives back the value written (divided in double
 * precision, as classification computes it, or rounded to float32, as retrieval's PyTorch-style
 * mean does); otherwise, and for mAP (not a proportion of counts), the metric has no interval and
 * a note says why.
 *
 * @module
 */

import type { TaskName } from "../results/result.ts";
import { type ProportionInterval, wilsonInterval } from "../stats/wilson.ts";
import type { ReportedResult } from "./result_files.ts";

/** One shown metric of one result. */
export interface MetricValue {
  /** The metric's name in the result file. */
  readonly name: string;
  /** Its short label (`acc1`, `mAP`, `image R@1`, …). */
  readonly label: string;
  /** Its value; `null` when the file has none. */
  readonly value: number | null;
  /** Its 95 % Wilson interval, when the count behind it is known. */
  readonly interval: ProportionInterval | null;
  /** Why there is no interval (absent when there is one). */
  readonly noIntervalReason?: string;
}

/** The metric name multi-label classification writes. */
export const MULTILABEL_METRIC = "mean_average_precision";

/** The recall@k shown for retrieval when present. */
export const SHOWN_RECALL_K: readonly number[] = [1, 5, 10];

const RECALL = /^(image|text)_retrieval_recall@(\d+)$/;

/** The short label of a metric name. */
export function metricLabel(name: string): string {
  if (name === MULTILABEL_METRIC) return "mAP";
  const recall = RECALL.exec(name);
  return recall ? `${recall[1]} R@${recall[2]}` : name;
}

/** The names of the metrics shown for a result, in display order. */
export function shownMetricNames(task: TaskName, metrics: Readonly<Record<string, unknown>>) {
  if (task === "zeroshot_classification") {
    return [MULTILABEL_METRIC in metrics && !("acc1" in metrics) ? MULTILABEL_METRIC : "acc1"];
  }
  const recalls = Object.keys(metrics)
    .map((name) => RECALL.exec(name))
    .filter((match) => match !== null)
    .map((match) => ({ side: match[1], k: Number(match[2]), name: match[0] }));
  const shown = recalls.filter((r) => SHOWN_RECALL_K.includes(r.k));
  const chosen = shown.length > 0 ? shown : recalls;
  chosen.sort((a, b) => (a.side === b.side ? a.k - b.k : a.side === "image" ? -1 : 1));
  return chosen.map((r) => r.name);
}

/**
 * The whole count behind `value` = count / trials, when `value` is such a quotient in double or
 * float32 precision; `null` otherwise.
 */
export function recoverCount(value: number, trials: number): number | null {
  if (!Number.isFinite(value) || trials <= 0 || value < 0 || value > 1) return null;
  const count = Math.round(value * trials);
  const quotient = count / trials;
  return quotient === value || Math.fround(quotient) === value ? count : null;
}

/** The number of trials a metric is a proportion of, and what they are called. */
function trialsOf(result: ReportedResult, name: string): { trials?: number; what: string } | null {
  if (name === "acc1" || name === "acc5") return { trials: result.nSamples, what: "n_samples" };
  if (name.startsWith("image_retrieval_recall@")) {
    return { trials: result.nCaptions, what: "n_captions" };
  }
  if (name.startsWith("text_retrieval_recall@")) {
    return { trials: result.nImages ?? result.nSamples, what: "n_images" };
  }
  return null;
}

/** A metric of a result with its interval (or the reason it has none). */
export function metricValue(result: ReportedResult, name: string): MetricValue {
  const label = metricLabel(name);
  const value = result.metrics[name] ?? null;
  const none = (reason: string): MetricValue => ({
    name,
    label,
    value,
    interval: null,
    noIntervalReason: reason,
  });
  if (value === null) return none("no value in the result");
  const trials = trialsOf(result, name);
  if (trials === null) return none(`${label} is not a proportion of counts`);
  if (trials.trials === undefined) return none(`the result has no ${trials.what}`);
  const count = recoverCount(value, trials.trials);
  if (count === null) {
    return none(
      `${name} × ${trials.what} = ${value} × ${trials.trials} = ${+(value * trials.trials).toFixed(
        6,
      )} is not a whole count`,
    );
  }
  return { name, label, value, interval: wilsonInterval(count, trials.trials) };
}

/** The shown metrics of a result ({@linkcode shownMetricNames}) with their intervals. */
export function mainMetrics(result: ReportedResult): MetricValue[] {
  return shownMetricNames(result.task, result.metrics).map((name) => metricValue(result, name));
}
