import assert from "node:assert/strict";
import { ClipbenchError, UsageError } from "../../src/errors.ts";
import {
  prepareResultFolders,
  resultPath,
  type TaskResult,
  writeResult,
} from "../../src/results/result.ts";

const RESULT: TaskResult = {
  dataset: "cars",
  model: "clip-b32",
  task: "zeroshot_classification",
  metrics: { acc1: 0.5, acc5: null, mean_per_class_recall: 0.25 },
  n_samples: 10,
  n_skipped: 1,
  skipped: [{ key: "k1", source: "0.tar", reason: "bad" }],
};

Deno.test("result: evalscope's path and fields, written atomically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await writeResult(dir, RESULT);
    assert.equal(path, resultPath(dir, "clip-b32", "cars", "zeroshot_classification"));
    assert.equal(path, `${dir}/clip-b32/cars_zeroshot_classification.json`);
    const written = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(written, RESULT);
    assert.equal(written.metrics.acc5, null); // not NaN: valid JSON
    const leftovers = [...Deno.readDirSync(`${dir}/clip-b32`)].map((e) => e.name);
    assert.deepEqual(leftovers, ["cars_zeroshot_classification.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("result: a dataset given by hub id is written under its org folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await writeResult(dir, { ...RESULT, dataset: "myorg/cars" });
    assert.equal(path, `${dir}/clip-b32/myorg/cars_zeroshot_classification.json`);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).dataset, "myorg/cars");
    // A folder that cannot be made is an error naming the result, not an uncaught NotADirectory.
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(
      writeResult(`${dir}/file`, RESULT),
      (e: unknown) => e instanceof ClipbenchError && e.message.includes(`${dir}/file/clip-b32`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("result: output folders are prepared before any work, or refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await prepareResultFolders(`${dir}/out`, ["m1", "m2"], ["cars", "org/name"]);
    for (const folder of ["m1", "m2", "m1/org", "m2/org"]) {
      assert.ok((await Deno.stat(`${dir}/out/${folder}`)).isDirectory, folder);
    }
    // Nothing but the folders is left behind.
    assert.deepEqual([...Deno.readDirSync(`${dir}/out/m1`)].map((e) => e.name).sort(), ["org"]);
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(
      prepareResultFolders(`${dir}/file`, ["m1"], ["cars"]),
      (e: unknown) => e instanceof UsageError && /--output-dir .*file is a file/.test(e.message),
    );
    await Deno.mkdir(`${dir}/out2`);
    await Deno.writeTextFile(`${dir}/out2/m1`, "");
    await assert.rejects(
      prepareResultFolders(`${dir}/out2`, ["m1"], ["cars"]),
      (e: unknown) => e instanceof UsageError && e.message.includes(`${dir}/out2/m1`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
