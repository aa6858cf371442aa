/**
 * `--skip-existing`: whether an existing result file may stand for the run about to be made. It
 * may when its `clipbench` block (src/results/provenance.ts) records the same `settings` and
 * `task_settings` — everything that changes numbers: the model fingerprint (file hashes, dtype,
 * effective preprocessing and text cleaning, execution provider), preprocess mode, crop rounding,
 * text cleaning, split, limit, and the task's own settings (the SHA-256 of the class names and
 * templates; recall@k). A file without the block (evalscope's, or an older clipbench's) cannot
 * say how it was made, so it is made again; so is a file that cannot be read.
 *
 * @module
 */

import { firstDifference } from "./partial/fingerprint.ts";
import type { NumberSettings } from "./provenance.ts";
import type { TaskResult } from "./result.ts";

/** The settings a run will be made with, as its block will record them. */
export interface ExpectedSettings {
  /** Run settings. */
  readonly settings: NumberSettings;
  /** The task's settings. */
  readonly task_settings: Readonly<Record<string, unknown>>;
}

/** Reuse the file's result, or make it again and say why. */
export type ReuseDecision =
  | { readonly reuse: true; readonly result: TaskResult }
  | { readonly reuse: false; readonly reason: string };

/**
 * Decides whether the result file at `path` (which exists) was made with `expected`.
 *
 * @example A file without a clipbench block is made again
 * ```ts
 * import assert from "node:assert/strict";
 * import { decideReuse } from "./existing_result.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify({ dataset: "d", model: "m", metrics: {} }));
 * const expected = {
 *   settings: {
 *     model_sha256: "0",
 *     dtype: "fp32",
 *     preprocess: "hf",
 *     crop_rounding: "floor",
 *     text_cleaning: "none",
 *     split: "test",
 *     limit: null,
 *   },
 *   task_settings: { recall_k: [1, 5, 10] },
 * };
 * const decision = await decideReuse(path, expected);
 * assert.equal(decision.reuse, false);
 * await Deno.remove(path);
 * ```
 */
export async function decideReuse(
  path: string,
  expected: ExpectedSettings,
): Promise<ReuseDecision> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    return { reuse: false, reason: `it cannot be read (${(error as Error).message})` };
  }
  const result = parsed as Partial<TaskResult> | null;
  const block = result?.clipbench as Record<string, unknown> | undefined;
  if (
    block === null || typeof block !== "object" || block.settings === undefined ||
    block.task_settings === undefined
  ) {
    return {
      reuse: false,
      reason: "it has no clipbench block (written by evalscope or an older clipbench), " +
        "so the settings it was made with are unknown",
    };
  }
  const found = firstDifference(
    { settings: block.settings, task_settings: block.task_settings },
    expected,
  );
  if (found) {
    return {
      reuse: false,
      reason: `it was made with other settings (${found.path}: ${found.left} there, ` +
        `${found.right} now)`,
    };
  }
  return { reuse: true, result: parsed as TaskResult };
}
