/**
 * CI cannot pass without the conformance kit or with the wrong demo numbers: under `CI`, .ci/run
 * stops before installing anything when the kit is missing; with `CLIPBENCH_REQUIRE_KIT=1` (which
 * .ci/run sets) kit tests fail instead of being skipped; and tools/check_metrics.ts, which checks
 * the demo's result, refuses a metric off by more than its last written decimal.
 */
import assert from "node:assert/strict";
import { metricMismatches, parseExpected } from "../tools/check_metrics.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const text = new TextDecoder();

async function run(command: string, args: string[], env: Record<string, string>, cwd = ROOT) {
  const out = await new Deno.Command(command, {
    args,
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/**
 * A copy of .ci/run in `<work>/project/.ci/` (so `../shared/kit` is `<work>/shared/kit`), with an
 * `npx` on the PATH that records being called and stops the script there.
 */
async function ciCopy(work: string) {
  await Deno.mkdir(`${work}/project/.ci`, { recursive: true });
  await Deno.copyFile(`${ROOT}.ci/run`, `${work}/project/.ci/run`);
  await Deno.copyFile(`${ROOT}.ci/deno-version`, `${work}/project/.ci/deno-version`);
  await Deno.mkdir(`${work}/bin`);
  await Deno.writeTextFile(
    `${work}/bin/npx`,
    `#!/bin/sh\necho "$@" >> "${work}/npx-called"\nexit 97\n`,
  );
  await Deno.chmod(`${work}/bin/npx`, 0o755);
  const env = { PATH: `${work}/bin:/usr/local/bin:/usr/bin:/bin`, HOME: work };
  const npxCalled = async () => {
    try {
      await Deno.stat(`${work}/npx-called`);
      return true;
    } catch {
      return false;
    }
  };
  return { script: `${work}/project/.ci/run`, env, npxCalled };
}

Deno.test("ci: under CI, .ci/run fails before installing anything when the kit is missing", async () => {
  const work = await Deno.makeTempDir({ prefix: "clipbench_ci_run_" });
  try {
    const ci = await ciCopy(work);
    const missing = await run("bash", [ci.script], { ...ci.env, CI: "true" });
    assert.equal(missing.code, 1, missing.stdout + missing.stderr);
    assert.match(missing.stderr, /CI is set and the conformance kit is missing/);
    assert.equal(await ci.npxCalled(), false, "npx ran although the kit is missing");
    // A CLIPBENCH_KIT that is not a kit is refused the same way.
    const wrong = await run("bash", [ci.script], {
      ...ci.env,
      CI: "true",
      CLIPBENCH_KIT: `${work}/nowhere`,
    });
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
    assert.equal(await ci.npxCalled(), false);
    // With the kit at ../shared/kit the script goes on (to the stub npx, which stops it).
    await Deno.mkdir(`${work}/shared/kit`, { recursive: true });
    await Deno.writeTextFile(`${work}/shared/kit/README.md`, "kit\n");
    const present = await run("bash", [ci.script], { ...ci.env, CI: "true" });
    assert.equal(present.code, 97, present.stdout + present.stderr);
    assert.match(present.stdout, new RegExp(`== conformance kit: ${work}/shared/kit`));
    assert.equal(await ci.npxCalled(), true);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("ci: with CLIPBENCH_REQUIRE_KIT=1 a missing kit fails the kit tests instead of skipping", async () => {
  const env = {
    PATH: Deno.env.get("PATH") ?? "",
    NO_COLOR: "1",
    CLIPBENCH_KIT: "/nonexistent/kit",
  };
  for (const home of ["HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(home);
    if (value !== undefined) (env as Record<string, string>)[home] = value;
  }
  const args = ["test", "-A", "--no-prompt", "tests/conformance/tokenizer_kit_test.ts"];
  const skipped = await run(Deno.execPath(), args, env);
  assert.equal(skipped.code, 0, skipped.stdout + skipped.stderr);
  assert.match(skipped.stdout, /0 passed \| 0 failed \| \d+ ignored/);
  const required = await run(Deno.execPath(), args, { ...env, CLIPBENCH_REQUIRE_KIT: "1" });
  assert.notEqual(required.code, 0, required.stdout + required.stderr);
  assert.match(
    required.stdout + required.stderr,
    /conformance kit is required .* \/nonexistent\/kit/,
  );
  assert.doesNotMatch(required.stdout, /ignored/);
});

Deno.test("ci: the demo check refuses metrics off by more than their last decimal", () => {
  const expected = ["acc1=0.75", "acc5=0.995", "mean_per_class_recall=0.7529"].map(parseExpected);
  const demo = { acc1: 0.75, acc5: 0.995, mean_per_class_recall: 0.7529049789067803 };
  assert.deepEqual(metricMismatches(demo, expected), []);
  assert.deepEqual(metricMismatches({ ...demo, acc1: 0.74 }, expected), [
    "acc1: expected 0.75, found 0.74",
  ]);
  assert.deepEqual(metricMismatches({ ...demo, mean_per_class_recall: 0.7531 }, expected), [
    "mean_per_class_recall: expected 0.7529, found 0.7531",
  ]);
  assert.deepEqual(metricMismatches({ acc1: null, acc5: Number.NaN }, expected), [
    "acc1: expected 0.75, found null",
    "acc5: expected 0.995, found null",
    "mean_per_class_recall: expected 0.7529, found null",
  ]);
  assert.throws(() => parseExpected("acc1"), /NAME=NUMBER/);
  assert.throws(() => parseExpected("acc1=abc"), /NAME=NUMBER/);
});

Deno.test("ci: the demo check as a command, on a result file", async () => {
  const work = await Deno.makeTempDir({ prefix: "clipbench_check_metrics_" });
  try {
    const file = `${work}/result.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ metrics: { acc1: 0.75, acc5: 0.995, mean_per_class_recall: 0.75290497 } }),
    );
    const tool = `${ROOT}tools/check_metrics.ts`;
    const env = { PATH: Deno.env.get("PATH") ?? "", NO_COLOR: "1" };
    const check = (...wanted: string[]) =>
      run(Deno.execPath(), ["run", "--allow-read", tool, file, ...wanted], env);
    const ok = await check("acc1=0.75", "acc5=0.995", "mean_per_class_recall=0.7529");
    assert.equal(ok.code, 0, ok.stderr);
    const off = await check("acc1=0.76", "acc5=0.995");
    assert.equal(off.code, 1);
    assert.match(off.stderr, /acc1: expected 0\.76, found 0\.75/);
    const missing = await run(Deno.execPath(), [
      "run",
      "--allow-read",
      tool,
      `${work}/none.json`,
      "acc1=1",
    ], env);
    assert.equal(missing.code, 2);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
