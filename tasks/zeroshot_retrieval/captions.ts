/**
 * A retrieval sample's captions: its `txt` field decoded as UTF-8 and split into lines as
 * webdataset and CLIP_benchmark do (`bytes.decode("utf-8")`, then `str.splitlines`). Lines are
 * not stripped and empty lines are kept as empty captions, as there.
 *
 * @module
 */

import type { Sample } from "../../src/dataset/webdataset.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Python's `str.splitlines()`: splits at `\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`–`\x1e`, `\x85`,
 * U+2028 and U+2029; a final line boundary adds no empty line; lines are not stripped.
 */
export function splitCaptions(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (
      code === 0x0a || code === 0x0d || code === 0x0b || code === 0x0c ||
      (code >= 0x1c && code <= 0x1e) || code === 0x85 || code === 0x2028 || code === 0x2029
    ) {
      lines.push(text.slice(start, index));
      index += code === 0x0d && text.charCodeAt(index + 1) === 0x0a ? 2 : 1;
      start = index;
    } else {
      index++;
    }
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/**
 * A sample's captions: its `txt` field as UTF-8 (strictly, a byte-order mark kept, as Python's
 * `bytes.decode("utf-8")`), split by {@linkcode splitCaptions}.
 *
 * @throws {Error} when there is no `txt` field, it is not UTF-8, or it holds no line.
 */
export function sampleCaptions(sample: Sample): string[] {
  const bytes = sample.fields.get("txt");
  if (bytes === undefined) {
    throw new Error(
      `no captions (no txt field; fields: ${[...sample.fields.keys()].join(", ") || "none"})`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Error("the txt field is not valid UTF-8");
  }
  const captions = splitCaptions(text);
  if (captions.length === 0) throw new Error("no captions (the txt field is empty)");
  return captions;
}
