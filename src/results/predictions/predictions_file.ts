/**
 * The per-sample predictions file `--save-predictions` writes beside a result
 * (`<dataset>_<task>.predictions.jsonl` beside `<dataset>_<task>.json`), and its reader. JSON
 * Lines: a header object, then one object per scored sample in the order the unsharded run scores
 * them (tar shard, then sample within it).
 *
 * Header: `{"format": "clipbench-predictions", "version": 1, "dataset", "model", "task", "kind"}`
 * and, by kind, `classnames` (classification and multi-label: the class names used, in class
 * order) or `recall_k` (retrieval). A shard's file (`<partial>.predictions.jsonl`) adds
 * `"shard": "i/n"`, and each of its rows a `position` (`[tar shard, sample index]`) by which
 * `cli.ts merge` puts the rows of all shards back in the unsharded order.
 *
 * Rows, by kind:
 *
 * - `classification`: `{"key", "label", "top", "scores"}` — the true class index, the indices of
 *   the (up to) 5 highest-scoring classes, best first (equal scores: the lower index first, as
 *   acc@k counts them), and their logits (100 · cosine) rounded to float32. acc@1 counts the rows
 *   whose `top[0]` is the label, acc@5 those whose label is among `top`, and the mean per-class
 *   recall divides, per class, the rows whose `top[0]` is the label by the class's rows.
 * - `multilabel`: `{"key", "labels", "scores"}` — the indices of the positive classes and the
 *   float32 logit of every class (the values the mean average precision ranks, exactly).
 * - `retrieval`: `{"key", "text_rank", "image_ranks"}` — per image, how many captions rank before
 *   its best-ranked own caption (text retrieval hits at k when `text_rank < k`), and for each of
 *   its captions, in order, how many images rank before the caption's image (image retrieval
 *   hits at k when the rank is below k). Ranks are 0-based, ties as src/metrics/retrieval.ts.
 *   A shard's retrieval rows hold `key`, `captions` (how many) and `position` only: ranks need
 *   every image, so the merge adds them.
 *
 * @module
 */

import { ClipbenchError } from "../../errors.ts";
import type { TaskName } from "../result.ts";

/** The `format` field of every predictions file's header. */
export const PREDICTIONS_FORMAT = "clipbench-predictions";
/** The format version this module writes and reads. */
export const PREDICTIONS_VERSION = 1;
/** How a predictions file's name ends. */
export const PREDICTIONS_SUFFIX = ".predictions.jsonl";
/** Class indices a classification row lists. */
export const TOP_CLASSES = 5;

/** The kinds of predictions, one per kind of scoring. */
export type PredictionsKind = "classification" | "multilabel" | "retrieval";

/** A predictions file's header. */
export interface PredictionsHeader {
  /** Always {@linkcode PREDICTIONS_FORMAT}. */
  readonly format: typeof PREDICTIONS_FORMAT;
  /** Always {@linkcode PREDICTIONS_VERSION}. */
  readonly version: typeof PREDICTIONS_VERSION;
  /** Dataset name. */
  readonly dataset: string;
  /** Model name, as the result files it. */
  readonly model: string;
  /** Task. */
  readonly task: TaskName;
  /** Kind of rows. */
  readonly kind: PredictionsKind;
  /** Class names (classification and multi-label). */
  readonly classnames?: readonly string[];
  /** The k of recall@k (retrieval). */
  readonly recall_k?: readonly number[];
  /** A shard's file: which shard (`"i/n"`). */
  readonly shard?: string;
}

/** What a task says of its predictions before the first row; the runner adds the rest. */
export type TaskPredictionsHeader = Pick<PredictionsHeader, "kind" | "classnames" | "recall_k">;

/** A classification row. */
export interface ClassificationRow {
  /** Sample key. */
  readonly key: string;
  /** True class index. */
  readonly label: number;
  /** Up to 5 class indices, highest score first. */
  readonly top: readonly number[];
  /** Their logits, float32. */
  readonly scores: readonly number[];
}

/** A multi-label row. */
export interface MultilabelRow {
  /** Sample key. */
  readonly key: string;
  /** Positive class indices, ascending. */
  readonly labels: readonly number[];
  /** Every class's logit, float32. */
  readonly scores: readonly number[];
}

/** A retrieval row (one image and its captions). */
export interface RetrievalRow {
  /** Sample key. */
  readonly key: string;
  /** Captions ranking before the image's best own caption. */
  readonly text_rank: number;
  /** Per own caption: images ranking before the caption's image. */
  readonly image_ranks: readonly number[];
}

/** Any final row. */
export type PredictionRow = ClassificationRow | MultilabelRow | RetrievalRow;

/** A row of a shard's file: a final row, or a retrieval shard's key and caption count. */
export type ShardPredictionRow =
  & (PredictionRow | { readonly key: string; readonly captions: number })
  & { readonly position: readonly [number, number] };

/** A predictions file, read. */
export interface Predictions<Row = PredictionRow> {
  /** Where it was read from. */
  readonly path: string;
  /** Its header. */
  readonly header: PredictionsHeader;
  /** Its rows, in file order. */
  readonly rows: readonly Row[];
}

/** A predictions file that cannot be read, or does not fit its result. */
export class PredictionsError extends ClipbenchError {
  /** Creates an error about the file at `path`. */
  constructor(readonly path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.name = "PredictionsError";
  }
}

/**
 * The shortest decimal number that reads back as the float32 `value` (at most 9 significant
 * digits): how rows write float32 logits, compactly and exactly.
 */
export function shortestFloat32(value: number): number {
  const single = Math.fround(value);
  if (!Number.isFinite(single) || single === 0) return single;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return Number(single.toPrecision(9));
}

/** The predictions file of the result (or partial result) file at `path`. */
export function predictionsPathFor(path: string): string {
  return (path.endsWith(".json") ? path.slice(0, -".json".length) : path) + PREDICTIONS_SUFFIX;
}

/** The header of a file of `task` predictions for `dataset` and `model`. */
export function predictionsHeader(
  base: { dataset: string; model: string; task: TaskName; shard?: string },
  task: TaskPredictionsHeader,
): PredictionsHeader {
  return {
    format: PREDICTIONS_FORMAT,
    version: PREDICTIONS_VERSION,
    dataset: base.dataset,
    model: base.model,
    task: base.task,
    kind: task.kind,
    ...(task.classnames !== undefined && { classnames: task.classnames }),
    ...(task.recall_k !== undefined && { recall_k: task.recall_k }),
    ...(base.shard !== undefined && { shard: base.shard }),
  };
}

type Check = (condition: boolean, message: string) => asserts condition;

function isIndexList(value: unknown, below: number, maxLength: number): value is number[] {
  return Array.isArray(value) && value.length <= maxLength &&
    value.every((v) => Number.isSafeInteger(v) && v >= 0 && v < below);
}

const isNumberList = (value: unknown, length: number): value is number[] =>
  Array.isArray(value) && value.length === length &&
  value.every((v) => typeof v === "number" && Number.isFinite(v));

const isRank = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;

/** Checks one row of a file of `header`'s kind (and, in a shard's file, its position). */
function checkRow(header: PredictionsHeader, value: unknown, check: Check): void {
  check(typeof value === "object" && value !== null && !Array.isArray(value), "not an object");
  const row = value as Record<string, unknown>;
  check(typeof row.key === "string", "key must be a string");
  if (header.shard !== undefined) {
    const position = row.position;
    check(
      Array.isArray(position) && position.length === 2 && position.every(isRank),
      "position must be [tar shard, index]",
    );
    if (header.kind === "retrieval") {
      check(isRank(row.captions), "captions must be a count");
      return;
    }
  }
  const classes = header.classnames?.length ?? 0;
  switch (header.kind) {
    case "classification": {
      const top = row.top;
      check(Number.isSafeInteger(row.label) && (row.label as number) >= 0, "label must be a class");
      check((row.label as number) < classes, `label ${row.label} is not one of ${classes} classes`);
      check(
        isIndexList(top, classes, TOP_CLASSES) && top.length === Math.min(TOP_CLASSES, classes),
        `top must list ${Math.min(TOP_CLASSES, classes)} class indices`,
      );
      check(new Set(top).size === top.length, "top lists a class twice");
      check(isNumberList(row.scores, top.length), "scores must hold one number per top class");
      return;
    }
    case "multilabel":
      check(isIndexList(row.labels, classes, classes), "labels must be class indices");
      check(isNumberList(row.scores, classes), `scores must hold ${classes} numbers`);
      return;
    case "retrieval": {
      check(isRank(row.text_rank), "text_rank must be a non-negative integer");
      const ranks = row.image_ranks;
      check(Array.isArray(ranks) && ranks.every(isRank), "image_ranks must be ranks");
      return;
    }
  }
}

function checkHeader(value: unknown, check: Check): PredictionsHeader {
  check(typeof value === "object" && value !== null && !Array.isArray(value), "no header object");
  const header = value as Record<string, unknown>;
  check(header.format === PREDICTIONS_FORMAT, `format must be "${PREDICTIONS_FORMAT}"`);
  check(
    header.version === PREDICTIONS_VERSION,
    `version ${JSON.stringify(header.version)} is not ${PREDICTIONS_VERSION}`,
  );
  for (const field of ["dataset", "model"]) {
    check(typeof header[field] === "string", `${field} must be a string`);
  }
  check(
    header.task === "zeroshot_classification" || header.task === "zeroshot_retrieval",
    `unknown task ${JSON.stringify(header.task)}`,
  );
  const kind = header.kind;
  check(
    kind === "classification" || kind === "multilabel" || kind === "retrieval",
    `unknown kind ${JSON.stringify(kind)}`,
  );
  check(
    (kind === "retrieval") === (header.task === "zeroshot_retrieval"),
    `kind ${kind} does not belong to ${header.task}`,
  );
  if (kind !== "retrieval") {
    const names = header.classnames;
    check(
      Array.isArray(names) && names.length > 0 && names.every((n) => typeof n === "string"),
      "classnames must be a non-empty list of strings",
    );
  }
  check(
    header.shard === undefined || typeof header.shard === "string",
    "shard must be a string",
  );
  return header as unknown as PredictionsHeader;
}

/**
 * Parses the text of a predictions file (a shard's when its header names a shard).
 *
 * @throws {PredictionsError} naming the file and line of anything malformed.
 */
export function parsePredictions(
  path: string,
  text: string,
): Predictions<PredictionRow | ShardPredictionRow> {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let lineNumber = 0;
  const check: Check = (condition, message) => {
    if (!condition) throw new PredictionsError(path, `line ${lineNumber}: ${message}`);
  };
  const parse = (line: string) => {
    try {
      return JSON.parse(line);
    } catch (error) {
      throw new PredictionsError(
        path,
        `line ${lineNumber}: not JSON (${(error as Error).message})`,
      );
    }
  };
  lineNumber = 1;
  check(lines.length > 0, "empty file");
  const header = checkHeader(parse(lines[0]), check);
  const rows: (PredictionRow | ShardPredictionRow)[] = [];
  for (let i = 1; i < lines.length; i++) {
    lineNumber = i + 1;
    const row = parse(lines[i]);
    checkRow(header, row, check);
    rows.push(row);
  }
  return { path, header, rows };
}

/**
 * Reads a predictions file.
 *
 * @throws {PredictionsError} when it cannot be read or is malformed.
 */
export async function readPredictions(
  path: string,
): Promise<Predictions<PredictionRow | ShardPredictionRow>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new PredictionsError(path, `cannot read: ${(error as Error).message}`, { cause: error });
  }
  return parsePredictions(path, text);
}

/**
 * Reads the final (not a shard's) predictions file at `path`.
 *
 * @throws {PredictionsError} when it cannot be read, is malformed or is a shard's.
 */
export async function readFinalPredictions(path: string): Promise<Predictions> {
  const predictions = await readPredictions(path);
  if (predictions.header.shard !== undefined) {
    throw new PredictionsError(
      path,
      `holds shard ${predictions.header.shard}'s predictions; merge the shards first`,
    );
  }
  return predictions as Predictions;
}
