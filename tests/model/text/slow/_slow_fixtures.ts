/**
 * Helpers for the slow-tokenizer tests: temporary checkpoint folders holding tokenizer files.
 *
 * @module
 */

/** Creates a temporary folder holding `files` (name → text or bytes); returns its path. */
export async function folderWith(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-slow-tok-" });
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "string") await Deno.writeTextFile(`${dir}/${name}`, content);
    else await Deno.writeFile(`${dir}/${name}`, content);
  }
  return dir;
}

/** Runs `fn` with a temporary folder of `files`, removing it afterwards. */
export async function withFolder<T>(
  files: Record<string, string | Uint8Array>,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await folderWith(files);
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** URL of the committed test data folder for tokenizers. */
export const TOKENIZER_DATA = new URL("../../../data/tokenizers/", import.meta.url);
