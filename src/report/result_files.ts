/**
 * Finding and reading result files for `report` and `compare`: every
 * `*_zeroshot_classification.json` and `*_zeroshot_retrieval.json` under the folders given
 * (recursively: a dataset given by hub id `org/name` sits in an `org/` folder), or the files given
 * by name. Partial results of sharded runs (`*.partial`) and temporary files are not results and
 * are never picked up from a folder.
 *
 * A file must hold evalscope's fields (`dataset`, `model`, `task`, `metrics`); clipbench's counts
 * (`n_samples`, `n_images`, `n_captions`) and its optional `clipbench` block are read where
 * present, so result files of evalscope itself are reported too (without intervals).
 *
 * @module
 */

import { join } from "node:path";
import { ClipbenchError, UsageError } from "../errors.ts";
import { pathExists } from "../io/path_exists.ts";
import { predictionsPathFor } from "../results/predictions/predictions_file.ts";
import type { TaskName } from "../results/result.ts";

/** The endings of result file names, one per task. */
export const RESULT_FILE_SUFFIXES: readonly string[] = [
  "_zeroshot_classification.json",
  "_zeroshot_retrieval.json",
];

/** A result as `report` and `compare` use it. */
export interface ReportedResult {
  /** The file it was read from. */
  readonly path: string;
  /** Dataset name. */
  readonly dataset: string;
  /** Model name. */
  readonly model: string;
  /** Task. */
  readonly task: TaskName;
  /** Metric name → value (`null` where undefined). */
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Samples scored (images for retrieval); absent in evalscope's own files. */
  readonly nSamples?: number;
  /** Images scored (retrieval). */
  readonly nImages?: number;
  /** Captions scored (retrieval). */
  readonly nCaptions?: number;
  /** The `clipbench` provenance block, where the file has one. */
  readonly clipbench?: Readonly<Record<string, unknown>>;
  /**
   * The per-sample predictions file beside it (`--save-predictions`,
   * src/results/predictions/predictions_file.ts), where there is one.
   */
  readonly predictionsPath?: string;
}

function isResultFileName(name: string): boolean {
  return RESULT_FILE_SUFFIXES.some((suffix) =>
    name.endsWith(suffix) && name.length > suffix.length
  );
}

async function collectFolder(folder: string, into: string[]): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(folder)) entries.push(entry);
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory) await collectFolder(path, into);
    else if (entry.isFile && isResultFileName(entry.name)) into.push(path);
  }
}

/**
 * The result files under each folder (recursively) and the files named, sorted, each once.
 *
 * @throws {UsageError} naming a path that does not exist.
 */
export async function findResultFiles(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      throw new UsageError(`${path}: no such file or folder`, { cause: error });
    }
    if (info.isDirectory) await collectFolder(path, found);
    else found.push(path);
  }
  return [...new Set(found)].sort();
}

function fail(path: string, message: string): never {
  throw new ClipbenchError(`${path} is not a result file: ${message}`);
}

function optionalCount(path: string, record: Record<string, unknown>, field: string) {
  const value = record[field];
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    fail(path, `${field} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/**
 * The JSON a result file holds, unchecked.
 *
 * @throws {ClipbenchError} naming the file when it cannot be read or is not JSON.
 */
export async function readResultJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new ClipbenchError(`cannot read the result ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Reads one result file.
 *
 * @throws {ClipbenchError} naming the file and the field when it is not a result.
 */
export async function readResultFile(path: string): Promise<ReportedResult> {
  const parsed = await readResultJson(path);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail(path, "it does not hold a JSON object");
  }
  const record = parsed as Record<string, unknown>;
  for (const field of ["dataset", "model"]) {
    if (typeof record[field] !== "string" || record[field] === "") {
      fail(path, `${field} must be a non-empty string`);
    }
  }
  const task = record.task;
  if (task !== "zeroshot_classification" && task !== "zeroshot_retrieval") {
    fail(path, `unknown task ${JSON.stringify(task)}`);
  }
  const metrics = record.metrics;
  if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
    fail(path, "metrics must be an object");
  }
  for (const [name, value] of Object.entries(metrics)) {
    if (value !== null && typeof value !== "number") {
      fail(path, `metric ${name} must be a number or null, got ${JSON.stringify(value)}`);
    }
  }
  const clipbench = record.clipbench;
  if (
    clipbench !== undefined &&
    (typeof clipbench !== "object" || clipbench === null || Array.isArray(clipbench))
  ) {
    fail(path, "clipbench must be an object");
  }
  return {
    path,
    dataset: record.dataset as string,
    model: record.model as string,
    task,
    metrics: metrics as Record<string, number | null>,
    nSamples: optionalCount(path, record, "n_samples"),
    nImages: optionalCount(path, record, "n_images"),
    nCaptions: optionalCount(path, record, "n_captions"),
    ...(clipbench !== undefined && { clipbench: clipbench as Record<string, unknown> }),
  };
}

/**
 * Reads every result under `paths` ({@linkcode findResultFiles}).
 *
 * @throws {UsageError} when nothing is found, or when two files hold the same model, dataset and
 *   task (naming both).
 * @throws {ClipbenchError} naming a file that is not a result.
 */
export async function loadResults(paths: readonly string[]): Promise<ReportedResult[]> {
  const files = await findResultFiles(paths);
  if (files.length === 0) {
    throw new UsageError(
      `no result files (*${RESULT_FILE_SUFFIXES.join(", *")}) in ${paths.join(", ")}`,
    );
  }
  const results: ReportedResult[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const result = await readResultFile(file);
    const key = JSON.stringify([result.model, result.dataset, result.task]);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new UsageError(
        `${earlier} and ${file} both hold ${result.model} on ${result.dataset} (${result.task}); ` +
          "report one of them",
      );
    }
    seen.set(key, file);
    const predictionsPath = predictionsPathFor(file);
    results.push(await pathExists(predictionsPath) ? { ...result, predictionsPath } : result);
  }
  return results;
}
