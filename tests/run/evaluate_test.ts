/**
 * The runner's provenance and `--skip-existing`, in real runs of the demo model on the first
 * samples of the demo data: every result's `clipbench` block; a pair kept only when its file was
 * made with the same settings (else run again, saying why); and two models filed under one name
 * refused up front unless named apart.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { completePlan, type EvalPlan, type ModelSpec } from "../../src/run/config.ts";
import { resultNames, runEvaluations } from "../../src/run/evaluate.ts";
import type { ClipbenchBlock } from "../../src/results/provenance.ts";
import type { TaskResult } from "../../src/results/result.ts";
import { UsageError } from "../../src/errors.ts";
import { VERSION } from "../../src/version.ts";
import "../../tasks/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MODEL = `${ROOT}examples/demo/tiny-clip-demo`;
const DATA = `${ROOT}examples/demo/data/{dataset}`;
const DIR = await Deno.makeTempDir({ prefix: "clipbench_evaluate_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

function plan(outputDir: string, settings: Partial<EvalPlan> = {}): EvalPlan {
  return completePlan({
    models: [{ id: MODEL }],
    datasets: ["fashion_mnist_1k"],
    datasetRoot: DATA,
    limit: 24,
    noCache: true,
    cacheDir: join(DIR, "cache"),
    numWorkers: 0,
    outputDir,
    quiet: true,
    ...settings,
  });
}

async function run(p: EvalPlan) {
  const log: string[] = [];
  const outcome = await runEvaluations(p, { log: (line) => log.push(line), interactive: false });
  assert.deepEqual(outcome.failures, []);
  return { ...outcome, log };
}

const FILE = "tiny-clip-demo/fashion_mnist_1k_zeroshot_classification.json";
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

Deno.test("runEvaluations: the result's clipbench block says how it was made", async () => {
  const out = join(DIR, "block");
  const { results } = await run(plan(out));
  const written = JSON.parse(await Deno.readTextFile(join(out, FILE)));
  assert.deepEqual(written, JSON.parse(JSON.stringify(results[0])));
  // evalscope's fields first and unchanged, the block last.
  assert.deepEqual(Object.keys(written).slice(0, 4), ["dataset", "model", "task", "metrics"]);
  assert.equal(Object.keys(written).at(-1), "clipbench");
  const block = written.clipbench as ClipbenchBlock;
  assert.equal(block.version, VERSION);
  assert.equal(block.model.given, MODEL);
  assert.equal(block.model.name, "tiny-clip-demo");
  assert.equal(block.model.family, "clip");
  assert.match(block.model.fingerprint_sha256, /^[0-9a-f]{64}$/);
  assert.ok(Object.keys(block.model.files).includes("onnx/vision_model.onnx"));
  assert.ok(Object.values(block.model.files).every((h) => /^[0-9a-f]{64}$/.test(h)));
  assert.equal(block.model.converted_from, undefined);
  assert.deepEqual(block.settings, {
    model_sha256: block.model.fingerprint_sha256,
    dtype: "fp32",
    preprocess: "hf",
    crop_rounding: "floor",
    text_cleaning: "open_clip",
    split: "test",
    limit: 24,
  });
  assert.deepEqual(Object.keys(block.task_settings), ["classnames_sha256", "templates_sha256"]);
  assert.equal(block.shards, null);
  assert.deepEqual(block.samples, { scored: 24, skipped: 0 });
  // Times: their shape and order, not their values.
  const time = block.time!;
  assert.match(time.start, ISO);
  assert.match(time.end, ISO);
  assert.ok(Date.parse(time.start) <= Date.parse(time.end));
  assert.equal(time.duration_s, (Date.parse(time.end) - Date.parse(time.start)) / 1000);
  assert.ok(time.images_per_s >= 0);
  assert.equal(block.runtime!.deno, Deno.version.deno);
  assert.equal(block.runtime!.execution_provider, "cpu");
  // One recall per class name, in class order; their mean over the classes present is the metric.
  const recall = block.per_class_recall!;
  assert.equal(recall.length, 10);
  const present = recall.filter((r): r is number => r !== null);
  const mean = present.reduce((a, b) => a + b, 0) / present.length;
  assert.ok(Math.abs(mean - written.metrics.mean_per_class_recall) < 1e-12);
});

Deno.test("runEvaluations: --templates changes the templates hash, not the class names'", async () => {
  const templates = join(DIR, "templates.txt");
  await Deno.writeTextFile(templates, "a picture of a {c}.\n");
  const a = await run(plan(join(DIR, "t1"), { limit: 8 }));
  const b = await run(plan(join(DIR, "t2"), { limit: 8, templatesFile: templates }));
  const [blockA, blockB] = [a.results[0], b.results[0]].map((r) => r.clipbench as ClipbenchBlock);
  assert.equal(blockA.task_settings.classnames_sha256, blockB.task_settings.classnames_sha256);
  assert.notEqual(blockA.task_settings.templates_sha256, blockB.task_settings.templates_sha256);
});

Deno.test("runEvaluations: --skip-existing keeps a result made with the same settings only", async () => {
  const out = join(DIR, "skip");
  const first = await run(plan(out));
  const path = join(out, FILE);
  const text = await Deno.readTextFile(path);

  const same = await run(plan(out, { skipExisting: true }));
  assert.deepEqual(same.results, []);
  assert.equal(same.reused.length, 1);
  // The summary has the kept pair, read from its file.
  assert.deepEqual(same.summary, [JSON.parse(text) as TaskResult]);
  assert.deepEqual(same.summary[0].metrics, first.results[0].metrics);
  assert.equal(await Deno.readTextFile(path), text);
  assert.ok(
    same.log.some((line) =>
      /^skip tiny-clip-demo \/ fashion_mnist_1k: .* these settings/.test(line)
    ),
  );

  const other = await run(plan(out, { skipExisting: true, limit: 16 }));
  assert.equal(other.results.length, 1);
  assert.equal(other.reused.length, 0);
  assert.ok(
    other.log.some((line) =>
      line.startsWith("re-run tiny-clip-demo / fashion_mnist_1k: ") &&
      line.includes("settings.limit: 24 there, 16 now")
    ),
    other.log.join("\n"),
  );
  assert.equal(JSON.parse(await Deno.readTextFile(path)).n_samples, 16);

  const crop = await run(plan(out, { skipExisting: true, limit: 16, cropRounding: "round" }));
  assert.equal(crop.results.length, 1);
  assert.ok(crop.log.some((line) => line.includes("settings.crop_rounding")), crop.log.join("\n"));

  // evalscope's file (no clipbench block) is made again, saying so.
  const { clipbench: _block, ...evalscope } = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify(evalscope));
  const old = await run(plan(out, { skipExisting: true, limit: 16, cropRounding: "round" }));
  assert.equal(old.results.length, 1);
  assert.ok(old.log.some((line) => line.includes("has no clipbench block")), old.log.join("\n"));
  assert.ok(JSON.parse(await Deno.readTextFile(path)).clipbench);
});

Deno.test("resultNames: two models filed under one name are refused, naming both", async () => {
  const other = join(DIR, "elsewhere", "tiny-clip-demo");
  await Deno.mkdir(join(DIR, "elsewhere"), { recursive: true });
  await Deno.symlink(MODEL, other);
  const models = [{ id: MODEL }, { id: other }];
  assert.throws(
    () => resultNames(models),
    (e) =>
      e instanceof UsageError && e.message.includes(MODEL) && e.message.includes(other) &&
      /both write their results to tiny-clip-demo\/: give each a distinct --model-name/
        .test(e.message),
  );
  // Hub ids of one base name from different hubs clash too; names tell them apart.
  const hubs: ModelSpec[] = [
    { id: "org/tiny-clip-demo" },
    { id: "other/tiny-clip-demo", hub: "huggingface" },
  ];
  assert.throws(
    () => resultNames(hubs),
    /org\/tiny-clip-demo and other\/tiny-clip-demo \(huggingface\)/,
  );
  assert.deepEqual(resultNames(hubs.map((m, i) => ({ ...m, name: `n${i}` }))), ["n0", "n1"]);
  await assert.rejects(() => runEvaluations(plan(join(DIR, "clash"), { models })), UsageError);

  const out = join(DIR, "named");
  const named = await run(plan(out, {
    limit: 8,
    models: [{ id: MODEL, name: "demo-a" }, { id: other, name: "demo-b" }],
  }));
  assert.deepEqual(named.results.map((r) => r.model), ["demo-a", "demo-b"]);
  for (const name of ["demo-a", "demo-b"]) {
    const file = join(out, name, "fashion_mnist_1k_zeroshot_classification.json");
    const block = JSON.parse(await Deno.readTextFile(file)).clipbench as ClipbenchBlock;
    assert.equal(block.model.name, name);
    assert.equal(basename(block.model.given!), "tiny-clip-demo");
  }
});
