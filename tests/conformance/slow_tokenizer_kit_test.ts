/**
 * tokenizer.json built from the kit checkpoints' slow tokenizer files (src/model/text/slow/)
 * against the fast tokenizers transformers made for the same vocabularies and the kit's Python
 * reference ids: CLIP from tiny-clip-fashion-hf's vocab.json + merges.txt, BERT WordPiece from
 * chinese-clip-tiny-random's vocab.txt.
 */
import assert from "node:assert/strict";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { tokenizerJsonFromSlowFiles } from "../../src/model/text/slow/mod.ts";
import { loadTokenizerFiles, TextTokenizer } from "../../src/model/tokenizer.ts";
import { assertSampleIds, CLIP_KNOWN_DIFFERENCES, readSampleRows } from "./_tokenizer_samples.ts";

/** Loads the tokenizer built from `checkpoint`'s slow files the way clipbench loads a model's. */
async function builtTokenizerFiles(checkpoint: string) {
  const built = await tokenizerJsonFromSlowFiles(checkpoint);
  assert.ok(built, `${checkpoint} has slow tokenizer files`);
  const dir = await Deno.makeTempDir({ prefix: "clipbench-slow-kit-" });
  try {
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(built));
    await Deno.copyFile(`${checkpoint}/tokenizer_config.json`, `${dir}/tokenizer_config.json`);
    return { built, ...await loadTokenizerFiles(dir) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts the fields of `tokenizer.json` that decide ids are equal. */
function assertSamePipeline(built: Record<string, unknown>, reference: Record<string, unknown>) {
  for (const key of ["added_tokens", "normalizer", "pre_tokenizer", "post_processor"]) {
    assert.deepEqual(built[key], reference[key], key);
  }
  const model = built.model as Record<string, unknown>;
  const refModel = reference.model as Record<string, unknown>;
  for (const key of new Set([...Object.keys(model), ...Object.keys(refModel)])) {
    if (key === "vocab") {
      // Same token → id pairs (key order of a JS object is not the file's for integer-like keys).
      const pairs = (vocab: unknown) =>
        Object.entries(vocab as Record<string, number>).sort(([a], [b]) => (a < b ? -1 : 1));
      assert.deepEqual(pairs(model.vocab), pairs(refModel.vocab), "model.vocab");
    } else assert.deepEqual(model[key], refModel[key], `model.${key}`);
  }
}

kitTest(
  "slow CLIP files (vocab.json + merges.txt) build the kit's CLIP tokenizer.json",
  async () => {
    const checkpoint = `${KIT_DIR}/checkpoints/tiny-clip-fashion-hf`;
    const { built, tokenizerJson, tokenizerConfig } = await builtTokenizerFiles(checkpoint);
    const reference = JSON.parse(
      await Deno.readTextFile(`${KIT_DIR}/models/tiny-clip-fashion/tokenizer.json`),
    );
    assertSamePipeline(built, reference);
    assert.deepEqual(built.decoder, reference.decoder);

    const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, {
      padId: 0,
      textCleaning: "open_clip",
    });
    assert.equal(tok.contextLength, 77);
    const rows = await readSampleRows("clip_bpe_sample.jsonl");
    const mismatched = assertSampleIds(tok, rows, CLIP_KNOWN_DIFFERENCES);
    // Hugging Face's own padding (tokenizer_config.json's pad_token) is <|endoftext|>.
    assert.equal(TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig).padId, 49407);
    console.log(
      `slow CLIP: ${rows.length - mismatched.length}/${rows.length} kit rows identical ` +
        `(documented open_clip differences: ${mismatched.length})`,
    );
  },
);

kitTest(
  "slow BERT files (vocab.txt + tokenizer_config.json) build the kit's Chinese-CLIP tokenizer.json",
  async () => {
    const checkpoint = `${KIT_DIR}/checkpoints/chinese-clip-tiny-random`;
    const { built, tokenizerJson, tokenizerConfig } = await builtTokenizerFiles(checkpoint);
    const reference = JSON.parse(
      await Deno.readTextFile(`${KIT_DIR}/tokenizers/chinese-clip/tokenizer.json`),
    );
    assertSamePipeline(built, reference);
    assert.deepEqual(built.decoder, reference.decoder);

    const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
    assert.equal(tok.contextLength, 52);
    assert.equal(tok.padId, 0);
    const rows = await readSampleRows("cn_bert_sample.jsonl");
    assertSampleIds(tok, rows);
    console.log(`slow BERT: ${rows.length}/${rows.length} kit rows identical`);
  },
);
