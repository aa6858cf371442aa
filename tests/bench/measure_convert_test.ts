/**
 * The conversion measure: a generated tiny Chinese-CLIP checkpoint converted in a child process
 * reports its architecture, the weight file's size, the converted folder's size and (on Linux)
 * a peak resident set, and leaves no converted folder behind. No timing is asserted.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { measureConversion } from "../../bench/measure_convert.ts";
import {
  CHINESE_CLIP_PRESETS,
  writeChineseClipCheckpoint,
} from "../../bench/chinese_clip_checkpoint.ts";

Deno.test("measureConversion: a tiny Chinese-CLIP checkpoint in a child process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-measure-convert-" });
  try {
    const checkpoint = join(dir, "chinese-clip-tiny");
    const size = await writeChineseClipCheckpoint(checkpoint, CHINESE_CLIP_PRESETS.tiny, 0);
    const measure = await measureConversion(checkpoint, "tiny, seed 0");
    assert.equal(measure.architecture, "chinese_clip");
    assert.equal(measure.checkpoint, "chinese-clip-tiny");
    assert.equal(measure.generated, "tiny, seed 0");
    assert.equal(measure.weightBytes, size);
    assert.ok(measure.outputBytes > size, "the converted folder holds the weights and more");
    assert.ok(measure.convertSeconds > 0 && measure.wallSeconds >= measure.convertSeconds);
    if (Deno.build.os === "linux") {
      assert.ok(measure.peakRssBytes !== null && measure.peakRssBytes > 0);
      assert.equal(measure.peakToWeights, measure.peakRssBytes / size);
    }
    const left = [];
    for await (const entry of Deno.readDir(dir)) left.push(entry.name);
    assert.deepEqual(left, ["chinese-clip-tiny"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("measureConversion: a failing conversion names the checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-measure-convert-" });
  try {
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ model_type: "clip" }));
    await Deno.writeFile(join(dir, "model.safetensors"), new Uint8Array(4));
    await assert.rejects(measureConversion(dir), (error: Error) => {
      assert.match(error.message, /converting .* in a child process failed/);
      assert.ok(error.message.includes(dir));
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
