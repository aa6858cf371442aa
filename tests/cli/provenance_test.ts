/**
 * Issue 10 §1 through the command line: two models of one base name are refused before anything
 * runs unless `--model-name` names them apart; `--skip-existing` prints the kept pairs in the
 * summary table, read from their files, and runs a pair again when its settings differ, saying why.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../_cli.ts";
import { DEMO_MODEL } from "../_shard_fixtures.ts";

const DIR = await Deno.makeTempDir({ prefix: "clipbench_cli_provenance_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
const DATA = `${fileURLToPath(new URL("../../examples/demo/data/", import.meta.url))}{dataset}`;
const OTHER = join(DIR, "copy", "tiny-clip-demo");
await Deno.mkdir(join(DIR, "copy"));
await Deno.symlink(DEMO_MODEL, OTHER);

const EVAL = ["eval", "--dataset", "fashion_mnist_1k", "--dataset-root", DATA, "--limit", "8"];

Deno.test("cli: two models of one base name exit 2 naming both, unless --model-name", async () => {
  const out = join(DIR, "clash");
  const clash = await runCli([...EVAL, "--model", DEMO_MODEL, OTHER, "--output-dir", out]);
  assert.equal(clash.code, 2, clash.stderr);
  assert.match(
    clash.stderr,
    /^clipbench: models .* would both write their results to tiny-clip-demo\//,
  );
  assert.ok(clash.stderr.includes(DEMO_MODEL) && clash.stderr.includes(OTHER), clash.stderr);
  // Refused up front: not even the output folder was made.
  await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);

  const named = await runCli([
    ...EVAL,
    "--model",
    DEMO_MODEL,
    OTHER,
    "--model-name",
    "first",
    "second",
    "--output-dir",
    out,
    "--quiet",
  ]);
  assert.equal(named.code, 0, named.stderr);
  assert.match(named.stdout, /^first\s+fashion_mnist_1k/m);
  assert.match(named.stdout, /^second\s+fashion_mnist_1k/m);
  const file = (name: string) => join(out, name, "fashion_mnist_1k_zeroshot_classification.json");
  const [a, b] = [file("first"), file("second")].map((f) => JSON.parse(Deno.readTextFileSync(f)));
  assert.equal(a.model, "first");
  assert.equal(b.model, "second");
  assert.deepEqual(a.metrics, b.metrics);
  assert.equal(a.clipbench.model.given, DEMO_MODEL);
  assert.equal(b.clipbench.model.given, OTHER);
});

Deno.test("cli: --skip-existing lists kept pairs in the table and re-runs changed ones", async () => {
  const out = join(DIR, "skip");
  const args = [...EVAL, "--model", DEMO_MODEL, "--output-dir", out];
  const first = await runCli([...args, "--quiet"]);
  assert.equal(first.code, 0, first.stderr);
  const row = /^tiny-clip-demo\s+fashion_mnist_1k\s+zeroshot_classification\s+[\d.]+/m;
  const acc1 = row.exec(first.stdout)![0];

  const kept = await runCli([...args, "--skip-existing"]);
  assert.equal(kept.code, 0, kept.stderr);
  assert.match(kept.stderr, /skip tiny-clip-demo \/ fashion_mnist_1k: .* made with these settings/);
  assert.ok(kept.stdout.includes(acc1), kept.stdout);
  assert.match(kept.stdout, /\bsource\b/);
  assert.match(kept.stdout, /\bexisting$/m);

  const changed = await runCli([
    ...args,
    "--skip-existing",
    "--split",
    "test",
    "--dtype",
    "fp32",
    "--preprocess",
    "openclip",
  ]);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(
    changed.stderr,
    /re-run tiny-clip-demo \/ fashion_mnist_1k: .* was made with other settings \(settings\./,
  );
  assert.doesNotMatch(changed.stdout, /\bexisting$/m);
});
