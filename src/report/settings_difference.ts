/**
 * Which results of a dataset were made with different settings, from their `clipbench` blocks
 * (src/results/provenance.ts): a `--limit` run beside full runs, another split, dtype,
 * preprocessing, text cleaning, prompts or task options.
 *
 * Only the block's number-changing parts are compared: its `settings` (all but `model_sha256`,
 * which differs from model to model by design) and its `task_settings` (the prompts' SHA-256s,
 * the recall@k list). Everything else in the block — the version, the model, times, the runtime,
 * the shard layout, sample counts — differs between runs without changing what the numbers mean.
 * Within the results of one dataset and task that have a block, a setting whose values are not
 * all equal marks every result whose value is not the most common one — or every result, when no
 * value is more common than the others. Results without a block are neither compared nor marked.
 *
 * @module
 */

import type { ReportedResult } from "./result_files.ts";

/** One setting in which a result differs from the others of its dataset. */
export interface SettingDifference {
  /** The setting's name (`limit`, `recall_k`; nested task settings as dotted paths). */
  readonly setting: string;
  /** This result's value (JSON; `absent` when the block lacks it). */
  readonly value: string;
  /** The other values among the dataset's results. */
  readonly others: readonly string[];
}

/** The `settings` entry that identifies the model rather than a setting. */
const MODEL_IDENTITY = "model_sha256";

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The number-changing settings of a `clipbench` block (see the module documentation): setting
 * name → JSON value. Nested task settings are flattened to dotted paths.
 */
export function settingsOf(block: Readonly<Record<string, unknown>>): Map<string, string> {
  const settings = new Map<string, string>();
  const visit = (value: unknown, path: readonly string[]) => {
    if (isObject(value)) {
      for (const [key, inner] of Object.entries(value)) visit(inner, [...path, key]);
      return;
    }
    settings.set(path.join("."), JSON.stringify(value));
  };
  if (isObject(block.settings)) {
    for (const [key, value] of Object.entries(block.settings)) {
      if (key !== MODEL_IDENTITY) visit(value, [key]);
    }
  }
  if (isObject(block.task_settings)) visit(block.task_settings, []);
  return settings;
}

const ABSENT = "absent";

/**
 * The settings in which each result differs from the others of its dataset and task (only
 * results with a `clipbench` block; results that do not differ are not in the map).
 */
export function findSettingDifferences(
  results: readonly ReportedResult[],
): Map<ReportedResult, SettingDifference[]> {
  const groups = new Map<string, ReportedResult[]>();
  for (const result of results) {
    if (result.clipbench === undefined) continue;
    const key = JSON.stringify([result.dataset, result.task]);
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  const differences = new Map<ReportedResult, SettingDifference[]>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const settings = group.map((result) => settingsOf(result.clipbench!));
    const paths = [...new Set(settings.flatMap((s) => [...s.keys()]))].sort();
    for (const path of paths) {
      const values = settings.map((s) => s.get(path) ?? ABSENT);
      const counts = new Map<string, number>();
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
      if (counts.size < 2) continue;
      const most = Math.max(...counts.values());
      const common = [...counts].filter(([, count]) => count === most);
      const reference = common.length === 1 ? common[0][0] : undefined;
      group.forEach((result, i) => {
        if (values[i] === reference) return;
        const others = [...counts.keys()].filter((value) => value !== values[i]);
        differences.set(result, [
          ...(differences.get(result) ?? []),
          { setting: path, value: values[i], others },
        ]);
      });
    }
  }
  return differences;
}

/** `limit = 16 (others: null)`: a difference in words. */
export function describeDifference(difference: SettingDifference): string {
  return `${difference.setting} = ${difference.value} (others: ${difference.others.join(", ")})`;
}
