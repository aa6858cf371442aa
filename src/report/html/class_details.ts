/**
 * Per-class figures of a classification result for the HTML report:
 *
 * - the recall of each class, from the result's `clipbench.per_class_recall` (or, without it,
 *   from the predictions rows: per class, the rows whose `top[0]` is the label over the class's
 *   rows);
 * - the class names, from the header of the predictions file beside the result when there is one,
 *   else from the result's own `classnames` (dumped with `--dump_classnames`), else `class i`;
 * - the most frequent confusions (true class → predicted class `top[0]`, how many samples, and
 *   their share of the true class's samples), from the predictions rows; without predictions a
 *   note says to run `eval --save-predictions`.
 *
 * Multi-label results have neither: their note says so.
 *
 * @module
 */

import type { ClassificationRow } from "../../results/predictions/predictions_file.ts";
import { MULTILABEL_METRIC } from "../main_metrics.ts";
import { readResultJson, type ReportedResult } from "../result_files.ts";
import type { IgnoredPredictions, ResultSamples } from "../result_samples.ts";

/** Confusions listed per result. */
export const CONFUSIONS_LISTED = 10;

/** Where a result's class names came from. */
export type ClassNamesSource = "predictions" | "result" | "index";

/** One class's recall. */
export interface ClassRecall {
  /** Class index. */
  readonly index: number;
  /** Class name (unique within the result: a repeated name gets ` (#index)`). */
  readonly name: string;
  /** Recall; `null` when the class has no sample. */
  readonly recall: number | null;
}

/** One confusion: samples of a class predicted as another. */
export interface Confusion {
  /** True class index. */
  readonly trueClass: number;
  /** Its name. */
  readonly trueName: string;
  /** Predicted class index (`top[0]`). */
  readonly predicted: number;
  /** Its name. */
  readonly predictedName: string;
  /** Samples. */
  readonly count: number;
  /** Their share of the true class's samples. */
  readonly share: number;
}

/** The per-class figures of one classification result. */
export interface ClassDetails {
  /** Model name. */
  readonly model: string;
  /** Dataset name. */
  readonly dataset: string;
  /** The result file. */
  readonly path: string;
  /** Single-label or multi-label. */
  readonly kind: "single_label" | "multilabel";
  /** Where the names came from. */
  readonly namesFrom: ClassNamesSource;
  /** Per class, in class order (empty when unknown). */
  readonly recalls: readonly ClassRecall[];
  /** Where the recalls came from (`null` when unknown). */
  readonly recallsFrom: "result" | "predictions" | null;
  /** Most frequent confusions first; `null` without usable predictions. */
  readonly confusions: readonly Confusion[] | null;
  /** Notes on what is missing and why. */
  readonly notes: readonly string[];
}

/** The `classnames` a result file holds (`--dump_classnames`), if any. */
export async function readDumpedClassnames(path: string): Promise<string[] | undefined> {
  const parsed = await readResultJson(path);
  const names = (parsed as Record<string, unknown>)?.classnames;
  return Array.isArray(names) && names.every((name) => typeof name === "string")
    ? names
    : undefined;
}

/** Names for `count` classes from `names` (`class i` where missing), each made unique. */
export function uniqueClassNames(names: readonly string[] | undefined, count: number): string[] {
  const raw = Array.from({ length: count }, (_, i) => names?.[i] ?? `class ${i}`);
  const seen = new Map<string, number>();
  for (const name of raw) seen.set(name, (seen.get(name) ?? 0) + 1);
  return raw.map((name, i) => ((seen.get(name) ?? 0) > 1 ? `${name} (#${i})` : name));
}

/** `clipbench.per_class_recall` of a result, when it is a list of numbers and nulls. */
export function blockPerClassRecall(result: ReportedResult): (number | null)[] | undefined {
  const recalls = result.clipbench?.per_class_recall;
  return Array.isArray(recalls) &&
      recalls.every((r) => r === null || (typeof r === "number" && Number.isFinite(r)))
    ? recalls
    : undefined;
}

/** Per class, the recall of single-label predictions rows (`top[0]` equal to the label). */
export function recallFromRows(
  rows: readonly ClassificationRow[],
  classes: number,
): (number | null)[] {
  const totals = new Array<number>(classes).fill(0);
  const correct = new Array<number>(classes).fill(0);
  for (const row of rows) {
    totals[row.label]++;
    if (row.top[0] === row.label) correct[row.label]++;
  }
  return totals.map((total, c) => (total > 0 ? correct[c] / total : null));
}

/**
 * The most frequent confusions of single-label rows: pairs (label, `top[0]`) with
 * `top[0] ≠ label`, by count (then by true class, then predicted class), at most `limit`.
 */
export function mostFrequentConfusions(
  rows: readonly ClassificationRow[],
  names: readonly string[],
  limit: number = CONFUSIONS_LISTED,
): Confusion[] {
  const totals = new Map<number, number>();
  const pairs = new Map<string, { trueClass: number; predicted: number; count: number }>();
  for (const row of rows) {
    totals.set(row.label, (totals.get(row.label) ?? 0) + 1);
    const predicted = row.top[0];
    if (predicted === undefined || predicted === row.label) continue;
    const key = `${row.label}:${predicted}`;
    const pair = pairs.get(key) ?? { trueClass: row.label, predicted, count: 0 };
    pair.count++;
    pairs.set(key, pair);
  }
  return [...pairs.values()]
    .sort((a, b) => b.count - a.count || a.trueClass - b.trueClass || a.predicted - b.predicted)
    .slice(0, limit)
    .map((pair) => ({
      ...pair,
      trueName: names[pair.trueClass] ?? `class ${pair.trueClass}`,
      predictedName: names[pair.predicted] ?? `class ${pair.predicted}`,
      share: pair.count / totals.get(pair.trueClass)!,
    }));
}

/** Whether a classification result is multi-label (it reports mAP, not acc1). */
export function isMultilabel(result: ReportedResult): boolean {
  return MULTILABEL_METRIC in result.metrics && !("acc1" in result.metrics);
}

const SAVE_PREDICTIONS_NOTE =
  "No predictions beside this result: run eval with --save-predictions for its confusions.";

/**
 * The per-class figures of one classification result.
 *
 * @param samples Its checked predictions, when usable.
 * @param ignored Why predictions found beside it were not used, when they were not.
 * @param dumpedNames The result file's own `classnames`, when it has them.
 */
export function classDetails(
  result: ReportedResult,
  samples: ResultSamples | undefined,
  ignored: IgnoredPredictions | undefined,
  dumpedNames: readonly string[] | undefined,
): ClassDetails {
  const base = { model: result.model, dataset: result.dataset, path: result.path };
  if (isMultilabel(result)) {
    return {
      ...base,
      kind: "multilabel",
      namesFrom: samples !== undefined ? "predictions" : dumpedNames ? "result" : "index",
      recalls: [],
      recallsFrom: null,
      confusions: null,
      notes: ["Multi-label dataset: per-class recall and confusions are for single-label data."],
    };
  }
  const notes: string[] = [];
  const header = samples?.predictions.header;
  const rows = header?.kind === "classification"
    ? samples!.predictions.rows as readonly ClassificationRow[]
    : undefined;
  const headerNames = rows !== undefined ? header?.classnames : undefined;
  const fromBlock = blockPerClassRecall(result);
  const classes = fromBlock?.length ?? headerNames?.length ?? dumpedNames?.length ?? 0;
  const recallValues = fromBlock ??
    (rows !== undefined ? recallFromRows(rows, classes) : undefined);
  if (recallValues === undefined) {
    notes.push("The result has no clipbench.per_class_recall and no predictions beside it.");
  }
  const namesFrom: ClassNamesSource = headerNames !== undefined
    ? "predictions"
    : dumpedNames !== undefined
    ? "result"
    : "index";
  const names = uniqueClassNames(headerNames ?? dumpedNames, classes);
  if (ignored !== undefined) notes.push(`Predictions not used: ${ignored.reason}.`);
  else if (rows === undefined) notes.push(SAVE_PREDICTIONS_NOTE);
  return {
    ...base,
    kind: "single_label",
    namesFrom,
    recalls: (recallValues ?? []).map((recall, index) => ({ index, name: names[index], recall })),
    recallsFrom: fromBlock !== undefined ? "result" : rows !== undefined ? "predictions" : null,
    confusions: rows === undefined ? null : mostFrequentConfusions(rows, names),
    notes,
  };
}

/**
 * The per-class figures of every classification result, by dataset then model, reading the
 * result files again for their dumped `classnames`.
 */
export async function loadClassDetails(
  results: readonly ReportedResult[],
  samples: ReadonlyMap<string, ResultSamples>,
  ignored: readonly IgnoredPredictions[],
): Promise<ClassDetails[]> {
  const details: ClassDetails[] = [];
  const sorted = results
    .filter((r) => r.task === "zeroshot_classification")
    .sort((a, b) =>
      a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : a.model < b.model ? -1 : 1
    );
  for (const result of sorted) {
    const own = samples.get(result.path);
    const notUsed = ignored.find((entry) => entry.file === result.predictionsPath);
    const dumped = own === undefined ? await readDumpedClassnames(result.path) : undefined;
    details.push(classDetails(result, own, notUsed, dumped));
  }
  return details;
}
