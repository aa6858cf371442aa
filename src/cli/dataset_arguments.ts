/**
 * `--dataset` values as CLIP_benchmark takes them: a name, or an existing `.txt` file listing
 * dataset names one per line (blank lines and `#` comments ignored), such as CLIP_benchmark's
 * `benchmark/webdatasets.txt`.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** Whether `value` names an existing file ending in `.txt` (a list of dataset names). */
async function isListFile(value: string): Promise<boolean> {
  if (!value.toLowerCase().endsWith(".txt")) return false;
  try {
    return (await Deno.stat(value)).isFile;
  } catch {
    return false;
  }
}

/**
 * The dataset names of a list file's text: one per line, trimmed; blank lines and everything from
 * a `#` on are ignored.
 */
export function parseDatasetListText(text: string): string[] {
  return text.split(/\r\n|\r|\n/)
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "");
}

/**
 * Expands `--dataset` values: each existing `.txt` file is replaced by the names it lists, in
 * order; any other value is kept as a name.
 *
 * @throws {UsageError} naming the file when it cannot be read or lists no name.
 */
export async function expandDatasetArguments(values: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const value of values) {
    if (!(await isListFile(value))) {
      names.push(value);
      continue;
    }
    let text: string;
    try {
      text = await Deno.readTextFile(value);
    } catch (error) {
      throw new UsageError(
        `--dataset ${value}: cannot read the list of datasets: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const listed = parseDatasetListText(text);
    if (listed.length === 0) {
      throw new UsageError(`--dataset ${value}: the file lists no dataset name (one per line)`);
    }
    names.push(...listed);
  }
  return names;
}
