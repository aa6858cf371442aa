/** `--skip-existing`'s decision: reuse only a result whose block records the same settings. */
import assert from "node:assert/strict";
import { decideReuse } from "../../src/results/existing_result.ts";

const DIR = await Deno.makeTempDir({ prefix: "clipbench_existing_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

const EXPECTED = {
  settings: {
    model_sha256: "ab",
    dtype: "fp32",
    preprocess: "hf",
    crop_rounding: "floor",
    text_cleaning: "open_clip",
    split: "test",
    limit: 16,
  },
  task_settings: { classnames_sha256: "c1", templates_sha256: "t1" },
};

async function file(name: string, content: unknown): Promise<string> {
  const path = `${DIR}/${name}`;
  await Deno.writeTextFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const RESULT = { dataset: "d", model: "m", task: "zeroshot_classification", metrics: { acc1: 1 } };

Deno.test("decideReuse: same settings and task settings: reused, as read", async () => {
  const written = { ...RESULT, clipbench: { version: "0", ...EXPECTED, time: null } };
  const decision = await decideReuse(await file("same.json", written), EXPECTED);
  assert.deepEqual(decision, { reuse: true, result: written });
});

Deno.test("decideReuse: a differing setting is named with both values", async () => {
  const cases: [string, unknown, RegExp][] = [
    ["limit", { ...EXPECTED.settings, limit: 32 }, /settings\.limit: 32 there, 16 now/],
    ["model", { ...EXPECTED.settings, model_sha256: "cd" }, /settings\.model_sha256: "cd" there/],
    ["dtype", { ...EXPECTED.settings, dtype: "q8" }, /settings\.dtype: "q8" there, "fp32" now/],
  ];
  for (const [name, settings, reason] of cases) {
    const path = await file(`${name}.json`, {
      ...RESULT,
      clipbench: { settings, task_settings: EXPECTED.task_settings },
    });
    const decision = await decideReuse(path, EXPECTED);
    assert.equal(decision.reuse, false, name);
    assert.match((decision as { reason: string }).reason, reason, name);
  }
  const prompts = await file("prompts.json", {
    ...RESULT,
    clipbench: { settings: EXPECTED.settings, task_settings: { classnames_sha256: "c1" } },
  });
  const decision = await decideReuse(prompts, EXPECTED);
  assert.match(
    (decision as { reason: string }).reason,
    /other settings \(task_settings\.templates_sha256: nothing there, "t1" now\)/,
  );
});

Deno.test("decideReuse: no clipbench block (evalscope's file), or unreadable: made again", async () => {
  const evalscope = await decideReuse(await file("evalscope.json", RESULT), EXPECTED);
  assert.equal(evalscope.reuse, false);
  assert.match(
    (evalscope as { reason: string }).reason,
    /no clipbench block \(written by evalscope or an older clipbench\)/,
  );
  const broken = await decideReuse(await file("broken.json", "{ not json"), EXPECTED);
  assert.equal(broken.reuse, false);
  assert.match((broken as { reason: string }).reason, /cannot be read/);
});
