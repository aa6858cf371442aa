/**
 * Whether a local path exists, for the checks that decide to skip or reuse work
 * (`--skip-existing`, the classifier cache).
 *
 * @module
 */

/** Whether `path` exists (any kind of file system entry). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
