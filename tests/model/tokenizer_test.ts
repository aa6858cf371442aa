import assert from "node:assert/strict";
import { loadTokenizerFiles, TextTokenizer } from "../../src/model/tokenizer.ts";
import { parseNpy } from "../../src/io/npy.ts";
import { ModelError } from "../../src/errors.ts";
import { unigramTokenizer, wordPieceTokenizer } from "../_onnx_fixtures.ts";

const DEMO = new URL("../../examples/demo/tiny-clip-demo/", import.meta.url).pathname.replace(
  /\/$/,
  "",
);
const { tokenizerJson, tokenizerConfig } = await loadTokenizerFiles(DEMO);
const SOT = 872;
const EOT = 873;

Deno.test("tokenizer: context and pad id come from tokenizer_config.json", () => {
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
  assert.equal(tok.contextLength, 77);
  assert.equal(tok.padId, EOT); // pad_token is <|endoftext|>
});

Deno.test("tokenizer: the demo's Python reference ids (pad value aside)", async () => {
  // reference/input_ids.npy: the prompts tokenised by the Python tokenizer used for training, 0-padded.
  const prompts = (await Deno.readTextFile(`${DEMO}/reference/prompts.txt`)).split("\n")
    .filter((line) => line !== "");
  const reference = parseNpy(await Deno.readFile(`${DEMO}/reference/input_ids.npy`));
  assert.deepEqual(reference.shape, [prompts.length, 77]);
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, { padId: 0 });
  const batch = tok.encodeBatch(prompts);
  assert.deepEqual(Array.from(batch.ids), Array.from(reference.data as BigInt64Array, Number));
});

Deno.test("tokenizer: padding and attention mask", () => {
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
  const batch = tok.encodeBatch(["a photo of a dress.", ""]);
  const row0 = Array.from(batch.ids.subarray(0, 77));
  assert.deepEqual(row0.slice(0, 8), [SOT, 320, 516, 512, 320, 590, 269, EOT]);
  assert.ok(row0.slice(8).every((id) => id === EOT));
  assert.deepEqual(Array.from(batch.attentionMask.subarray(0, 10)), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(batch.ids.subarray(77, 80)), [SOT, EOT, EOT]);
  assert.equal(batch.attentionMask.subarray(77).reduce((a, b) => a + b, 0), 2);
});

Deno.test("tokenizer: long texts keep the first content tokens and end with <|endoftext|>", () => {
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, { padId: 0 });
  // "a" is one token (320); 80 of them overflow the 75 content slots.
  const long = tok.encodeUnpadded(Array(80).fill("a").join(" "));
  assert.equal(long.length, 77);
  assert.equal(long[0], SOT);
  assert.equal(long[76], EOT);
  assert.ok(long.slice(1, 76).every((id) => id === 320));
  // Exactly 75 content tokens fit without truncation.
  const exact = tok.encodeUnpadded(Array(75).fill("a").join(" "));
  assert.equal(exact.length, 77);
  assert.equal(exact[76], EOT);
  const short = tok.encodeUnpadded(Array(74).fill("a").join(" "));
  assert.equal(short.length, 76);
});

Deno.test("tokenizer: explicit context length, and the fallback when model_max_length is unset", () => {
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, { contextLength: 5 });
  assert.deepEqual(tok.encodeUnpadded("a photo of a dress."), [SOT, 320, 516, 512, EOT]);
  const unbounded = { ...tokenizerConfig, model_max_length: 1e30, pad_token: undefined };
  const fallback = TextTokenizer.fromFiles(tokenizerJson, unbounded, { fallbackContextLength: 16 });
  assert.equal(fallback.contextLength, 16);
  assert.equal(fallback.padId, 0);
  assert.throws(
    () => TextTokenizer.fromFiles(tokenizerJson, unbounded),
    (e: unknown) => e instanceof ModelError && /model_max_length/.test(e.message),
  );
});

Deno.test("tokenizer: a pad token missing from the vocabulary is an error", () => {
  assert.throws(
    () => TextTokenizer.fromFiles(tokenizerJson, { ...tokenizerConfig, pad_token: "<pad>" }),
    (e: unknown) => e instanceof ModelError && /<pad>/.test(e.message),
  );
});

Deno.test("tokenizer: a missing tokenizer.json names the file", async () => {
  await assert.rejects(
    loadTokenizerFiles("/nonexistent-model-dir"),
    (e: unknown) =>
      e instanceof ModelError && /nonexistent-model-dir\/tokenizer\.json/.test(e.message),
  );
});

Deno.test("tokenizer: padding 'longest' pads each batch to its longest row", () => {
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, { padding: "longest" });
  assert.equal(tok.contextLength, 77); // still the truncation length
  const batch = tok.encodeBatch(["a photo of a dress.", ""]);
  assert.equal(batch.contextLength, 8);
  assert.deepEqual([...batch.ids], [
    SOT,
    320,
    516,
    512,
    320,
    590,
    269,
    EOT,
    SOT,
    EOT,
    ...Array(6).fill(EOT),
  ]);
  assert.deepEqual([...batch.attentionMask.subarray(8)], [1, 1, 0, 0, 0, 0, 0, 0]);
  const long = tok.encodeBatch([Array(80).fill("a").join(" ")]);
  assert.equal(long.contextLength, 77);
  assert.equal(long.ids[76], EOT);
  const fixed = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
  assert.equal(fixed.padding, "max_length");
  assert.equal(fixed.encodeBatch(["a"]).contextLength, 77);
  assert.throws(
    () =>
      TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, {
        padding: "longest_first" as "longest",
      }),
    RangeError,
  );
});

Deno.test("tokenizer: without pad_token the pad id is tokenizer.json's padding.pad_id, else 0", () => {
  const noPadToken = { ...tokenizerConfig, pad_token: undefined };
  const withPipelinePad = { ...tokenizerJson, padding: { strategy: "BatchLongest", pad_id: 5 } };
  assert.equal(TextTokenizer.fromFiles(withPipelinePad, noPadToken).padId, 5);
  assert.equal(TextTokenizer.fromFiles(tokenizerJson, noPadToken).padId, 0);
  // pad_token wins over the pipeline's pad id.
  assert.equal(TextTokenizer.fromFiles(withPipelinePad, tokenizerConfig).padId, EOT);
});

Deno.test("tokenizer: SentencePiece Unigram (SigLIP): `… </s>`, truncation keeps </s>, pads with </s>", () => {
  const { tokenizerJson, tokenizerConfig } = unigramTokenizer();
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
  assert.equal(tok.contextLength, 64);
  assert.equal(tok.padId, 1);
  assert.deepEqual(tok.encodeUnpadded("A photo of a CAT"), [3, 4, 5, 3, 6, 1]);
  const long = tok.encodeUnpadded(Array(70).fill("a").join(" "));
  assert.equal(long.length, 64);
  assert.ok(long.slice(0, 63).every((id) => id === 3));
  assert.equal(long[63], 1);
  const batch = tok.encodeBatch(["dogs"]);
  assert.deepEqual([...batch.ids.subarray(0, 5)], [7, 9, 1, 1, 1]);
  assert.equal(batch.attentionMask.reduce((a, b) => a + b, 0), 3);
});

Deno.test("tokenizer: BERT WordPiece (Chinese-CLIP): [CLS] … [SEP], CJK split per character", () => {
  const { tokenizerJson, tokenizerConfig } = wordPieceTokenizer(52);
  const tok = TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig);
  assert.equal(tok.contextLength, 52);
  assert.equal(tok.padId, 0);
  assert.deepEqual(tok.encodeUnpadded("一张狗的照片"), [2, 5, 6, 8, 9, 10, 11, 3]);
  assert.deepEqual(tok.encodeUnpadded("Dogs, 猫"), [2, 16, 17, 1, 7, 3]); // "," is [UNK]
  const long = tok.encodeUnpadded("猫".repeat(60));
  assert.equal(long.length, 52);
  assert.equal(long[51], 3);
});
