/**
 * Output folders are checked and created before any evaluation: a dataset given by hub id
 * (`org/name`) writes `OUTPUT_DIR/<model>/org/name_<task>.json` (plain and with `--shards`), and an
 * `--output-dir` that is a file is a configuration error (exit 2, one line) before anything is
 * fetched or loaded.
 */
import assert from "node:assert/strict";
import { runCli } from "../_cli.ts";
import { startFakeHub } from "../_fake_hub.ts";
import { readFolder } from "../_hub_fixtures.ts";
import { DEMO_MODEL } from "../_shard_fixtures.ts";

const DEMO_DATA = new URL("../../examples/demo/data/fashion_mnist_1k", import.meta.url).pathname;
const DATASET_ID = "myorg/fmnist";

async function withHubDataset(
  fn: (work: string, env: Record<string, string>, requests: () => number) => Promise<void>,
) {
  const hub = startFakeHub({
    repos: [{
      hub: "modelscope",
      kind: "dataset",
      id: DATASET_ID,
      files: await readFolder(DEMO_DATA),
    }],
  });
  const work = await Deno.makeTempDir({ prefix: "clipbench_cli_output_dir_" });
  try {
    await fn(work, {
      CLIPBENCH_CACHE: `${work}/clipbench`,
      MODELSCOPE_DOMAIN: hub.origin,
      MODELSCOPE_CACHE: `${work}/modelscope`,
      HF_HOME: `${work}/hf`,
    }, () => hub.log.length);
  } finally {
    await hub.close();
    await Deno.remove(work, { recursive: true });
  }
}

const RESULT = `tiny-clip-demo/myorg/fmnist_zeroshot_classification.json`;

Deno.test("cli eval: a dataset given by hub id writes OUTPUT_DIR/<model>/org/name_<task>.json", async () => {
  await withHubDataset(async (work, env) => {
    const run = await runCli(
      ["eval", "--model", DEMO_MODEL, "--dataset", DATASET_ID, "--limit", "40", "--quiet"],
      work,
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(await Deno.readTextFile(`${work}/outputs/${RESULT}`));
    assert.equal(result.dataset, DATASET_ID);
    assert.equal(result.n_samples, 40);
  });
});

Deno.test("cli eval --shards: a dataset given by hub id is merged into its result", async () => {
  await withHubDataset(async (work, env) => {
    const run = await runCli(
      ["eval", "--model", DEMO_MODEL, "--dataset", DATASET_ID, "--shards", "2", "--quiet"],
      work,
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(await Deno.readTextFile(`${work}/outputs/${RESULT}`));
    assert.equal(result.n_samples, 1000);
    // The README's numbers of the demo dataset, through the hub and two shards.
    assert.equal(result.metrics.acc1, 0.75);
  });
});

Deno.test("cli eval: an --output-dir that is a file fails before anything is read", async () => {
  await withHubDataset(async (work, env, requests) => {
    await Deno.writeTextFile(`${work}/taken`, "a file\n");
    for (
      const [outputDir, reason] of [
        ["taken", "taken is a file, not a folder"],
        ["taken/below", "cannot create taken/below: "],
      ]
    ) {
      const run = await runCli(
        ["eval", "--model", DEMO_MODEL, "--dataset", DATASET_ID, "--output-dir", outputDir],
        work,
        env,
      );
      assert.equal(run.code, 2, run.stderr);
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, run.stderr);
      assert.ok(lines[0].startsWith(`clipbench: --output-dir ${outputDir}: ${reason}`), lines[0]);
      assert.equal(requests(), 0, "the dataset was fetched");
    }
    assert.equal(await Deno.readTextFile(`${work}/taken`), "a file\n");
  });
});
