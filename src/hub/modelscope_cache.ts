/**
 * The ModelScope SDK's cache layout, so that clipbench and the SDK share one cache:
 *
 * ```
 * <MODELSCOPE_CACHE>/models/<org>/<name>/<path>       a model's files, in place
 * <MODELSCOPE_CACHE>/datasets/<org>/<name>/<path>     a dataset's files
 * <repo folder>/.msc                                   the SDK's index of cached files (a pickle,
 *                                                      see src/hub/pickle_index.ts)
 * <repo folder>/.mdl                                   the SDK's record of the repository id
 *                                                      (written by the SDK itself)
 * ```
 *
 * where `<name>` has each `.` written `___`, as the SDK writes it
 * (`chinese-clip-vit-large-patch14-336px`, `Qwen2___5-7B`). One copy per path: a file is
 * current when its size and SHA-256 match the hub's listing.
 *
 * clipbench adds the files it downloads to `.msc` so the SDK reuses them. Its own working files
 * (partial downloads, locks, records of files the hub does not have) go under
 * `<root>/.clipbench/`, apart from the SDK's `._____temp`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { acquireFileLock } from "./file_lock.ts";
import { repoPathSegments } from "./repo_path.ts";
import { type CacheIndexEntry, readCacheIndex, writeCacheIndex } from "./pickle_index.ts";
import { writeFileAtomically } from "../io/atomic_write.ts";

/** The SDK's index file name. */
const INDEX_FILE = ".msc";

/** The SDK's repository-id file name. */
const MODEL_META_FILE = ".mdl";

/** One repository's part of a ModelScope cache. */
export class ModelScopeCache {
  /** The cache root for this kind of repository (`<MODELSCOPE_CACHE>/models`, …). */
  readonly root: string;
  /** `<root>/<org>/<name>`, `.` in the name written `___`. */
  readonly repoDir: string;
  readonly #owner: string;
  readonly #name: string;

  /**
   * The cache of one repository.
   *
   * @param root The cache root for this kind of repository.
   * @param id `org/name`.
   */
  constructor(root: string, id: string) {
    const [owner, name] = id.split("/");
    this.root = root;
    this.#owner = owner;
    this.#name = name.replaceAll(".", "___");
    this.repoDir = join(root, owner, this.#name);
  }

  /** Where a repository file is kept. */
  filePath(path: string): string {
    return join(this.repoDir, ...repoPathSegments(path));
  }

  /** Where a download is kept until it is verified (`hash` tells versions apart). */
  partialPath(path: string, hash: string | undefined): string {
    return join(this.#work("incomplete"), ...repoPathSegments(path)) +
      `.${hash?.slice(0, 16) ?? "any"}`;
  }

  /** The lock file guarding the download of a file. */
  lockPath(path: string): string {
    return join(this.#work("locks"), ...repoPathSegments(path)) + ".lock";
  }

  #work(kind: string): string {
    return join(this.root, ".clipbench", kind, this.#owner, this.#name);
  }

  /** The cached file, if it is there. */
  async cachedFile(path: string): Promise<string | undefined> {
    const file = this.filePath(path);
    try {
      return (await Deno.stat(file)).isFile ? file : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records that the hub has no `path` at `revision`. */
  async markMissing(revision: string, path: string): Promise<void> {
    const marker = this.#missingMarker(revision, path);
    await Deno.mkdir(dirname(marker), { recursive: true });
    await Deno.writeFile(marker, new Uint8Array());
  }

  /** Whether the cache records that the hub has no `path` at `revision`. */
  async isKnownMissing(revision: string, path: string): Promise<boolean> {
    try {
      await Deno.stat(this.#missingMarker(revision, path));
      return true;
    } catch {
      return false;
    }
  }

  #missingMarker(revision: string, path: string): string {
    return join(this.#work("no_exist"), encodeURIComponent(revision), ...repoPathSegments(path));
  }

  /**
   * Moves a verified download into place and adds it to the SDK's index (replacing the entry of
   * an older version of the same path). An index clipbench cannot read is left as it is.
   */
  async store(path: string, verified: string, commit: string): Promise<string> {
    const file = this.filePath(path);
    await Deno.mkdir(dirname(file), { recursive: true });
    await Deno.rename(verified, file);
    await this.#record({ Path: path, Revision: commit });
    return file;
  }

  async #record(entry: CacheIndexEntry): Promise<void> {
    const lock = await acquireFileLock(join(this.#work("locks"), `${INDEX_FILE}.lock`));
    try {
      const indexPath = join(this.repoDir, INDEX_FILE);
      let entries: CacheIndexEntry[] = [];
      try {
        entries = readCacheIndex(await Deno.readFile(indexPath));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) return; // not ours to rewrite
      }
      entries = entries.filter((existing) => existing.Path !== entry.Path);
      entries.push(entry);
      await writeFileAtomically(indexPath, writeCacheIndex(entries));
    } finally {
      await lock.release();
    }
  }

  /** Paths of the files cached under `folder` ("" for all), sorted; the SDK's files excluded. */
  async listCached(folder = ""): Promise<string[]> {
    const found: string[] = [];
    const walk = async (relativeDir: string) => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(
          Deno.readDir(join(this.repoDir, ...relativeDir.split("/"))),
        );
      } catch {
        return;
      }
      for (const entry of entries) {
        if (relativeDir === "" && (entry.name === INDEX_FILE || entry.name === MODEL_META_FILE)) {
          continue;
        }
        const path = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
        if (entry.isDirectory) await walk(path);
        else found.push(path);
      }
    };
    await walk(folder);
    return found.sort();
  }
}
