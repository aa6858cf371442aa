import assert from "node:assert/strict";
import { parseNpy } from "../../../../src/io/npy.ts";
import { ModelError } from "../../../../src/errors.ts";
import { tokenizerJsonFromSlowFiles } from "../../../../src/model/text/slow/mod.ts";
import {
  CLIP_MAX_MERGES,
  parseBpeVocab,
  parseClipMerges,
} from "../../../../src/model/text/slow/clip_bpe.ts";
import { TextTokenizer } from "../../../../src/model/tokenizer.ts";
import { withFolder } from "./_slow_fixtures.ts";

const DEMO = new URL("../../../../examples/demo/tiny-clip-demo/", import.meta.url);
const demoJson = JSON.parse(await Deno.readTextFile(new URL("tokenizer.json", DEMO)));
const demoConfigText = await Deno.readTextFile(new URL("tokenizer_config.json", DEMO));

/** The demo's BPE as the slow files CLIPTokenizer reads: vocab.json and merges.txt. */
const demoSlowFiles = {
  "vocab.json": JSON.stringify(demoJson.model.vocab),
  "merges.txt": `#version: 0.2\n${demoJson.model.merges.join("\n")}\n`,
  "tokenizer_config.json": demoConfigText,
};

Deno.test("clip_bpe: the demo's slow files rebuild its tokenizer.json field for field", async () => {
  await withFolder(demoSlowFiles, async (dir) => {
    const built = (await tokenizerJsonFromSlowFiles(dir))!;
    for (
      const key of ["added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"]
    ) {
      assert.deepEqual(built[key], demoJson[key], key);
    }
    assert.deepEqual(built.model, demoJson.model);
  });
});

Deno.test("clip_bpe: built tokenizer gives the demo's Python reference ids", async () => {
  await withFolder(demoSlowFiles, async (dir) => {
    const built = (await tokenizerJsonFromSlowFiles(dir))!;
    const tok = TextTokenizer.fromFiles(built, JSON.parse(demoConfigText), { padId: 0 });
    const prompts = (await Deno.readTextFile(new URL("reference/prompts.txt", DEMO)))
      .split("\n").filter((line) => line !== "");
    const reference = parseNpy(await Deno.readFile(new URL("reference/input_ids.npy", DEMO)));
    assert.deepEqual(
      Array.from(tok.encodeBatch(prompts).ids),
      Array.from(reference.data as BigInt64Array, Number),
    );
  });
});

Deno.test("clip_bpe: merges.txt skips its first line and keeps at most 48,894 merges", () => {
  assert.deepEqual(parseClipMerges("#version: 0.2\na b\r\nab c</w>\n\n", "m.txt"), [
    "a b",
    "ab c</w>",
  ]);
  // CLIPTokenizer drops line 1 whatever it holds.
  assert.deepEqual(parseClipMerges("x y\na b", "m.txt"), ["a b"]);
  const many = [
    "#version: 0.2",
    ...Array.from({ length: CLIP_MAX_MERGES + 5 }, (_, i) => `a${i} b`),
  ];
  const merges = parseClipMerges(many.join("\n"), "m.txt");
  assert.equal(merges.length, 48894);
  assert.equal(merges.at(-1), `a${48893} b`);
});

Deno.test("clip_bpe: a merges.txt line that is not two tokens names the file and line", () => {
  assert.throws(
    () => parseClipMerges("#version: 0.2\na b\na b c\n", "/ckpt/merges.txt"),
    (error: unknown) =>
      error instanceof ModelError &&
      error.message === "/ckpt/merges.txt: line 3 must hold two tokens separated by a space, " +
          'got "a b c"',
  );
  assert.throws(() => parseClipMerges("#version\nab\n", "/ckpt/merges.txt"), /line 2 .*"ab"/);
});

Deno.test("clip_bpe: a vocab.json that is not an object of ids names the file", () => {
  for (const text of ['["a", "b"]', "null", "{not json"]) {
    assert.throws(
      () => parseBpeVocab(text, "/ckpt/vocab.json"),
      (error: unknown) =>
        error instanceof ModelError && error.message.startsWith("/ckpt/vocab.json") &&
        error.path === "/ckpt/vocab.json",
      text,
    );
  }
  assert.throws(
    () => parseBpeVocab('{"a": 0, "b": "1"}', "/ckpt/vocab.json"),
    /\/ckpt\/vocab\.json: the id of token "b" must be a non-negative integer, got "1"/,
  );
});

Deno.test("clip_bpe: through the folder, bad files and options fail naming the file", async () => {
  await withFolder({ ...demoSlowFiles, "vocab.json": "[1, 2]" }, async (dir) => {
    await assert.rejects(
      tokenizerJsonFromSlowFiles(dir),
      (e: unknown) =>
        e instanceof ModelError &&
        e.message === `${dir}/vocab.json must hold a JSON object of token → id`,
    );
  });
  await withFolder(
    { ...demoSlowFiles, "merges.txt": "#version: 0.2\no f</w> x\n" },
    async (dir) => {
      await assert.rejects(
        tokenizerJsonFromSlowFiles(dir),
        new RegExp(`${dir}/merges.txt: line 2`),
      );
    },
  );
  const otherClass = JSON.stringify({ tokenizer_class: "GPT2Tokenizer" });
  await withFolder({ ...demoSlowFiles, "tokenizer_config.json": otherClass }, async (dir) => {
    await assert.rejects(
      tokenizerJsonFromSlowFiles(dir),
      new RegExp(`${dir}/tokenizer_config.json: tokenizer_class "GPT2Tokenizer" is not supported`),
    );
  });
  const missingBos = JSON.stringify({ bos_token: "<|bos|>" });
  await withFolder({ ...demoSlowFiles, "tokenizer_config.json": missingBos }, async (dir) => {
    await assert.rejects(
      tokenizerJsonFromSlowFiles(dir),
      new RegExp(`${dir}/vocab.json has no bos_token "<\\|bos\\|>"`),
    );
  });
});
