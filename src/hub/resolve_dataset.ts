/**
 * From a dataset name to what `openWebDataset` reads: a {@linkcode DatasetLocation} over the
 * dataset's hub repository, in one of three modes.
 *
 * - **stream** (the default without a cache folder): files are read from the hub as they are
 *   needed, shard by shard, nothing is written; a file already in the hub's cache for the same
 *   version (e.g. fetched by the Python tools) is read from there instead.
 * - **cache** (the default with `cacheDir`, evalscope's `cache_dir`): each file is downloaded
 *   into the cache when it is first needed (verified, then renamed; see src/hub/download.ts)
 *   and read from there; the next run reads the cache. A `limit` that stops after the first
 *   shard downloads only that shard.
 * - **offline** (`offline`, or `HF_HUB_OFFLINE=1`): only the cache is read. Missing shards are
 *   listed up front. A top-level metadata file (`dataset_type.txt`, `classnames.txt`, the
 *   templates) that is not cached counts as absent from the hub once the split's `nshards.txt`
 *   is cached, since clipbench fetches those files first and a full snapshot holds them all.
 *
 * Only the requested split is touched. A split the repository lacks (ModelScope's mirrors hold
 * only `test`: evalscope issue #741) is an error naming it and the splits the hub has.
 *
 * Names are the 43 of the registry (src/dataset/registry.ts); an explicit repository id (`org/name`)
 * is taken as it is.
 *
 * @module
 */

import { join } from "node:path";
import { type DatasetLocation, openFile } from "../io/byte_source.ts";
import type { OpenedFile } from "../io/opened_file.ts";
import { DatasetError, UsageError } from "../errors.ts";
import type { DownloadProgress } from "./download_progress.ts";
import {
  type HubRepository,
  isRepoId,
  openHubRepository,
  type RepositoryOptions,
} from "./hub_repository.ts";
import { DEFAULT_HUB, type HubName, type HubOptions } from "./hub_settings.ts";
import {
  findRegisteredDataset,
  REGISTERED_DATASETS,
  type RegisteredTask,
} from "../dataset/registry.ts";

/** How a hub dataset is read. */
export type DatasetReadMode = "stream" | "cache" | "offline";

/** Options of {@linkcode resolveDataset}. */
export interface ResolveDatasetOptions extends RepositoryOptions {
  /** The split (default `test`). */
  readonly split?: string;
  /**
   * `stream` or `cache`; default `cache` when `cacheDir` is given, else `stream`. Offline mode
   * overrides both.
   */
  readonly mode?: "stream" | "cache";
  /** Download progress (cache mode). */
  readonly progress?: DownloadProgress;
}

/** A hub dataset ready for `openWebDataset(location, { split })`. */
export interface ResolvedDataset {
  /** The name asked for. */
  readonly name: string;
  /** The registry's task, where the name is registered. */
  readonly task?: RegisteredTask;
  /** The repository. */
  readonly repository: HubRepository;
  /** The split. */
  readonly split: string;
  /** How files are read. */
  readonly mode: DatasetReadMode;
  /** What `openWebDataset` reads. */
  readonly location: DatasetLocation;
}

/** Files at the top of a dataset that clipbench reads before any shard. */
const METADATA_FILES = new Set([
  "dataset_type.txt",
  "classnames.txt",
  "zeroshot_classification_templates.txt",
]);

/** The repository id of a dataset name on a hub. */
export function datasetRepositoryId(name: string, hub: HubName = DEFAULT_HUB): string {
  if (isRepoId(name)) return name;
  const registered = findRegisteredDataset(name);
  if (registered === undefined) {
    throw new UsageError(
      `unknown dataset '${name}': not one of the ${REGISTERED_DATASETS.length} registered ` +
        `datasets (\`cli.ts datasets\` lists them); give a hub repository id (org/name) or ` +
        `--dataset-root for other data`,
    );
  }
  if (hub === "huggingface") {
    if (registered.huggingface === undefined) {
      throw new UsageError(
        `dataset '${name}' has no known Hugging Face repository; it is on ModelScope as ` +
          `${registered.modelscope} (--hub modelscope)`,
      );
    }
    return registered.huggingface;
  }
  return registered.modelscope;
}

/**
 * Resolves a dataset on its hub (see the module documentation).
 *
 * @throws {UsageError} for an unknown name or bad settings.
 * @throws {DatasetError} for a repository the hub does not have or refuses, a missing split
 *   (naming those that exist), or, offline, a split that is not (fully) cached.
 */
export async function resolveDataset(
  name: string,
  options: ResolveDatasetOptions = {},
): Promise<ResolvedDataset> {
  const split = options.split ?? "test";
  if (split === "" || split.includes("/") || split.startsWith(".")) {
    throw new UsageError(`split must be a folder name, got '${split}'`);
  }
  const repository = openHubRepository(
    "dataset",
    datasetRepositoryId(name, options.hub ?? DEFAULT_HUB),
    options,
  );
  const nshardsPath = `${split}/nshards.txt`;
  const found = await repository.pin(nshardsPath);
  const mode: DatasetReadMode = repository.settings.offline
    ? "offline"
    : options.mode ?? (options.cacheDir === undefined ? "stream" : "cache");
  if (!found) throw await missingSplit(repository, split);
  if (mode === "offline") await checkShardsCached(repository, split);
  const location = mode === "stream"
    ? streamingLocation(repository, options.signal)
    : cachedLocation(repository, mode, options);
  return { name, task: findRegisteredDataset(name)?.task, repository, split, mode, location };
}

/** The error for a split the repository (or, offline, the cache) lacks. */
async function missingSplit(repository: HubRepository, split: string): Promise<DatasetError> {
  if (repository.settings.offline) {
    const cached = await cachedSplits(repository);
    return new DatasetError(
      `${repository.label}: split '${split}' is not cached for offline use (no ${split}/` +
        `nshards.txt under ${repository.localDir()}); cached splits: ${
          cached.length === 0 ? "none" : cached.join(", ")
        }. Run once online (with a cache folder to keep a copy).`,
      { path: repository.localDir() },
    );
  }
  const splits = (await repository.list("", false))
    .filter((entry) => entry.type === "directory")
    .map((entry) => entry.path)
    .sort();
  return new DatasetError(
    `${repository.label} has no split '${split}' (no ${split}/nshards.txt); splits on ${
      repository.settings.hub === "huggingface" ? "Hugging Face" : "ModelScope"
    }: ${splits.length === 0 ? "none" : splits.join(", ")}`,
    { path: repository.fileUrl(`${split}/nshards.txt`) },
  );
}

/** The splits with a cached `nshards.txt`. */
async function cachedSplits(repository: HubRepository): Promise<string[]> {
  return (await repository.listCached(""))
    .filter((path) => /^[^/]+\/nshards\.txt$/.test(path))
    .map((path) => path.split("/")[0]);
}

/** Offline: every shard of the split must be cached; lists the missing ones. */
async function checkShardsCached(repository: HubRepository, split: string): Promise<void> {
  const nshardsFile = await repository.cached(`${split}/nshards.txt`);
  if (typeof nshardsFile !== "string" || nshardsFile === "missing") return;
  const count = Number((await Deno.readTextFile(nshardsFile)).trim());
  if (!Number.isSafeInteger(count) || count < 1) return; // openWebDataset reports it
  const cached = new Set(await repository.listCached(split));
  const missing: string[] = [];
  for (let index = 0; index < count; index++) {
    const shard = `${split}/${index}.tar`;
    if (!cached.has(shard)) missing.push(shard);
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 10).join(", ");
    throw new DatasetError(
      `${repository.label}: ${missing.length} of ${count} shards of split '${split}' are not ` +
        `cached for offline use (under ${repository.localDir()}): ${shown}${
          missing.length > 10 ? ", …" : ""
        }`,
      { path: repository.localDir() },
    );
  }
}

/** Reads from the hub, or from a current cached copy where there is one. */
function streamingLocation(
  repository: HubRepository,
  signal: AbortSignal | undefined,
): DatasetLocation {
  return {
    root: repository.displayRoot(),
    locate: (path) => repository.fileUrl(path),
    async open(path, options = {}): Promise<OpenedFile> {
      const cached = await repository.cached(path);
      if (typeof cached === "string" && cached !== "missing") {
        return await openFile(cached, { signal: options.signal ?? signal, offset: options.offset });
      }
      return await repository.openRemote(path, {
        signal: options.signal ?? signal,
        offset: options.offset,
      });
    },
  };
}

/** Reads the cache, downloading into it first (cache mode) or not at all (offline). */
function cachedLocation(
  repository: HubRepository,
  mode: "cache" | "offline",
  options: ResolveDatasetOptions,
): DatasetLocation {
  const localPath = (path: string) => join(repository.localDir(), ...path.split("/"));
  return {
    root: repository.localDir(),
    locate: localPath,
    async open(path, openOptions = {}): Promise<OpenedFile> {
      const signal = openOptions.signal ?? options.signal;
      let local: string | "missing" | undefined;
      if (mode === "cache") {
        local = await repository.fetch(path, { signal, progress: options.progress });
      } else {
        local = await repository.cached(path);
        if (local === undefined && METADATA_FILES.has(path)) local = "missing";
      }
      if (local === "missing") {
        return { kind: "missing", reason: `${repository.label} has no ${path}` };
      }
      if (local === undefined) {
        throw new DatasetError(
          `${repository.label}: ${path} is not cached for offline use (${localPath(path)})`,
          { path: localPath(path) },
        );
      }
      return await openFile(local, { signal, offset: openOptions.offset });
    },
  };
}

/** Where a dataset stands in a cache. */
export interface DatasetCacheStatus {
  /** `complete` (every shard of the split), `partial`, or `absent`. */
  readonly state: "complete" | "partial" | "absent";
  /** The repository's cache folder. */
  readonly dir: string;
  /** Shards of the split in the cache. */
  readonly cachedShards: number;
  /** Shards of the split, when its `nshards.txt` is cached. */
  readonly nshards?: number;
}

/**
 * How much of a dataset's split the cache holds, without touching the network (for
 * `cli.ts datasets`).
 *
 * @throws {UsageError} for an unknown name, or a name without a repository on the hub.
 */
export async function datasetCacheStatus(
  name: string,
  options: HubOptions & { split?: string } = {},
): Promise<DatasetCacheStatus> {
  const split = options.split ?? "test";
  const repository = openHubRepository(
    "dataset",
    datasetRepositoryId(name, options.hub ?? DEFAULT_HUB),
    { ...options, offline: true },
  );
  await repository.pin(`${split}/nshards.txt`);
  const dir = repository.localDir();
  const cached = await repository.listCached(split);
  const cachedShards = cached.filter((path) => /^[^/]+\/[0-9]+\.tar$/.test(path)).length;
  const nshardsFile = await repository.cached(`${split}/nshards.txt`);
  let nshards: number | undefined;
  if (typeof nshardsFile === "string" && nshardsFile !== "missing") {
    const count = Number((await Deno.readTextFile(nshardsFile)).trim());
    if (Number.isSafeInteger(count) && count > 0) nshards = count;
  }
  const state = nshards !== undefined && cachedShards >= nshards
    ? "complete"
    : cachedShards > 0 || nshards !== undefined
    ? "partial"
    : "absent";
  return { state, dir, cachedShards, nshards };
}
