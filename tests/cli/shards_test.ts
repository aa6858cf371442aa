/**
 * Sharded runs, the merge and the server through the command line, as an orchestrator runs them:
 * `eval --shards n` on one machine, `eval --shard i/n` as a CI matrix passes it, the index from
 * `JOB_COMPLETION_INDEX` as a Kubernetes Indexed Job sets it, `merge`, and `serve`.
 */
import assert from "node:assert/strict";
import { DEMO_MODEL, writeShardedDataset } from "../_shard_fixtures.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const DIR = await Deno.makeTempDir({ prefix: "clipbench_cli_shards_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
await writeShardedDataset(DIR, "classification", { shardSizes: [15, 10], broken: [4] });
await writeShardedDataset(DIR, "retrieval", { shardSizes: [12, 12] });
const DATA = `${DIR}/{dataset}`;
const RESULT = "tiny-clip-demo/classification_zeroshot_classification.json";

/** Runs `deno run -A cli.ts ...args` with extra environment variables. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", CLIPBENCH_CACHE: `${DIR}/cache`, ...env },
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/**
 * Asserts that two result files hold the same result: every field outside the `clipbench` block
 * the same, and in the block the same settings, task settings, per-class recall and samples, and
 * `shards` as given (`null` for an unsharded run, else the shard count).
 */
async function assertSameResult(
  path: string,
  expectedPath: string,
  shards: number | null,
  message?: string,
) {
  const { clipbench: block, ...result } = JSON.parse(await Deno.readTextFile(path));
  const { clipbench: single, ...expected } = JSON.parse(await Deno.readTextFile(expectedPath));
  assert.equal(JSON.stringify(result), JSON.stringify(expected), message);
  for (const key of ["settings", "task_settings", "per_class_recall", "samples"]) {
    assert.deepEqual(block[key], single[key], `${message ?? path}: clipbench.${key}`);
  }
  assert.equal(block.shards === null ? null : block.shards.count, shards, message);
}

const EVAL = [
  "eval",
  "--model",
  DEMO_MODEL,
  "--dataset",
  "classification",
  "retrieval",
  "--dataset-root",
  DATA,
  "--batch-size",
  "8",
  "--max-skipped",
  "0.05",
  "--recall-k",
  "1",
  "3",
  "--quiet",
];

const unsharded = await cli([...EVAL, "--output-dir", `${DIR}/single`]);
assert.equal(unsharded.code, 0, unsharded.stderr);

Deno.test("cli: eval --shards 3 runs 3 workers and writes the unsharded result files", async () => {
  const run = await cli([...EVAL, "--shards", "3", "--output-dir", `${DIR}/local`]);
  assert.equal(run.code, 0, run.stderr);
  for (const file of [RESULT, "tiny-clip-demo/retrieval_zeroshot_retrieval.json"]) {
    await assertSameResult(`${DIR}/local/${file}`, `${DIR}/single/${file}`, 3, file);
  }
  assert.match(run.stdout, /tiny-clip-demo\s+classification\s+zeroshot_classification/);
  // No partial is left behind in the output folder.
  const names = [...Deno.readDirSync(`${DIR}/local/tiny-clip-demo`)].map((e) => e.name).sort();
  assert.deepEqual(names, [
    "classification_zeroshot_classification.json",
    "retrieval_zeroshot_retrieval.json",
  ]);
});

Deno.test("cli: shards from --shard, JOB_COMPLETION_INDEX and CLIPBENCH_SHARD_*; merge", async () => {
  const out = `${DIR}/matrix`;
  const runs = await Promise.all([
    cli([...EVAL, "--shard", "0/3", "--output-dir", out]),
    cli([...EVAL, "--shard-count", "3", "--output-dir", out], { JOB_COMPLETION_INDEX: "1" }),
    cli([...EVAL, "--output-dir", out], { CLIPBENCH_SHARD_INDEX: "2", CLIPBENCH_SHARD_COUNT: "3" }),
  ]);
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const partial = (i: number) =>
    `${out}/tiny-clip-demo/classification_zeroshot_classification.shard-${i}-of-3.partial`;
  const merged = await cli([
    "merge",
    partial(2),
    partial(0),
    partial(1),
    "--output-dir",
    `${DIR}/merged`,
  ]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(
    merged.stderr,
    /merged 3 partial\(s\): wrote .*classification_zeroshot_classification\.json/,
  );
  await assertSameResult(`${DIR}/merged/${RESULT}`, `${DIR}/single/${RESULT}`, 3);

  const missing = await cli(["merge", partial(0), partial(2), "--output-dir", `${DIR}/none`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /clipbench: missing shard 1\/3 of 3 \(given: 0\/3, 2\/3\)/);
  const duplicate = await cli(["merge", partial(0), partial(1), partial(1), partial(2)]);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /duplicate shard 1\/3/);
  const retrievalPartial =
    `${out}/tiny-clip-demo/retrieval_zeroshot_retrieval.shard-1-of-3.partial`;
  const mixed = await cli(["merge", partial(0), retrievalPartial, partial(2)]);
  assert.equal(mixed.code, 1);
  assert.match(
    mixed.stderr,
    /does not belong with .*shard-0-of-3\.partial: they differ in the dataset/,
  );
  const bytes = await Deno.readFile(partial(1));
  bytes[bytes.length - 40] ^= 0xff;
  await Deno.writeFile(`${DIR}/damaged.partial`, bytes);
  const corrupted = await cli(["merge", partial(0), `${DIR}/damaged.partial`, partial(2)]);
  assert.equal(corrupted.code, 1);
  assert.match(corrupted.stderr, /damaged\.partial: corrupted: its SHA-256 checksum/);
});

Deno.test("cli: sharding flags that cannot work are usage errors (exit 2)", async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--shard", "0/2", "--limit", "5"], {}, /limit .* cannot be combined with a shard/],
    [
      ["--shards", "2", "--limit", "5"],
      {},
      /--shards runs its own workers; it cannot be combined with --limit/,
    ],
    [["--shards", "2", "--shard", "0/2"], {}, /cannot be combined with --shard/],
    [["--shard", "2/2"], {}, /shard index must be an integer from 0 to 1/],
    [
      ["--shard-count", "2"],
      {},
      /--shard-count 2 needs the shard index from CLIPBENCH_SHARD_INDEX or JOB_COMPLETION_INDEX/,
    ],
    [
      ["--shard-count", "2"],
      { JOB_COMPLETION_INDEX: "2" },
      /JOB_COMPLETION_INDEX with --shard-count 2: the shard index must be an integer from 0 to 1/,
    ],
    [["--shard", "0/2", "--shard-count", "3"], {}, /--shard 0\/2 and a shard count of 3 disagree/],
  ];
  for (const [flags, env, message] of cases) {
    const run = await cli([...EVAL, ...flags, "--output-dir", `${DIR}/bad`], env);
    assert.equal(run.code, 2, `${flags.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
  // A Kubernetes index alone (no count) does not shard.
  const plain = await cli(
    [
      "eval",
      "--model",
      DEMO_MODEL,
      "--dataset",
      "classification",
      "--dataset-root",
      DATA,
      "--max-skipped",
      "0.05",
      "--quiet",
      "--output-dir",
      `${DIR}/plain`,
    ],
    { JOB_COMPLETION_INDEX: "1" },
  );
  assert.equal(plain.code, 0, plain.stderr);
  await assertSameResult(`${DIR}/plain/${RESULT}`, `${DIR}/single/${RESULT}`, null);
});

Deno.test("cli: serve refuses --no-auth off loopback and a missing token", async () => {
  const open = await cli(["serve", "--host", "0.0.0.0", "--no-auth"]);
  assert.equal(open.code, 2);
  assert.match(open.stderr, /--no-auth\) is allowed on a loopback address only/);
  const noToken = await cli(["serve", "--port", "0"], { CLIPBENCH_API_TOKEN: "" });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /no bearer token: set CLIPBENCH_API_TOKEN/);
});

Deno.test("cli: serve answers over HTTP and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "serve",
      "--port",
      "0",
      "--model-root",
      new URL("../../examples/demo/", import.meta.url).pathname,
      "--dataset-root",
      DATA,
      "--num-workers",
      "0",
      "--no-cache",
    ],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", CLIPBENCH_API_TOKEN: "t0ken" },
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let base: string | undefined;
  while (base === undefined) {
    const { done, value } = await lines.read();
    if (done) break;
    text += value;
    base = /serving on (http:\/\/127\.0\.0\.1:\d+)\//.exec(text)?.[1];
  }
  assert.ok(base, text);
  const response = await fetch(`${base}/v1/evaluate`, {
    method: "POST",
    headers: { authorization: "Bearer t0ken", "content-type": "application/json" },
    body: JSON.stringify({ model: "tiny-clip-demo", dataset: "classification", max_skipped: 0.05 }),
  });
  assert.equal(response.status, 200);
  const result = await response.json();
  const expected = JSON.parse(await Deno.readTextFile(`${DIR}/single/${RESULT}`));
  assert.deepEqual(result.metrics, expected.metrics);
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  while (!(await lines.read()).done) { /* drain */ }
});
