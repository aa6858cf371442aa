/**
 * Which results of a dataset were made with different settings, from their `clipbench` blocks: a
 * `--limit` run beside full runs, another split, dtype, preprocessing, prompts or task options.
 *
 * The block is flattened to dotted paths (`task_options.recall_k`), and paths that naturally
 * differ from run to run or model to model are left out ({@linkcode RUN_SPECIFIC_SETTING}: the
 * version, the model and its fingerprint, times and throughput, the runtime, shard layout, sample
 * counts, per-class recall). Within the results of one dataset and task that have a block, a
 * setting whose values are not all equal marks every result whose value is not the most common
 * one — or every result, when no value is more common than the others. Results without a block
 * are neither compared nor marked.
 *
 * @module
 */

import type { ReportedResult } from "./result_files.ts";

/** A path segment that names a setting that differs between runs without changing numbers. */
export const RUN_SPECIFIC_SETTING =
  /^(clipbench_version|version|model|model_.*|.*_model|.*fingerprint.*|runtime|host.*|start.*|end.*|.*_time|times?|timing|duration.*|.*_per_second|images_per_s|throughput|threads|cores|execution_provider|deno|onnxruntime|shard.*|.*_shards?|samples.*|.*_samples|n_.*|scored|skipped.*|per_class_recall)$/i;

/** One setting in which a result differs from the others of its dataset. */
export interface SettingDifference {
  /** The setting's dotted path in the `clipbench` block. */
  readonly setting: string;
  /** This result's value (JSON; `absent` when the block lacks it). */
  readonly value: string;
  /** The other values among the dataset's results. */
  readonly others: readonly string[];
}

/** The number-changing settings of a `clipbench` block: dotted path → JSON value. */
export function settingsOf(block: Readonly<Record<string, unknown>>): Map<string, string> {
  const settings = new Map<string, string>();
  const visit = (value: unknown, path: string[]) => {
    if (path.length > 0 && RUN_SPECIFIC_SETTING.test(path[path.length - 1])) return;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) visit(inner, [...path, key]);
      return;
    }
    settings.set(path.join("."), JSON.stringify(value));
  };
  visit(block, []);
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
