import assert from "node:assert/strict";
import { ModelError } from "../../../../src/errors.ts";
import {
  slowTokenizerFiles,
  tokenizerJsonFromSlowFiles,
} from "../../../../src/model/text/slow/mod.ts";
import { TOKENIZER_DATA, withFolder } from "./_slow_fixtures.ts";

const MODEL = await Deno.readFile(new URL("spiece.model", TOKENIZER_DATA));

Deno.test("slow mod: a folder without tokenizer files gives undefined and no files", async () => {
  await withFolder({ "config.json": "{}", "tokenizer_config.json": "{}" }, async (dir) => {
    assert.equal(await tokenizerJsonFromSlowFiles(dir), undefined);
    assert.deepEqual(await slowTokenizerFiles(dir), []);
  });
});

Deno.test("slow mod: slowTokenizerFiles names what each kind reads", async () => {
  const clip = { "vocab.json": '{"a</w>": 0}', "merges.txt": "#version: 0.2\n" };
  await withFolder(clip, async (dir) => {
    assert.deepEqual(await slowTokenizerFiles(dir), ["vocab.json", "merges.txt"]);
  });
  await withFolder({ "vocab.txt": "[UNK]\n", "tokenizer_config.json": "{}" }, async (dir) => {
    assert.deepEqual(await slowTokenizerFiles(dir), ["vocab.txt", "tokenizer_config.json"]);
  });
  await withFolder({ "spiece.model": MODEL }, async (dir) => {
    assert.deepEqual(await slowTokenizerFiles(dir), ["spiece.model"]);
    const json = (await tokenizerJsonFromSlowFiles(dir))!;
    assert.equal((json.model as { type: string }).type, "Unigram");
  });
});

Deno.test("slow mod: vocab.json without merges.txt is an error naming the missing file", async () => {
  await withFolder({ "vocab.json": "{}" }, async (dir) => {
    await assert.rejects(
      tokenizerJsonFromSlowFiles(dir),
      (e: unknown) =>
        e instanceof ModelError && e.message.includes("no merges.txt") &&
        e.path === `${dir}/merges.txt`,
    );
  });
});

Deno.test("slow mod: a tokenizer_config.json that is not an object names the file", async () => {
  await withFolder({ "vocab.txt": "[UNK]\n", "tokenizer_config.json": "[]" }, async (dir) => {
    await assert.rejects(
      tokenizerJsonFromSlowFiles(dir),
      new RegExp(`${dir}/tokenizer_config.json must hold a JSON object`),
    );
  });
});
