/**
 * `cli.ts datasets --dataset-root ROOT`: the datasets found under a local folder or an http(s)
 * root, as `eval --dataset-root` would read them. ROOT is a template with `{dataset}` where the
 * name goes (`/data/wds/{dataset}`, `https://host/wds_{dataset}`); without `{dataset}` it is the
 * folder or URL holding one folder per dataset (`ROOT/{dataset}`).
 *
 * Candidate names: for a local root, the entries of the folder where `{dataset}` stands (with any
 * text around `{dataset}` in that part of the path matched); for an HTTP root, which cannot be
 * listed, the registered names (src/dataset/registry.ts). A candidate is a dataset when
 * `<split>/nshards.txt` exists there (a WebDataset) or `image_queries.jsonl` does (evalscope's
 * custom retrieval data, evaluated as `--dataset custom`).
 *
 * @module
 */

import { join } from "node:path";
import { DatasetError } from "../errors.ts";
import { isHttpUrl } from "../io/locations.ts";
import { locationAt } from "../io/byte_source.ts";
import { openWebDataset } from "./wds.ts";
import { findRegisteredDataset, REGISTERED_DATASETS } from "./registry.ts";
import { CUSTOM_QUERIES_FILE } from "./custom.ts";

/** A dataset found under a root. */
export interface FoundDataset {
  /** The name `eval --dataset` takes with this root. */
  readonly name: string;
  /** Where it is: the root with the name filled in. */
  readonly location: string;
  /**
   * Its task: `dataset_type.txt`'s, else the registry's for its name (else classification);
   * `custom retrieval` for an `image_queries.jsonl` folder.
   */
  readonly task: string;
  /** Tar shards of the split (undefined for custom data). */
  readonly nshards?: number;
  /** Why it cannot be opened, when it is there but broken. */
  readonly error?: string;
}

/** Options of {@linkcode findDatasetsUnderRoot}. */
export interface RootListingOptions {
  /** Split whose `nshards.txt` is looked for (default `test`). */
  readonly split?: string;
  /** Probes at once over HTTP (default 8). */
  readonly concurrency?: number;
}

/** The root as a template with `{dataset}`. */
export function rootTemplate(root: string): string {
  if (root.includes("{dataset}")) return root;
  if (isHttpUrl(root)) return `${root.replace(/\/+$/, "")}/{dataset}`;
  return join(root, "{dataset}");
}

/** Names of a local root's entries that fill the part of the template holding `{dataset}`. */
async function localCandidates(template: string): Promise<string[]> {
  const parts = template.split(/[\\/]/);
  const at = parts.findIndex((part) => part.includes("{dataset}"));
  const folder = parts.slice(0, at).join("/") || (template.startsWith("/") ? "/" : ".");
  const [before, after] = parts[at].split("{dataset}");
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      const { name } = entry;
      if (!entry.isDirectory && !entry.isSymlink) continue;
      if (!name.startsWith(before) || !name.endsWith(after)) continue;
      const middle = name.slice(before.length, name.length - after.length);
      if (middle !== "" && !middle.startsWith(".")) names.push(middle);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new DatasetError(`${folder}: cannot list: ${(error as Error).message}`, {
      path: folder,
      cause: error,
    });
  }
  return names.sort();
}

/** What is at one candidate: a dataset, or nothing. */
async function probe(
  name: string,
  template: string,
  split: string,
): Promise<FoundDataset | undefined> {
  const location = template.replaceAll("{dataset}", name);
  const nshardsFile = locationAt(location).locate(`${split}/nshards.txt`);
  try {
    const dataset = await openWebDataset(location, { split });
    const task = dataset.typeDeclared
      ? dataset.type
      : findRegisteredDataset(name)?.task ?? "classification";
    return { name, location, task, nshards: dataset.nshards };
  } catch (error) {
    if (!(error instanceof DatasetError)) throw error;
    const absent = error.path === nshardsFile && / not found /.test(error.message);
    if (!absent) return { name, location, task: "?", error: error.message };
  }
  const queries = await locationAt(location).open(CUSTOM_QUERIES_FILE).catch(() => undefined);
  if (queries !== undefined && queries.kind !== "missing") {
    await queries.stream.cancel().catch(() => {});
    return { name, location, task: "custom retrieval" };
  }
  return undefined;
}

/**
 * The datasets under `root` (see the module documentation), in name order.
 *
 * @throws {DatasetError} when a local root's folder cannot be listed.
 */
export async function findDatasetsUnderRoot(
  root: string,
  options: RootListingOptions = {},
): Promise<FoundDataset[]> {
  const template = rootTemplate(root);
  const split = options.split ?? "test";
  const candidates = isHttpUrl(template)
    ? REGISTERED_DATASETS.map((dataset) => dataset.name)
    : await localCandidates(template);
  const found: FoundDataset[] = [];
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const name = candidates[next++];
      const dataset = await probe(name, template, split);
      if (dataset !== undefined) found.push(dataset);
    }
  };
  const lanes = isHttpUrl(template) ? options.concurrency ?? 8 : 1;
  await Promise.all(Array.from({ length: Math.min(lanes, candidates.length) }, worker));
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The datasets under `root` as an aligned text table (or a line saying none was found). */
export async function listDatasetsUnderRoot(
  root: string,
  options: RootListingOptions = {},
): Promise<string> {
  const found = await findDatasetsUnderRoot(root, options);
  const split = options.split ?? "test";
  if (found.length === 0) {
    return `no dataset under ${rootTemplate(root)} (none has ${split}/nshards.txt or ` +
      `${CUSTOM_QUERIES_FILE})`;
  }
  const header = ["name", "task", `${split} shards`, "location"];
  const rows = found.map((d) => [
    d.name,
    d.task,
    d.error !== undefined ? "error" : d.nshards === undefined ? "-" : String(d.nshards),
    d.error !== undefined ? `${d.location} (${d.error})` : d.location,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
