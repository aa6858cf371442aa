/**
 * The conversion cache (src/convert/conversion_cache.ts): the first use converts, later uses find
 * the folder, concurrent first uses end with one complete folder, and other weights get another.
 */
import assert from "node:assert/strict";
import { CONVERSION_RECORD } from "../../src/convert/convert.ts";
import { conversionKey, convertedModelDir } from "../../src/convert/conversion_cache.ts";
import { at, entries, inTempDir, tinyCheckpoint } from "./_generated_checkpoint.ts";

Deno.test("conversion cache: converted once, then reused", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = await tinyCheckpoint(at(dir, "checkpoint"));
    const cacheDir = at(dir, "cache");
    const lines: string[] = [];
    const first = await convertedModelDir(checkpoint, {
      cacheDir,
      log: (line) => lines.push(line),
    });
    assert.ok(first.startsWith(at(cacheDir, "converted")));
    assert.equal(lines.filter((line) => line.startsWith("converting")).length, 1);
    const recorded = (await Deno.stat(at(first, CONVERSION_RECORD))).mtime;
    const again = await convertedModelDir(checkpoint, {
      cacheDir,
      log: (line) => lines.push(line),
    });
    assert.equal(again, first);
    assert.equal(lines.filter((line) => line.startsWith("converting")).length, 1);
    assert.deepEqual((await Deno.stat(at(first, CONVERSION_RECORD))).mtime, recorded);
  });
});

Deno.test("conversion cache: concurrent first uses end with one complete folder", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = await tinyCheckpoint(at(dir, "checkpoint"));
    const cacheDir = at(dir, "cache");
    const folders = await Promise.all([
      convertedModelDir(checkpoint, { cacheDir }),
      convertedModelDir(checkpoint, { cacheDir }),
      convertedModelDir(checkpoint, { cacheDir }),
    ]);
    assert.equal(new Set(folders).size, 1);
    // One folder, no temporary ones left by the conversions that lost the race.
    assert.equal((await entries(at(cacheDir, "converted"))).length, 1);
    assert.ok((await entries(folders[0])).includes(CONVERSION_RECORD));
  });
});

Deno.test("conversion cache: the key follows the weights and the config, not the folder", async () => {
  await inTempDir(async (dir) => {
    const cacheDir = at(dir, "cache");
    const a = await tinyCheckpoint(at(dir, "a"), 1);
    const b = await tinyCheckpoint(at(dir, "b"), 1);
    const c = await tinyCheckpoint(at(dir, "c"), 2);
    const key = (folder: string) => conversionKey(folder, cacheDir);
    assert.equal(await key(a), await key(b)); // same weights elsewhere: same conversion
    assert.notEqual(await key(a), await key(c)); // other weights
    const config = JSON.parse(await Deno.readTextFile(at(b, "config.json")));
    config.text_config.hidden_act = "gelu";
    await Deno.writeTextFile(at(b, "config.json"), JSON.stringify(config));
    assert.notEqual(await key(a), await key(b)); // a config that changes the graph
  });
});
