import assert from "node:assert/strict";
import { ModelError } from "../../../../src/errors.ts";
import { tokenizerJsonFromSlowFiles } from "../../../../src/model/text/slow/mod.ts";
import { TextTokenizer } from "../../../../src/model/tokenizer.ts";
import { TOKENIZER_DATA, withFolder } from "./_slow_fixtures.ts";

const MODEL = await Deno.readFile(new URL("spiece.model", TOKENIZER_DATA));
const VECTORS = JSON.parse(await Deno.readTextFile(new URL("siglip_vectors.json", TOKENIZER_DATA)));

async function build(files: Record<string, string | Uint8Array>) {
  return await withFolder(files, async (dir) => (await tokenizerJsonFromSlowFiles(dir))!);
}

Deno.test("siglip: built tokenizer.json gives SiglipTokenizer's ids on every vector", async () => {
  const json = await build({ "spiece.model": MODEL });
  const tok = TextTokenizer.fromFiles(json, {}, { contextLength: VECTORS.context_length });
  assert.equal(tok.padId, VECTORS.pad_id); // padding.pad_id of the built file: </s>
  assert.ok(VECTORS.cases.length >= 50);
  for (const { text, ids } of VECTORS.cases) {
    assert.deepEqual(Array.from(tok.encodeBatch([text]).ids), ids, JSON.stringify(text));
  }
  // The vectors cover the cases that matter: empty, truncated, unknown characters.
  const eos = VECTORS.eos_id;
  assert.ok(VECTORS.cases.some((c: { ids: number[] }) => c.ids[0] === eos), "an empty row");
  assert.ok(VECTORS.cases.some((c: { ids: number[] }) => c.ids[63] === eos), "a truncated row");
  assert.ok(VECTORS.cases.some((c: { ids: number[] }) => c.ids.includes(2)), "an <unk>");
});

Deno.test("siglip: do_lower_case false keeps case", async () => {
  const lower = await build({ "spiece.model": MODEL });
  const cased = await build({
    "spiece.model": MODEL,
    "tokenizer_config.json": JSON.stringify({ do_lower_case: false }),
  });
  const encode = (json: Record<string, unknown>) =>
    Array.from(TextTokenizer.fromFiles(json, {}, { contextLength: 64 }).encodeUnpadded("A Photo"));
  assert.notDeepEqual(encode(cased), encode(lower));
  assert.ok(
    !(cased.normalizer as { normalizers: { type: string }[] }).normalizers.some((n) =>
      n.type === "Lowercase"
    ),
  );
});

Deno.test("siglip: unsupported model settings and options name the file and option", async () => {
  // Appended ModelProto fields override earlier ones (protobuf merge): trainer_spec field 3
  // model_type = 2 (BPE); trainer_spec field 35 byte_fallback = 1; normalizer_spec field 1 name.
  const withBytes = (...extra: number[]) => new Uint8Array([...MODEL, ...extra]);
  const name = new TextEncoder().encode("nfkc_cf");
  const cases: [Record<string, string | Uint8Array>, RegExp][] = [
    [
      { "spiece.model": withBytes(0x12, 0x02, 0x18, 0x02) },
      /spiece\.model: trainer_spec\.model_type = "Bpe" is not supported/,
    ],
    [
      { "spiece.model": withBytes(0x12, 0x03, 0x98, 0x02, 0x01) },
      /spiece\.model: trainer_spec\.byte_fallback = true/,
    ],
    [
      { "spiece.model": withBytes(0x1a, name.length + 2, 0x0a, name.length, ...name) },
      /spiece\.model: normalizer_spec\.name = "nfkc_cf" is not supported/,
    ],
    [
      { "spiece.model": MODEL, "tokenizer_config.json": '{"eos_token": "<eos>"}' },
      /spiece\.model has no piece for eos_token "<eos>"/,
    ],
    [
      { "spiece.model": MODEL, "tokenizer_config.json": '{"tokenizer_class": "T5Tokenizer"}' },
      /tokenizer_config\.json: tokenizer_class "T5Tokenizer" is not supported/,
    ],
    [
      { "spiece.model": new TextEncoder().encode("version https://git-lfs.github.com/spec/v1\n") },
      /spiece\.model is not a valid SentencePiece model/,
    ],
  ];
  for (const [files, message] of cases) {
    await assert.rejects(
      build(files),
      (e: unknown) => e instanceof ModelError && message.test(e.message),
      message.source,
    );
  }
});
