/**
 * Token ids against the kit's Python reference rows: open_clip's SimpleTokenizer for the CLIP BPE
 * tokenizer and Chinese-CLIP's own tokenizer for the BERT one.
 */
import assert from "node:assert/strict";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { loadTokenizerFiles, TextTokenizer } from "../../src/model/tokenizer.ts";

interface Row {
  text: string;
  ids: number[];
  truncated: boolean;
  ftfy_changed?: boolean;
}

async function readRows(path: string): Promise<Row[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/**
 * Rows where clipbench's ids differ from open_clip's, each for a documented reason (README,
 * "Tokenizer"): open_clip's ftfy.fix_text removes control characters; open_clip does not treat a
 * literal "<|startoftext|>" in the text as the special token, a tokenizer.json pipeline does.
 */
const KNOWN_DIFFERENCES = new Map([
  ["\u0000\u0001 control chars", "ftfy.fix_text removes control characters"],
  ["<|startoftext|>", "a literal special-token string is matched as the special token"],
]);

kitTest("CLIP BPE ids equal open_clip's (0-padded) on the kit's sample rows", async () => {
  const { tokenizerJson, tokenizerConfig } = await loadTokenizerFiles(
    `${KIT_DIR}/models/tiny-clip-fashion`,
  );
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, {
    padId: 0,
    textCleaning: "open_clip",
  });
  assert.equal(tok.contextLength, 77);
  const rows = await readRows(`${KIT_DIR}/expected/tokenizer_samples/clip_bpe_sample.jsonl`);
  const mismatched: string[] = [];
  for (const row of rows) {
    const ids = Array.from(tok.encodeBatch([row.text]).ids);
    if (JSON.stringify(ids) === JSON.stringify(row.ids)) continue;
    mismatched.push(row.text);
    if (!KNOWN_DIFFERENCES.has(row.text)) {
      assert.deepEqual(ids, row.ids, `ids of ${JSON.stringify(row.text)}`);
    }
  }
  assert.ok(rows.some((r) => r.truncated), "the sample has a truncated row");
  assert.ok(rows.some((r) => r.text.includes("&quot;")), "the sample has an HTML-escaped row");
  // The known differences must still be differences: if one disappears, update the README.
  assert.deepEqual(mismatched.toSorted(), [...KNOWN_DIFFERENCES.keys()].toSorted());
  console.log(
    `clip_bpe_sample: ${
      rows.length - mismatched.length
    }/${rows.length} rows identical to open_clip; ` +
      `documented differences: ${mismatched.map((t) => JSON.stringify(t)).join(", ")}`,
  );
});

kitTest("Chinese-CLIP WordPiece ids equal Chinese-CLIP's on the kit's sample rows", async () => {
  const { tokenizerJson, tokenizerConfig } = await loadTokenizerFiles(
    `${KIT_DIR}/tokenizers/chinese-clip`,
  );
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
  assert.equal(tok.contextLength, 52);
  assert.equal(tok.padId, 0);
  const rows = await readRows(`${KIT_DIR}/expected/tokenizer_samples/cn_bert_sample.jsonl`);
  for (const row of rows) {
    assert.deepEqual(Array.from(tok.encodeBatch([row.text]).ids), row.ids, row.text);
  }
});
