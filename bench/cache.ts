/**
 * The benchmark's cache of generated models and datasets: one folder per generator and
 * parameters, so a rerun with the same parameters finds its inputs at once.
 *
 * `<root>/<kind>/<label>-<hash>/` holds what the generator wrote plus `bench-cache.json` (the
 * parameters, written last). The hash is the first 16 hex digits of the SHA-256 of the
 * parameters as canonical JSON. A generator writes into a temporary sibling folder
 * (`<label>-<hash>.partial-<pid>`) that is renamed into place when it has finished, so an
 * interrupted run never leaves a folder that looks complete (only a `.partial-` folder, which
 * can be deleted).
 *
 * @module
 */

import { join } from "node:path";

/** Parameters of a cached item: JSON values, keys in any order. */
export type CacheParameters = Readonly<Record<string, unknown>>;

/** The file that marks a complete entry, holding its parameters. */
const MARKER = "bench-cache.json";

/** JSON with object keys sorted, so equal parameters hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The cache folder name of `parameters` under `label`. */
export async function cacheKey(label: string, parameters: CacheParameters): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(canonicalJson(parameters)),
  );
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${label}-${hex.slice(0, 16)}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Where an entry is, and whether it had to be built. */
export interface CachedFolder {
  /** The entry's folder. */
  readonly dir: string;
  /** Whether this call built it (false: it was in the cache). */
  readonly built: boolean;
  /** Seconds spent building (0 when cached). */
  readonly seconds: number;
}

/**
 * The folder of `kind`/`label` with `parameters`, built by `build(dir)` when it is not cached.
 *
 * @param root The cache root, e.g. `.cache/bench`.
 * @param build Writes the entry into the (empty) folder it is given.
 */
export async function cachedFolder(
  root: string,
  kind: string,
  label: string,
  parameters: CacheParameters,
  build: (dir: string) => Promise<void>,
): Promise<CachedFolder> {
  const dir = join(root, kind, await cacheKey(label, parameters));
  if (await exists(join(dir, MARKER))) return { dir, built: false, seconds: 0 };
  const partial = `${dir}.partial-${Deno.pid}`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  await Deno.mkdir(partial, { recursive: true });
  const started = performance.now();
  try {
    await build(partial);
    await Deno.writeTextFile(join(partial, MARKER), JSON.stringify(parameters, null, 2) + "\n");
    // A folder without the marker (an older interrupted layout) is replaced.
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(partial, dir);
  } catch (error) {
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    throw error;
  }
  return { dir, built: true, seconds: (performance.now() - started) / 1000 };
}
