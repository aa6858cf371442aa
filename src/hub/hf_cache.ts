/**
 * The huggingface_hub cache layout, so that clipbench and the Python tools share one cache:
 *
 * ```
 * <cache>/models--<org>--<name>/          (datasets--<org>--<name>/ for datasets)
 *   blobs/<etag>                          file contents, named by ETag: the SHA-256 of an LFS file,
 *                                         the Git blob id of a file kept in Git
 *   snapshots/<commit>/<path>             relative symlink to ../../blobs/<etag> (a copy where
 *                                         symbolic links cannot be made)
 *   refs/<revision>                       the commit a branch or tag pointed to
 *   .no_exist/<commit>/<path>             empty: the file does not exist at that commit
 * ```
 *
 * clipbench's own working files (partial downloads, locks) go under `<cache>/.clipbench/`, apart
 * from the Python tools' `.incomplete` files and `.locks` (theirs use `flock`, clipbench's are
 * `O_EXCL` lock files; see src/hub/file_lock.ts).
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import type { RepoKind } from "./hub_settings.ts";
import { repoPathSegments } from "./repo_path.ts";
import { writeFileAtomically } from "../io/atomic_write.ts";

/** Whether a revision is a full commit hash. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** `models--org--name` or `datasets--org--name`: a repository's folder in the cache. */
function huggingFaceRepoFolder(kind: RepoKind, id: string): string {
  return [`${kind}s`, ...id.split("/")].join("--");
}

/** One repository's part of a Hugging Face cache. */
export class HuggingFaceCache {
  /** The cache root (`HF_HUB_CACHE`). */
  readonly root: string;
  /** `<root>/models--org--name`. */
  readonly repoDir: string;
  readonly #folder: string;

  /**
   * The cache of one repository.
   *
   * @param root The cache root.
   * @param kind Model or dataset.
   * @param id `org/name`.
   */
  constructor(root: string, kind: RepoKind, id: string) {
    this.root = root;
    this.#folder = huggingFaceRepoFolder(kind, id);
    this.repoDir = join(root, this.#folder);
  }

  /** `snapshots/<commit>`: the repository's files at a commit. */
  snapshotDir(commit: string): string {
    return join(this.repoDir, "snapshots", commit);
  }

  /** `snapshots/<commit>/<path>`. */
  pointerPath(commit: string, path: string): string {
    return join(this.snapshotDir(commit), ...repoPathSegments(path));
  }

  /** `blobs/<etag>`. */
  blobPath(etag: string): string {
    return join(this.repoDir, "blobs", etag);
  }

  /** Where a download of the blob is kept until it is verified. */
  partialPath(etag: string): string {
    return join(this.root, ".clipbench", "incomplete", this.#folder, etag);
  }

  /** The lock file guarding the download of a blob. */
  lockPath(etag: string): string {
    return join(this.root, ".clipbench", "locks", this.#folder, `${etag}.lock`);
  }

  /** The commit a revision points to in the cache (itself for a commit hash). */
  async readRef(revision: string): Promise<string | undefined> {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = (await Deno.readTextFile(this.#refPath(revision))).trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records that `revision` points to `commit` (nothing for a commit hash or an unchanged ref). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    if ((await this.readRef(revision)) === commit) return;
    await writeFileAtomically(this.#refPath(revision), commit);
  }

  #refPath(revision: string): string {
    return join(this.repoDir, "refs", ...repoPathSegments(revision));
  }

  /** The cached file at `snapshots/<commit>/<path>`, if it is there (and resolves). */
  async cachedFile(commit: string, path: string): Promise<string | undefined> {
    const pointer = this.pointerPath(commit, path);
    try {
      return (await Deno.stat(pointer)).isFile ? pointer : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether the blob is in the cache. */
  async hasBlob(etag: string): Promise<boolean> {
    try {
      return (await Deno.stat(this.blobPath(etag))).isFile;
    } catch {
      return false;
    }
  }

  /**
   * Makes `snapshots/<commit>/<path>` point to the blob: a relative symbolic link, or a copy
   * where links cannot be made (Windows without developer mode).
   */
  async linkPointer(commit: string, path: string, etag: string): Promise<string> {
    const pointer = this.pointerPath(commit, path);
    const blob = this.blobPath(etag);
    await Deno.mkdir(dirname(pointer), { recursive: true });
    const target = relative(dirname(pointer), blob);
    const temporary = `${pointer}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.symlink(target, temporary);
    } catch {
      await Deno.copyFile(blob, temporary);
    }
    await Deno.rename(temporary, pointer);
    return pointer;
  }

  /** Records that `path` does not exist at `commit` (`.no_exist/<commit>/<path>`). */
  async markMissing(commit: string, path: string): Promise<void> {
    const marker = join(this.repoDir, ".no_exist", commit, ...repoPathSegments(path));
    await Deno.mkdir(dirname(marker), { recursive: true });
    await Deno.writeFile(marker, new Uint8Array());
  }

  /** Whether the cache records that `path` does not exist at `commit`. */
  async isKnownMissing(commit: string, path: string): Promise<boolean> {
    try {
      await Deno.stat(join(this.repoDir, ".no_exist", commit, ...repoPathSegments(path)));
      return true;
    } catch {
      return false;
    }
  }

  /** Paths of the files cached in `snapshots/<commit>` under `folder` ("" for all), sorted. */
  async listCached(commit: string, folder = ""): Promise<string[]> {
    const base = this.snapshotDir(commit);
    const found: string[] = [];
    const walk = async (relativeDir: string) => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(join(base, ...relativeDir.split("/"))));
      } catch {
        return;
      }
      for (const entry of entries) {
        const path = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
        if (entry.isDirectory) await walk(path);
        else if (entry.name.endsWith(".tmp") === false) found.push(path);
      }
    };
    await walk(folder);
    return found.sort();
  }
}
