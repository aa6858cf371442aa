/**
 * Token ids against the kit's Python reference rows: open_clip's SimpleTokenizer for the CLIP BPE
 * tokenizer and Chinese-CLIP's own tokenizer for the BERT one.
 */
import assert from "node:assert/strict";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { loadTokenizerFiles, TextTokenizer } from "../../src/model/tokenizer.ts";
import { assertSampleIds, CLIP_KNOWN_DIFFERENCES, readSampleRows } from "./_tokenizer_samples.ts";

kitTest("CLIP BPE ids equal open_clip's (0-padded) on the kit's sample rows", async () => {
  const { tokenizerJson, tokenizerConfig } = await loadTokenizerFiles(
    `${KIT_DIR}/models/tiny-clip-fashion`,
  );
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, {
    padId: 0,
    textCleaning: "open_clip",
  });
  assert.equal(tok.contextLength, 77);
  const rows = await readSampleRows("clip_bpe_sample.jsonl");
  const mismatched = assertSampleIds(tok, rows, CLIP_KNOWN_DIFFERENCES);
  assert.ok(rows.some((r) => r.truncated), "the sample has a truncated row");
  assert.ok(rows.some((r) => r.text.includes("&quot;")), "the sample has an HTML-escaped row");
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
  assertSampleIds(tok, await readSampleRows("cn_bert_sample.jsonl"));
});
