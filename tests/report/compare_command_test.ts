import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import { COMPARE_HELP, runCompare } from "../../src/report/compare_command.ts";

const FIXTURES = "tests/data/stats/report";
const OUTPUTS = `${FIXTURES}/outputs`;

async function compareOutput(args: string[]): Promise<string> {
  const folder = await Deno.makeTempDir();
  try {
    const output = `${folder}/out`;
    assert.equal(await runCompare([...args, "--output", output]), 0);
    return await Deno.readTextFile(output);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("compare of two model folders equals the golden Markdown", async () => {
  const text = await compareOutput([`${OUTPUTS}/model-a`, `${OUTPUTS}/model-b`]);
  assert.equal(text, await Deno.readTextFile(`${FIXTURES}/golden_compare.md`));
  assert.match(text, /Without per-sample predictions beside both results/);
});

Deno.test("compare of two result files as JSON: verdicts and the setting difference", async () => {
  const a = `${OUTPUTS}/model-a/cifar10_zeroshot_classification.json`;
  const c = `${OUTPUTS}/model-c/cifar10_zeroshot_classification.json`;
  const json = JSON.parse(await compareOutput([a, c, "--format", "json"]));
  const [dataset] = json.datasets;
  assert.equal(dataset.metrics[0].paired, null);
  assert.equal(dataset.dataset, "cifar10");
  assert.equal(dataset.metrics[0].verdict, "not_established");
  assert.ok(Math.abs(dataset.metrics[0].difference - 0.05) < 1e-12);
  // Both results are marked: two results, two limits, no majority.
  assert.equal(dataset.settings_differ.length, 2);
  assert.match(dataset.settings_differ[0], /limit/);
});

Deno.test("compare refuses a folder of several models, one path, and no shared dataset", async () => {
  await assert.rejects(() => runCompare([OUTPUTS, `${OUTPUTS}/model-a`]), /3 models/);
  await assert.rejects(() => runCompare([`${OUTPUTS}/model-a`]), UsageError);
  await assert.rejects(
    () => runCompare([`${OUTPUTS}/model-c`, `${OUTPUTS}/model-b/clip_benchmark`]),
    /share no dataset/,
  );
  assert.match(COMPARE_HELP, /compare A B/);
});
