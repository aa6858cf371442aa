/**
 * The kit's tokenizer sample rows (expected/tokenizer_samples/*.jsonl: a text and the Python
 * reference's ids) and the checks the tokenizer conformance tests make with them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { KIT_DIR } from "../_kit.ts";
import type { TextTokenizer } from "../../src/model/tokenizer.ts";

/** One sample row. */
export interface SampleRow {
  /** The text. */
  text: string;
  /** The reference's ids (padded to the context). */
  ids: number[];
  /** Whether the text was truncated to the context. */
  truncated?: boolean;
}

/** The rows of `expected/tokenizer_samples/<file>`. */
export async function readSampleRows(file: string): Promise<SampleRow[]> {
  const text = await Deno.readTextFile(`${KIT_DIR}/expected/tokenizer_samples/${file}`);
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/**
 * Rows where clipbench's CLIP ids differ from open_clip's, each for a documented reason (README,
 * "Tokenizer"): open_clip's ftfy.fix_text removes control characters; open_clip does not treat a
 * literal "<|startoftext|>" in the text as the special token, a tokenizer.json pipeline does.
 */
export const CLIP_KNOWN_DIFFERENCES: ReadonlyMap<string, string> = new Map([
  ["\u0000\u0001 control chars", "ftfy.fix_text removes control characters"],
  ["<|startoftext|>", "a literal special-token string is matched as the special token"],
]);

/**
 * Asserts `tok` gives every row's ids, except the rows in `knownDifferences`, which must still
 * differ (if one stops differing, the README is out of date). Returns the differing rows' texts.
 */
export function assertSampleIds(
  tok: TextTokenizer,
  rows: readonly SampleRow[],
  knownDifferences: ReadonlyMap<string, string> = new Map(),
): string[] {
  const mismatched: string[] = [];
  for (const row of rows) {
    const ids = Array.from(tok.encodeBatch([row.text]).ids);
    if (JSON.stringify(ids) === JSON.stringify(row.ids)) continue;
    mismatched.push(row.text);
    if (!knownDifferences.has(row.text)) {
      assert.deepEqual(ids, row.ids, `ids of ${JSON.stringify(row.text)}`);
    }
  }
  assert.deepEqual(mismatched.toSorted(), [...knownDifferences.keys()].toSorted());
  return mismatched;
}
