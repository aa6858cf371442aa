/**
 * The result of one model × dataset evaluation, and the file evalscope writes for it:
 * `<output_dir>/<model>/<dataset>_<task>.json` holding `{dataset, model, task, metrics}`.
 * clipbench adds `n_samples` (scored), `n_skipped` and the skipped samples' keys and reasons, and
 * one `clipbench` block saying how the result was made (src/results/provenance.ts).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { ClipbenchError } from "../errors.ts";
import type { ClipbenchBlock, TaskProvenance } from "./provenance.ts";
import { prepareOutputFolder } from "../io/output_folder.ts";
import { fillOutputTemplate } from "../run/output_template.ts";

/** A sample that could not be scored, and why. */
export interface SkippedSample {
  /** WebDataset key. */
  readonly key: string;
  /** Shard path or URL the sample came from. */
  readonly source: string;
  /** What was wrong (undecodable image, missing label, …). */
  readonly reason: string;
}

/** Task names, as evalscope spells them in file names. */
export type TaskName = "zeroshot_classification" | "zeroshot_retrieval";

/** One evaluation's outcome. */
export interface TaskResult {
  /** Dataset name. */
  readonly dataset: string;
  /** Model name (the model folder's base name). */
  readonly model: string;
  /** Task. */
  readonly task: TaskName;
  /** Metric name → value (`null` where undefined, e.g. acc5 with fewer than 5 classes). */
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Samples scored. */
  readonly n_samples: number;
  /** Samples skipped. */
  readonly n_skipped: number;
  /** The skipped samples (at most {@linkcode MAX_LISTED_SKIPS} are listed). */
  readonly skipped: readonly SkippedSample[];
  /**
   * How the result was made (src/results/provenance.ts): the whole block in a written result; a
   * task's own part ({@linkcode TaskProvenance}) in what a task returns before the runner or the
   * merge completes it.
   */
  readonly clipbench?: ClipbenchBlock | TaskProvenance;
}

/** Skipped samples listed individually in a result; the count covers all of them. */
export const MAX_LISTED_SKIPS = 1000;

/**
 * Path of the result file for a model, dataset and task under `outputDir`; with `template`
 * (`eval --output`), the template filled in instead (src/run/output_template.ts).
 */
export function resultPath(
  outputDir: string,
  model: string,
  dataset: string,
  task: TaskName,
  template?: string,
): string {
  if (template !== undefined) return fillOutputTemplate(template, { model, dataset, task });
  return join(outputDir, model, `${dataset}_${task}.json`);
}

/**
 * Writes a result file (creating its folder: the model's, and for a dataset given by hub id,
 * `org/name`, the `org` folder within it). The file is written to a temporary name and renamed, so
 * an interrupted run never leaves a half-written result that `--skip-existing` would take for a
 * finished one.
 *
 * @returns the path written.
 * @throws {ClipbenchError} naming the path when the folder cannot be created or the file written.
 */
export async function writeResult(
  outputDir: string,
  result: TaskResult,
  template?: string,
): Promise<string> {
  const path = resultPath(outputDir, result.model, result.dataset, result.task, template);
  const temporary = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(temporary, JSON.stringify(result, null, 2) + "\n");
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new ClipbenchError(`cannot write the result ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return path;
}

/**
 * Prepares, before any evaluation, every folder the results of `models` × `datasets` go to under
 * `outputDir` (see {@linkcode prepareOutputFolder}): `<outputDir>/<model>`, and
 * `<outputDir>/<model>/<org>` for a dataset given by hub id `org/name`.
 *
 * @param models The names results are filed under (model folder base names, or a hub id's name).
 * @throws {UsageError} naming `--output-dir` and the folder that cannot be created or written.
 */
export async function prepareResultFolders(
  outputDir: string,
  models: readonly string[],
  datasets: readonly string[],
): Promise<void> {
  const what = `--output-dir ${outputDir}`;
  await prepareOutputFolder(outputDir, what);
  const folders = new Set<string>();
  for (const model of models) {
    for (const dataset of datasets) {
      folders.add(dirname(resultPath(outputDir, model, dataset, "zeroshot_classification")));
    }
  }
  for (const folder of folders) await prepareOutputFolder(folder, what);
}
