import assert from "node:assert/strict";
import { formatResultsTable, resultPath, type TaskResult, writeResult } from "../src/result.ts";

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

Deno.test("result: table with one column per metric", () => {
  const table = formatResultsTable([RESULT]).split("\n");
  assert.match(
    table[0],
    /^model\s+dataset\s+task\s+acc1\s+acc5\s+mean_per_class_recall\s+samples\s+skipped$/,
  );
  assert.match(
    table[2],
    /^clip-b32\s+cars\s+zeroshot_classification\s+0\.5000\s+n\/a\s+0\.2500\s+10\s+1$/,
  );
  assert.equal(formatResultsTable([]), "");
});
