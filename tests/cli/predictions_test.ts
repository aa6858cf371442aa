/**
 * `--save-predictions` through the command line: per-sample files beside the results, the same
 * file from `--shards n` and from `--shard i/n` + `merge` as from the unsharded run (byte for
 * byte, for classification, multi-label and retrieval), a merge refused when a shard lacks its
 * predictions, and `report` / `compare` using them (bootstrap intervals, paired tests, stale
 * predictions set aside).
 */
import assert from "node:assert/strict";
import { DEMO_MODEL, writeShardedDataset } from "../_shard_fixtures.ts";
import { runCli } from "../_cli.ts";
import {
  type ClassificationRow,
  readFinalPredictions,
} from "../../src/results/predictions/predictions_file.ts";
import { mcnemarFromCorrectness } from "../../src/stats/mcnemar.ts";

const DIR = await Deno.makeTempDir({ prefix: "clipbench_cli_predictions_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
await writeShardedDataset(DIR, "classification", { shardSizes: [15, 10], broken: [4] });
await writeShardedDataset(DIR, "multilabel", { shardSizes: [9, 9] });
await writeShardedDataset(DIR, "retrieval", { shardSizes: [12, 12] });

const DATASETS = ["classification", "multilabel", "retrieval"];
const EVAL = [
  "eval",
  "--model",
  DEMO_MODEL,
  "--dataset",
  ...DATASETS,
  "--dataset-root",
  `${DIR}/{dataset}`,
  "--batch-size",
  "8",
  "--max-skipped",
  "0.05",
  "--recall-k",
  "1",
  "3",
  "--save-predictions",
  "--quiet",
];
const FILES = [
  "classification_zeroshot_classification",
  "multilabel_zeroshot_classification",
  "retrieval_zeroshot_retrieval",
];
const predictionsOf = (dir: string, file: string) =>
  `${dir}/tiny-clip-demo/${file}.predictions.jsonl`;

const single = await runCli([...EVAL, "--output-dir", `${DIR}/single`]);
assert.equal(single.code, 0, single.stderr);

Deno.test("cli: --save-predictions writes one row per scored sample beside each result", async () => {
  for (const file of FILES) {
    const result = JSON.parse(await Deno.readTextFile(`${DIR}/single/tiny-clip-demo/${file}.json`));
    const predictions = await readFinalPredictions(predictionsOf(`${DIR}/single`, file));
    assert.equal(predictions.header.dataset, result.dataset);
    assert.equal(predictions.header.model, "tiny-clip-demo");
    const expectedRows = result.task === "zeroshot_retrieval" ? result.n_images : result.n_samples;
    assert.equal(predictions.rows.length, expectedRows, file);
    const skipped = new Set(result.skipped.map((s: { key: string }) => s.key));
    assert.ok(predictions.rows.every((row) => !skipped.has(row.key)), file);
  }
  // No temporary file is left behind.
  const names = [...Deno.readDirSync(`${DIR}/single/tiny-clip-demo`)].map((e) => e.name);
  assert.deepEqual(names.filter((name) => name.endsWith(".tmp")), []);
});

Deno.test("cli: --shards 2 and --shard i/n + merge give the unsharded predictions, byte for byte", async () => {
  const local = await runCli([...EVAL, "--shards", "2", "--output-dir", `${DIR}/local`]);
  assert.equal(local.code, 0, local.stderr);
  const runs = await Promise.all(
    ["0/2", "1/2"].map((shard) =>
      runCli([...EVAL, "--shard", shard, "--output-dir", `${DIR}/matrix`])
    ),
  );
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  for (const file of FILES) {
    const expected = await Deno.readTextFile(predictionsOf(`${DIR}/single`, file));
    assert.equal(await Deno.readTextFile(predictionsOf(`${DIR}/local`, file)), expected, file);
    const partial = (i: number) => `${DIR}/matrix/tiny-clip-demo/${file}.shard-${i}-of-2.partial`;
    const merged = await runCli(["merge", partial(1), partial(0), "--output-dir", `${DIR}/merged`]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stderr, /merged their predictions: wrote .*\.predictions\.jsonl/);
    assert.equal(await Deno.readTextFile(predictionsOf(`${DIR}/merged`, file)), expected, file);
  }
  // A shard without predictions: the merge names it rather than writing partial predictions.
  const partial = (i: number) => `${DIR}/matrix/tiny-clip-demo/${FILES[0]}.shard-${i}-of-2.partial`;
  await Deno.remove(`${partial(1)}.predictions.jsonl`);
  const refused = await runCli(["merge", partial(0), partial(1), "--output-dir", `${DIR}/none`]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /shard-1-of-2\.partial\.predictions\.jsonl: missing, while other/);
});

Deno.test("cli: report gives seeded bootstrap intervals and sets stale predictions aside", async () => {
  const first = await runCli(["report", `${DIR}/single`, "--format", "json", "--seed", "3"]);
  assert.equal(first.code, 0, first.stderr);
  const again = await runCli(["report", `${DIR}/single`, "--format", "json", "--seed", "3"]);
  assert.equal(again.stdout, first.stdout);
  const { bootstrap } = JSON.parse(first.stdout);
  assert.equal(bootstrap.seed, 3);
  assert.equal(bootstrap.resamples, 1000);
  assert.deepEqual(bootstrap.ignored, []);
  const names = bootstrap.results.map((r: { dataset: string; name: string }) =>
    `${r.dataset} ${r.name}`
  );
  for (
    const name of [
      "classification acc1",
      "classification acc5",
      "classification mean_per_class_recall",
      "multilabel mean_average_precision",
      "retrieval image_retrieval_recall@1",
      "retrieval text_retrieval_recall@3",
    ]
  ) assert.ok(names.includes(name), name);
  for (const row of bootstrap.results) {
    assert.ok(row.low <= row.estimate && row.estimate <= row.high, JSON.stringify(row));
    assert.ok(Math.abs(row.estimate - row.value) < 1e-6, JSON.stringify(row));
  }
  // A result re-written by another run: its old predictions no longer match and are not used.
  const stale = `${DIR}/stale`;
  await Deno.mkdir(`${stale}/tiny-clip-demo`, { recursive: true });
  const file = `${stale}/tiny-clip-demo/${FILES[0]}.json`;
  const result = JSON.parse(
    await Deno.readTextFile(`${DIR}/single/tiny-clip-demo/${FILES[0]}.json`),
  );
  await Deno.writeTextFile(file, JSON.stringify({ ...result, n_samples: result.n_samples - 1 }));
  await Deno.copyFile(predictionsOf(`${DIR}/single`, FILES[0]), predictionsOf(stale, FILES[0]));
  const report = await runCli(["report", stale]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(
    report.stdout,
    /predictions not used: .*classification_zeroshot_classification\.predictions\.jsonl: does not match .*: it has \d+ rows, the result scored \d+/,
  );
});

Deno.test("cli: compare pairs the samples by key: paired bootstrap and the exact McNemar test", async () => {
  const other = await runCli([
    ...EVAL,
    "--preprocess",
    "openclip",
    "--model-name",
    "demo-openclip",
    "--output-dir",
    `${DIR}/single`,
  ]);
  assert.equal(other.code, 0, other.stderr);
  const run = await runCli([
    "compare",
    `${DIR}/single/tiny-clip-demo`,
    `${DIR}/single/demo-openclip`,
    "--format",
    "json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  const comparison = JSON.parse(run.stdout);
  const classification = comparison.datasets.find((d: { dataset: string }) =>
    d.dataset === "classification"
  );
  const [acc1] = classification.metrics;
  assert.equal(acc1.label, "acc1");
  assert.ok(
    acc1.paired.low <= acc1.paired.difference && acc1.paired.difference <= acc1.paired.high,
  );
  // McNemar's counts are those of the two predictions files, sample by sample.
  const rows = async (model: string) =>
    (await readFinalPredictions(
      predictionsOf(`${DIR}/single`, FILES[0]).replace(
        "tiny-clip-demo",
        model,
      ),
    )).rows as readonly ClassificationRow[];
  const a = await rows("tiny-clip-demo");
  const b = new Map((await rows("demo-openclip")).map((row) => [row.key, row]));
  const hit = (row: ClassificationRow) => row.top[0] === row.label ? 1 : 0;
  const expected = mcnemarFromCorrectness(a.map(hit), a.map((row) => hit(b.get(row.key)!)));
  assert.deepEqual(acc1.paired.mcnemar, {
    a_only: expected.aOnly,
    b_only: expected.bOnly,
    p_value: expected.pValue,
  });
  const multilabel = comparison.datasets.find((d: { dataset: string }) =>
    d.dataset === "multilabel"
  );
  assert.equal(multilabel.metrics[0].paired.mcnemar, null);
  const markdown = await runCli([
    "compare",
    `${DIR}/single/tiny-clip-demo`,
    `${DIR}/single/demo-openclip`,
  ]);
  assert.match(markdown.stdout, /Paired tests: seed 0, 1000 resamples; McNemar at 0\.05\./);
});
