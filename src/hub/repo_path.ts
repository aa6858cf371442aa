/**
 * Repository paths become local paths in a cache, so each one is checked first: `/`-separated,
 * relative, without empty, `.` or `..` segments, backslashes or NUL characters. A hub listing a
 * path like `../../.bashrc` cannot make clipbench write outside its cache.
 *
 * @module
 */

import { ClipbenchError } from "../errors.ts";

/** Whether `path` is a safe repository path (see the module documentation). */
export function isSafeRepoPath(path: string): boolean {
  if (path === "" || path.startsWith("/") || /[\\\0]/.test(path)) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/**
 * `path`'s segments, for joining onto a cache folder.
 *
 * @throws {ClipbenchError} for an unsafe path, naming it.
 */
export function repoPathSegments(path: string): string[] {
  if (!isSafeRepoPath(path)) {
    throw new ClipbenchError(
      `refusing the repository path ${JSON.stringify(path)}: not a plain relative path`,
    );
  }
  return path.split("/");
}
