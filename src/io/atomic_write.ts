/**
 * Writing a file so that a reader never sees half of it: the data goes to a temporary file beside
 * the target, which is then renamed over it (atomic on one file system).
 *
 * @module
 */

import { dirname } from "node:path";

/**
 * Writes `data` to `path` atomically, creating its folder: a temporary file beside it, then a
 * rename. The temporary file is removed when writing or renaming fails.
 *
 * @throws the file system's error when the folder or file cannot be written.
 */
export async function writeFileAtomically(path: string, data: Uint8Array | string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(temporary, data);
    else await Deno.writeFile(temporary, data);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}
