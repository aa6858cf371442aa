/**
 * The per-sample predictions beside a result (`--save-predictions`), loaded for the bootstrap
 * intervals of `report` and the paired tests of `compare`, and checked against the result they sit
 * beside: the same dataset, model and task, one row per sample scored (image, for retrieval),
 * unique keys, and every metric recomputed from the rows equal to the result's (within float32
 * rounding: retrieval's recalls and the mean average precision are float32 values in the result).
 * Predictions that fail a check are not used, and the reason is reported — a stale predictions
 * file from an earlier run never feeds an interval.
 *
 * @module
 */

import {
  type Predictions,
  PredictionsError,
  readFinalPredictions,
} from "../results/predictions/predictions_file.ts";
import {
  allRows,
  type SampleOutcomes,
  sampleOutcomes,
} from "../results/predictions/sample_metrics.ts";
import type { ReportedResult } from "./result_files.ts";

/** A result with its predictions and their per-sample view. */
export interface ResultSamples {
  /** The result. */
  readonly result: ReportedResult;
  /** Its predictions file. */
  readonly predictions: Predictions;
  /** The rows' metrics and hits. */
  readonly outcomes: SampleOutcomes;
}

/** Predictions that were found but not used, and why. */
export interface IgnoredPredictions {
  /** The predictions file. */
  readonly file: string;
  /** Why it was not used. */
  readonly reason: string;
}

/** Largest difference allowed between a metric from the rows and the result's float32 value. */
const TOLERANCE = 1e-6;

/** Why `predictions` do not belong to `result`, or `undefined` when they do. */
export function predictionsMismatch(
  result: ReportedResult,
  predictions: Predictions,
  outcomes: SampleOutcomes,
): string | undefined {
  const { header } = predictions;
  for (const field of ["dataset", "model", "task"] as const) {
    if (header[field] !== result[field]) {
      return `its ${field} is ${JSON.stringify(header[field])}, the result's ` +
        JSON.stringify(result[field]);
    }
  }
  const expected = result.task === "zeroshot_retrieval"
    ? result.nImages ?? result.nSamples
    : result.nSamples;
  if (expected !== undefined && outcomes.n !== expected) {
    return `it has ${outcomes.n} rows, the result scored ${expected}`;
  }
  if (new Set(outcomes.keys).size !== outcomes.n) return "a sample key occurs twice";
  if (outcomes.n === 0) return "it has no rows";
  const every = allRows(outcomes.n);
  for (const [name, metric] of outcomes.metrics) {
    const stored = result.metrics[name];
    if (stored === undefined || stored === null) continue;
    const computed = metric(every);
    if (!(Math.abs(computed - stored) <= TOLERANCE)) {
      return `${name} is ${computed} from its rows, ${stored} in the result`;
    }
  }
  return undefined;
}

/**
 * Loads the predictions beside each result that has some, keeping those that match it.
 *
 * @returns by result file, the samples; and the predictions not used, with the reason.
 */
export async function loadResultSamples(results: readonly ReportedResult[]): Promise<{
  samples: Map<string, ResultSamples>;
  ignored: IgnoredPredictions[];
}> {
  const samples = new Map<string, ResultSamples>();
  const ignored: IgnoredPredictions[] = [];
  for (const result of results) {
    const file = result.predictionsPath;
    if (file === undefined) continue;
    let predictions: Predictions;
    try {
      predictions = await readFinalPredictions(file);
    } catch (error) {
      if (!(error instanceof PredictionsError)) throw error;
      ignored.push({ file, reason: error.message.slice(file.length + 2) });
      continue;
    }
    const outcomes = sampleOutcomes(predictions, predictions.rows);
    const mismatch = predictionsMismatch(result, predictions, outcomes);
    if (mismatch !== undefined) {
      ignored.push({ file, reason: `does not match ${result.path}: ${mismatch}` });
      continue;
    }
    samples.set(result.path, { result, predictions, outcomes });
  }
  return { samples, ignored };
}
