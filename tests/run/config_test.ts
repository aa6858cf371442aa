import assert from "node:assert/strict";
import { completePlan, planFromTaskConfig, readTaskConfigFile } from "../../src/run/config.ts";
import { UsageError } from "../../src/errors.ts";
import { expandListFlags, planFromFlags } from "../../cli.ts";

const EVALSCOPE_CONFIG = {
  work_dir: "outputs",
  eval_backend: "RAGEval",
  eval_config: {
    tool: "clip_benchmark",
    eval: {
      models: [{ model_name: "models/tiny-clip" }],
      dataset_name: ["muge", "flickr8k"],
      data_dir: "data/{dataset}",
      split: "test",
      batch_size: 64,
      num_workers: 2,
      verbose: false,
      skip_existing: true,
      cache_dir: "cache",
      limit: 1000,
    },
  },
};

/** A deep copy of the config, loosely typed so tests can break it. */
type LooseConfig = Record<string, unknown> & {
  eval_config: {
    tool: unknown;
    eval: Record<string, unknown> & { models: Record<string, unknown>[] };
  };
};
function cloneConfig(): LooseConfig {
  return structuredClone(EVALSCOPE_CONFIG) as LooseConfig;
}

function usageError(pattern: RegExp) {
  return (error: unknown) =>
    error instanceof UsageError && error.exitCode === 2 && pattern.test(error.message);
}

Deno.test("config: an evalscope task_cfg maps onto the plan", () => {
  const plan = completePlan(planFromTaskConfig(EVALSCOPE_CONFIG, "cfg.json"));
  assert.deepEqual(plan.models, [{ id: "models/tiny-clip", revision: undefined, hub: undefined }]);
  assert.equal(plan.hub, "modelscope"); // evalscope's default hub
  assert.equal(plan.offline, undefined); // HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE decide
  assert.deepEqual(plan.datasets, ["muge", "flickr8k"]);
  assert.equal(plan.datasetRoot, "data/{dataset}");
  assert.equal(plan.batchSize, 64);
  assert.equal(plan.numWorkers, 2);
  assert.equal(plan.quiet, true);
  assert.equal(plan.skipExisting, true);
  assert.equal(plan.cacheDir, "cache");
  assert.equal(plan.limit, 1000);
  assert.equal(plan.outputDir, "outputs");
  assert.equal(plan.task, "auto");
});

Deno.test("config: an unknown key is an error naming the key, at every level", () => {
  const withTop = { ...EVALSCOPE_CONFIG, wrok_dir: "x" };
  assert.throws(
    () => planFromTaskConfig(withTop, "cfg.json"),
    usageError(/unknown key 'wrok_dir' in cfg\.json/),
  );
  const withEval = cloneConfig();
  withEval.eval_config.eval.batchsize = 3;
  assert.throws(
    () => planFromTaskConfig(withEval, "cfg.json"),
    usageError(/unknown key 'batchsize' in cfg\.json: eval_config\.eval/),
  );
  const withModel = cloneConfig();
  withModel.eval_config.eval.models[0].api_base = "http://x";
  assert.throws(
    () => planFromTaskConfig(withModel, "cfg.json"),
    usageError(/unknown key 'api_base' in cfg\.json: eval_config\.eval\.models\[0\]/),
  );
});

Deno.test("config: wrong types and values are errors naming the key", () => {
  const bad = (patch: Record<string, unknown>) => {
    const config = cloneConfig();
    Object.assign(config.eval_config.eval, patch);
    return () => planFromTaskConfig(config, "cfg.json");
  };
  assert.throws(
    bad({ batch_size: "many" }),
    usageError(/eval\.batch_size must be a positive integer/),
  );
  assert.throws(bad({ batch_size: 0 }), usageError(/batch_size/));
  assert.throws(bad({ limit: -5 }), usageError(/eval\.limit/));
  assert.throws(bad({ verbose: "yes" }), usageError(/eval\.verbose must be true or false/));
  assert.throws(bad({ dataset_name: [] }), usageError(/dataset_name must be a non-empty list/));
  assert.throws(bad({ models: [{ revision: "main" }] }), usageError(/models\[0\]\.model_name/));
  assert.throws(
    bad({ models: [{ model_name: "org/m", hub: "github" }] }),
    usageError(/models\[0\]\.hub must be modelscope or huggingface/),
  );
  assert.throws(bad({ task: "image_caption" }), usageError(/not supported by clipbench/));
  assert.throws(
    bad({ task: "retrieval" }),
    usageError(/must be auto, zeroshot_classification or zeroshot_retrieval/),
  );
  const tool = cloneConfig();
  tool.eval_config.tool = "mteb";
  assert.throws(
    () => planFromTaskConfig(tool, "cfg.json"),
    usageError(/tool must be "clip_benchmark"/),
  );
  const backend = { ...EVALSCOPE_CONFIG, eval_backend: "Native" };
  assert.throws(
    () => planFromTaskConfig(backend, "cfg.json"),
    usageError(/eval_backend must be "RAGEval"/),
  );
});

Deno.test("config: per-model hub and revision, as evalscope's models entries carry them", () => {
  const config = cloneConfig();
  config.eval_config.eval.models = [
    { model_name: "Xenova/clip-vit-base-patch32", hub: "huggingface", revision: "v1" },
    { model_name: "AI-ModelScope/clip" },
  ];
  const plan = completePlan(planFromTaskConfig(config, "cfg.json"));
  assert.deepEqual(plan.models, [
    { id: "Xenova/clip-vit-base-patch32", hub: "huggingface", revision: "v1" },
    { id: "AI-ModelScope/clip", hub: undefined, revision: undefined },
  ]);
});

Deno.test("config: models[].name files a model's results under that name; it must be a folder name", () => {
  const config = cloneConfig();
  config.eval_config.eval.models = [
    { model_name: "a/tiny-clip", name: "tiny-a" },
    { model_name: "b/tiny-clip", hub: "huggingface", name: "tiny-b" },
  ];
  const plan = completePlan(planFromTaskConfig(config, "cfg.json"));
  assert.deepEqual(plan.models.map((m) => m.name), ["tiny-a", "tiny-b"]);
  for (const bad of ["a/b", "..", "", 3]) {
    config.eval_config.eval.models = [{ model_name: "a/tiny-clip", name: bad }];
    assert.throws(
      () => planFromTaskConfig(config, "cfg.json"),
      usageError(/cfg\.json: eval_config\.eval\.models\[0\]\.name must be/),
      String(bad),
    );
  }
  // Unknown keys in a models entry are still refused.
  config.eval_config.eval.models = [{ model_name: "a/tiny-clip", nmae: "x" }];
  assert.throws(
    () => planFromTaskConfig(config, "cfg.json"),
    usageError(
      /unknown key 'nmae' in cfg\.json: eval_config\.eval\.models\[0\] \(known keys: model_name, revision, hub, name\)/,
    ),
  );
});

Deno.test("cli: --model-name pairs with --model in order; the counts must match", async () => {
  const plan = await planFromFlags([
    "--model",
    "a/m",
    "b/m",
    "--model-name",
    "ma",
    "mb",
    "--dataset",
    "cars",
  ]);
  assert.ok(plan !== "help");
  assert.deepEqual(plan.models, [{ id: "a/m", name: "ma" }, { id: "b/m", name: "mb" }]);
  await assert.rejects(
    () => planFromFlags(["--model", "a/m", "b/m", "--model-name", "ma", "--dataset", "cars"]),
    usageError(/--model-name is given 1 time\(s\) for 2 model\(s\)/),
  );
  await assert.rejects(
    () => planFromFlags(["--model", "a/m", "--model-name", "x/y", "--dataset", "cars"]),
    usageError(/--model-name must be a folder name/),
  );
});

Deno.test("config: null limit and a single dataset string are accepted, as evalscope allows", () => {
  const config = cloneConfig();
  config.eval_config.eval.limit = null;
  config.eval_config.eval.dataset_name = "muge";
  config.eval_config.tool = "CLIP_Benchmark";
  const plan = planFromTaskConfig(config, "cfg.json");
  assert.equal(plan.limit, undefined);
  assert.deepEqual(plan.datasets, ["muge"]);
});

Deno.test("config: JSON and YAML files give the same plan; a broken file names itself", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cfg.json`, JSON.stringify(EVALSCOPE_CONFIG));
    await Deno.writeTextFile(
      `${dir}/cfg.yaml`,
      `work_dir: outputs
eval_backend: RAGEval
eval_config:
  tool: clip_benchmark
  eval:
    models:
      - model_name: models/tiny-clip
    dataset_name: [muge, flickr8k]
    data_dir: "data/{dataset}"
    split: test
    batch_size: 64
    num_workers: 2
    verbose: false
    skip_existing: true
    cache_dir: cache
    limit: 1000
`,
    );
    const fromJson = planFromTaskConfig(await readTaskConfigFile(`${dir}/cfg.json`), "cfg.json");
    const fromYaml = planFromTaskConfig(await readTaskConfigFile(`${dir}/cfg.yaml`), "cfg.yaml");
    assert.deepEqual(fromYaml, fromJson);
    await Deno.writeTextFile(`${dir}/broken.yml`, "eval_config: [unclosed");
    await assert.rejects(
      readTaskConfigFile(`${dir}/broken.yml`),
      usageError(/broken\.yml is not valid YAML/),
    );
    await assert.rejects(
      readTaskConfigFile(`${dir}/missing.json`),
      usageError(/cannot read config file .*missing\.json/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: list flags take several values", () => {
  assert.deepEqual(expandListFlags(["--dataset", "a", "b", "--limit", "5", "--model", "m"]), [
    "--dataset",
    "a",
    "--dataset",
    "b",
    "--limit",
    "5",
    "--model",
    "m",
  ]);
  assert.deepEqual(expandListFlags(["--dataset=a", "b"]), ["--dataset=a", "--dataset", "b"]);
});

Deno.test("cli: flags build a plan and override a config file", async () => {
  const plan = await planFromFlags([
    "--model",
    "m1",
    "m2",
    "--dataset",
    "d1",
    "d2",
    "--dataset-root",
    "root/{dataset}",
    "--batch-size",
    "32",
    "--limit",
    "10",
    "--skip-existing",
    "--quiet",
    "--crop-rounding",
    "round",
  ]);
  assert.ok(plan !== "help");
  assert.deepEqual(plan.models, [{ id: "m1" }, { id: "m2" }]);
  assert.deepEqual(plan.datasets, ["d1", "d2"]);
  assert.equal(plan.batchSize, 32);
  assert.equal(plan.limit, 10);
  assert.equal(plan.skipExisting, true);
  assert.equal(plan.cropRounding, "round");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cfg.json`, JSON.stringify(EVALSCOPE_CONFIG));
    const merged = await planFromFlags(["--config", `${dir}/cfg.json`, "--batch-size", "8"]);
    assert.ok(merged !== "help");
    assert.equal(merged.batchSize, 8);
    assert.equal(merged.limit, 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: bad flags are usage errors", async () => {
  await assert.rejects(planFromFlags(["--dataset", "d"]), usageError(/no model given/));
  await assert.rejects(planFromFlags(["--model", "m"]), usageError(/no dataset given/));
  await assert.rejects(
    planFromFlags(["--model", "m", "--dataset", "d", "--batch-size", "x"]),
    usageError(/--batch-size/),
  );
  await assert.rejects(
    planFromFlags(["--model", "m", "--dataset", "d", "--bogus"]),
    usageError(/bogus/),
  );
  await assert.rejects(
    planFromFlags(["--model", "m", "--dataset", "a", "b", "--dataset-root", "root"]),
    usageError(/put \{dataset\} in it/),
  );
  await assert.rejects(
    planFromFlags(["--model", "m", "--dataset", "d", "--max-skipped", "2"]),
    usageError(/--max-skipped must be a number from 0 to 1/),
  );
  await assert.rejects(
    planFromFlags(["--model", "m", "--dataset", "d", "--crop-rounding", "ceil"]),
    usageError(/--crop-rounding must be one of floor, round/),
  );
});
