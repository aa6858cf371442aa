import assert from "node:assert/strict";
import type { Sample } from "../../../src/dataset/webdataset.ts";
import { sampleCaptions, splitCaptions } from "../../../tasks/zeroshot_retrieval/captions.ts";

function sample(fields: Record<string, Uint8Array>): Sample {
  return { key: "k", source: "s", fields: new Map(Object.entries(fields)) };
}

Deno.test("captions: the txt field as UTF-8, split as Python's str.splitlines()", () => {
  // Expected lists are Python 3's own ''.splitlines() results.
  const cases: [string, string[]][] = [
    ["a\nb", ["a", "b"]],
    ["a\r\nb\rc\n", ["a", "b", "c"]],
    ["a\n\nb", ["a", "", "b"]],
    [" a \n", [" a "]],
    ["\n", [""]],
    ["", []],
    ["a\u2028b", ["a", "b"]],
    ["a\x85b", ["a", "b"]],
    ["a\x0bb\x0cc\x1cd\x1de\x1ef", ["a", "b", "c", "d", "e", "f"]],
    ["\ufeffa\n", ["\ufeffa"]],
    ["a\r\n\r\n", ["a", ""]],
    ["\r\r\n", ["", ""]],
  ];
  for (const [text, lines] of cases) {
    assert.deepEqual(splitCaptions(text), lines, JSON.stringify(text));
  }
  const utf8 = (text: string) => new TextEncoder().encode(text);
  // A byte-order mark is kept, as bytes.decode("utf-8") keeps it.
  assert.deepEqual(sampleCaptions(sample({ txt: utf8("\ufeffx\ny") })), ["\ufeffx", "y"]);
  assert.throws(() => sampleCaptions(sample({ png: utf8("") })), /no captions \(no txt field/);
  assert.throws(() => sampleCaptions(sample({ txt: utf8("") })), /txt field is empty/);
  assert.throws(
    () => sampleCaptions(sample({ txt: Uint8Array.of(0x61, 0xff) })),
    /not valid UTF-8/,
  );
});
