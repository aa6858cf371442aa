/**
 * The table `cli.ts datasets` prints: every dataset clipbench knows by name, its task, its
 * repositories on both hubs and how much of it the chosen hub's cache holds.
 *
 * @module
 */

import type { HubName } from "../hub/hub_settings.ts";
import { REGISTERED_DATASETS } from "./registry.ts";
import { datasetCacheStatus } from "../hub/resolve_dataset.ts";

/** Options of {@linkcode listDatasets}. */
export interface ListDatasetsOptions {
  /** Hub whose cache is inspected (default `modelscope`). */
  readonly hub?: HubName;
  /** Dataset cache folder, as `eval --cache-dir` takes it (default: the hub's cache). */
  readonly cacheDir?: string;
  /** Split whose shards are counted (default `test`). */
  readonly split?: string;
}

/** Describes a cache state: `complete (5/5 shards)`, `partial (2/5)`, `-`. */
async function cacheCell(name: string, options: ListDatasetsOptions): Promise<string> {
  try {
    const status = await datasetCacheStatus(name, options);
    if (status.state === "absent") return "-";
    const total = status.nshards === undefined ? "?" : String(status.nshards);
    return `${status.state} (${status.cachedShards}/${total} shards)`;
  } catch {
    // No repository on this hub (e.g. muge on Hugging Face).
    return "n/a";
  }
}

/** The registry as an aligned text table, one dataset per row. */
export async function listDatasets(options: ListDatasetsOptions = {}): Promise<string> {
  const header = [
    "name",
    "task",
    "modelscope",
    "huggingface",
    `cached (${options.hub ?? "modelscope"})`,
  ];
  const rows: string[][] = [];
  for (const dataset of REGISTERED_DATASETS) {
    rows.push([
      dataset.name,
      dataset.task,
      dataset.modelscope,
      dataset.huggingface ?? "-",
      await cacheCell(dataset.name, options),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
