import assert from "node:assert/strict";
import { ModelError } from "../../../../src/errors.ts";
import { tokenizerJsonFromSlowFiles } from "../../../../src/model/text/slow/mod.ts";
import { parseWordPieceVocab } from "../../../../src/model/text/slow/wordpiece.ts";
import { TextTokenizer } from "../../../../src/model/tokenizer.ts";
import { withFolder } from "./_slow_fixtures.ts";

const VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "a",
  "photo",
  "of",
  "cafe",
  "café",
  "ca",
  "##fe",
  "猫",
  "##猫",
  ".",
  "Photo",
].join("\n") + "\n";

async function build(config: Record<string, unknown> | undefined) {
  const files: Record<string, string> = { "vocab.txt": VOCAB };
  if (config) files["tokenizer_config.json"] = JSON.stringify(config);
  return await withFolder(files, async (dir) => (await tokenizerJsonFromSlowFiles(dir))!);
}

function ids(json: Record<string, unknown>, text: string): number[] {
  const tok = TextTokenizer.fromFiles(json, {}, { contextLength: 16, padding: "longest" });
  return Array.from(tok.encodeBatch([text]).ids);
}

Deno.test("wordpiece: vocab.txt ids are line numbers; \\r\\n and \\r end lines; repeats keep the last id", () => {
  const vocab = parseWordPieceVocab("a\r\nb\rc\na\n\u2028\n", "v.txt");
  assert.deepEqual([...vocab], [["a", 3], ["b", 1], ["c", 2], ["\u2028", 4]]);
  assert.throws(() => parseWordPieceVocab("", "/ckpt/vocab.txt"), /\/ckpt\/vocab\.txt is empty/);
});

Deno.test("wordpiece: defaults (no tokenizer_config.json) are BertTokenizer's", async () => {
  const json = await build(undefined);
  assert.deepEqual(json.normalizer, {
    type: "BertNormalizer",
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: null,
    lowercase: true,
  });
  assert.deepEqual(
    (json.added_tokens as { id: number; content: string }[]).map((t) => [t.id, t.content]),
    [[0, "[PAD]"], [1, "[UNK]"], [2, "[CLS]"], [3, "[SEP]"], [4, "[MASK]"]],
  );
  // [CLS] a photo of cafe . [SEP]; "Café" lowercased, accent stripped; 猫猫 split per ideograph.
  assert.deepEqual(ids(json, "A Photo of Café."), [2, 5, 6, 7, 8, 14, 3]);
  assert.deepEqual(ids(json, "猫猫"), [2, 12, 12, 3]);
});

Deno.test("wordpiece: do_lower_case, strip_accents and tokenize_chinese_chars are honoured", async () => {
  const cased = await build({ do_lower_case: false });
  assert.deepEqual(ids(cased, "Photo café"), [2, 15, 9, 3]);
  const stripped = await build({ do_lower_case: false, strip_accents: true });
  assert.deepEqual(ids(stripped, "café"), [2, 8, 3]);
  const keepAccents = await build({ do_lower_case: true, strip_accents: false });
  assert.deepEqual(ids(keepAccents, "CAFÉ"), [2, 9, 3]);
  const noChinese = await build({ tokenize_chinese_chars: false });
  assert.deepEqual(ids(noChinese, "猫猫"), [2, 12, 13, 3]);
  const noBasic = await build({ do_basic_tokenize: false });
  assert.deepEqual(noBasic.normalizer, {
    type: "BertNormalizer",
    clean_text: true,
    handle_chinese_chars: false,
    strip_accents: false,
    lowercase: false,
  });
});

Deno.test("wordpiece: unsupported or mistyped options name the file and option", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ never_split: ["[X]"] }, /tokenizer_config\.json: never_split \["\[X\]"\] is not supported/],
    [{ do_lower_case: "yes" }, /tokenizer_config\.json: do_lower_case must be true or false/],
    [{ strip_accents: 1 }, /tokenizer_config\.json: strip_accents must be true, false or null/],
    [{ tokenizer_class: "XLMRobertaTokenizer" }, /tokenizer_class "XLMRobertaTokenizer"/],
    [{ cls_token: "<s>" }, /vocab\.txt has no cls_token "<s>"/],
  ];
  for (const [config, message] of cases) {
    await assert.rejects(
      build(config),
      (e: unknown) => e instanceof ModelError && message.test(e.message),
      JSON.stringify(config),
    );
  }
});
