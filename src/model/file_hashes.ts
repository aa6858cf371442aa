/**
 * Content hashes of a model's files, for the keys that must change when a model's bits do (the
 * classifier cache, a partial's fingerprint): SHA-256 of each file, remembered by absolute path,
 * size and modification time in `<cacheDir>/file_hashes.json`, so a 250 MB graph is not re-read on
 * every run.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { hashFile } from "../hub/file_hash.ts";
import { writeFileAtomically } from "../io/atomic_write.ts";
import { pathExists } from "../io/path_exists.ts";

/** One remembered file hash. */
interface FileHashRecord {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

/**
 * SHA-256 of each file's content, remembered in `<cacheDir>/file_hashes.json` by absolute path,
 * size and modification time (a file whose size or time changed is hashed again).
 */
export async function fileContentHashes(
  paths: readonly string[],
  cacheDir: string,
): Promise<string[]> {
  const recordsPath = join(cacheDir, "file_hashes.json");
  let records: Record<string, FileHashRecord> = {};
  try {
    const parsed = JSON.parse(await Deno.readTextFile(recordsPath));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) records = parsed;
  } catch {
    // Missing or unreadable: start afresh.
  }
  let changed = false;
  const hashes: string[] = [];
  const absolute = paths.map((path) => resolve(path));
  for (const path of absolute) {
    const info = await Deno.stat(path);
    const mtimeMs = info.mtime?.getTime() ?? 0;
    const known = records[path];
    if (
      known && known.size === info.size && known.mtimeMs === mtimeMs &&
      typeof known.sha256 === "string"
    ) {
      hashes.push(known.sha256);
      continue;
    }
    const sha256 = await hashFile(path, "sha256");
    records[path] = { size: info.size, mtimeMs, sha256 };
    changed = true;
    hashes.push(sha256);
  }
  if (changed) {
    // Records of files that are gone (temporary models) are dropped as the file is rewritten.
    for (const path of Object.keys(records)) {
      if (!absolute.includes(path) && !(await pathExists(path))) delete records[path];
    }
    try {
      await writeFileAtomically(recordsPath, JSON.stringify(records));
    } catch {
      // Not remembered: the next run hashes the files again.
    }
  }
  return hashes;
}

/** A graph file and the external-data files beside it (names starting with its file name). */
export async function graphFiles(graphPath: string): Promise<string[]> {
  const folder = dirname(graphPath);
  const name = basename(graphPath);
  const files = [graphPath];
  const extra: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile && entry.name !== name && entry.name.startsWith(name)) {
      extra.push(join(folder, entry.name));
    }
  }
  return [...files, ...extra.sort()];
}
