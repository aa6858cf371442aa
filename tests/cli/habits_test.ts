// deno-lint-ignore-file no-regex-spaces -- output lines separate their parts by two spaces
/**
 * The command line as people use it (issue 10, section 4), in real `deno run cli.ts` processes on
 * the shipped demo: CLIP_benchmark's `--dataset list.txt` and templated `--output`, evalscope's
 * `model_name_or_path`, `datasets --dataset-root`, "did you mean", `--version`, a summary table
 * within 100 columns, each failure printed once, and one combined progress line for `--shards`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../_cli.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MODEL = `${ROOT}examples/demo/tiny-clip-demo`;
const DATA = `${ROOT}examples/demo/data`;
const DIR = await Deno.makeTempDir({ prefix: "clipbench_habits_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

// A second dataset: the demo's under another name.
await Deno.mkdir(join(DIR, "data"));
await Deno.symlink(join(DATA, "fashion_mnist_1k"), join(DIR, "data", "fashion_mnist_1k"));
await Deno.symlink(join(DATA, "fashion_mnist_1k"), join(DIR, "data", "fashion_copy"));

const EVAL = ["eval", "--model", MODEL, "--dataset-root", join(DIR, "data", "{dataset}")];
const SMALL = ["--limit", "32", "--batch-size", "16", "--num-workers", "0"];

function widest(text: string): number {
  return Math.max(0, ...text.split(/[\r\n]/).map((line) => line.length));
}

Deno.test("cli: --dataset FILE.txt evaluates the datasets the file lists", async () => {
  const list = join(DIR, "datasets.txt");
  await Deno.writeTextFile(list, "# the demo, twice\nfashion_mnist_1k\n\nfashion_copy  # a copy\n");
  const out = join(DIR, "list_out");
  const run = await runCli([...EVAL, "--dataset", list, ...SMALL, "--output-dir", out, "--quiet"]);
  assert.equal(run.code, 0, run.stderr);
  for (const name of ["fashion_mnist_1k", "fashion_copy"]) {
    const result = JSON.parse(
      await Deno.readTextFile(join(out, "tiny-clip-demo", `${name}_zeroshot_classification.json`)),
    );
    assert.equal(result.dataset, name);
    assert.equal(result.n_samples, 32);
  }
});

Deno.test("cli: --output writes each result to the templated path, and --skip-existing reads it", async () => {
  const out = join(DIR, "template_out");
  const template = join(DIR, "templated", "{model}", "{dataset}__{task}.json");
  const args = [
    ...EVAL,
    "--dataset",
    "fashion_mnist_1k",
    "fashion_copy",
    ...SMALL,
    "--output-dir",
    out,
    "--output",
    template,
  ];
  const run = await runCli(args);
  assert.equal(run.code, 0, run.stderr);
  const written = join(
    DIR,
    "templated",
    "tiny-clip-demo",
    "fashion_copy__zeroshot_classification.json",
  );
  assert.equal(JSON.parse(await Deno.readTextFile(written)).dataset, "fashion_copy");
  assert.match(run.stderr, new RegExp(`wrote ${written.replaceAll("/", "\\/")}`));
  // Nothing under the output folder.
  assert.deepEqual([...Deno.readDirSync(join(out, "tiny-clip-demo"))], []);
  const before = (await Deno.stat(written)).mtime;
  const again = await runCli([...args, "--skip-existing"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /skip tiny-clip-demo \/ fashion_copy: .*fashion_copy__zeroshot/);
  assert.deepEqual((await Deno.stat(written)).mtime, before);
  assert.match(again.stdout, /\bexisting$/m);

  // Two datasets and a template without {dataset}: refused before anything runs.
  const shared = await runCli([
    ...EVAL,
    "--dataset",
    "fashion_mnist_1k",
    "fashion_copy",
    "--output",
    join(DIR, "one", "{model}.json"),
  ]);
  assert.equal(shared.code, 2, shared.stderr);
  assert.match(
    shared.stderr,
    /^clipbench: --output .*: tiny-clip-demo \/ fashion_mnist_1k and tiny-clip-demo \/ fashion_copy would both write .*; put \{dataset\} in it\n$/,
  );
  const unknown = await runCli([
    ...EVAL,
    "--dataset",
    "fashion_copy",
    "--output",
    "{pretrained}.json",
  ]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown field \{pretrained\}/);
});

Deno.test("cli: --output with --shards writes the merged result to the templated path", async () => {
  const template = join(DIR, "sharded", "{dataset}.json");
  const run = await runCli([
    ...EVAL,
    "--dataset",
    "fashion_copy",
    "--batch-size",
    "64",
    "--shards",
    "2",
    "--output-dir",
    join(DIR, "sharded_out"),
    "--output",
    template,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(await Deno.readTextFile(join(DIR, "sharded", "fashion_copy.json")));
  assert.equal(result.n_samples, 1000);
  // One combined progress line (plain lines here: stderr is a pipe), no line per worker.
  assert.match(run.stderr, /^tiny-clip-demo \/ fashion_copy  1000 samples  .*2\/2 shards done/m);
  assert.doesNotMatch(run.stderr, /\[shard \d\/2\].*samples/);
});

Deno.test("cli: evalscope's model_name_or_path is model_name's older spelling", async () => {
  const config = (model: string) =>
    `eval_backend: RAGEval
eval_config:
  tool: clip_benchmark
  eval:
    models:
      - ${model}
    dataset_name: [fashion_copy]
    data_dir: ${join(DIR, "data", "{dataset}")}
    limit: 16
    output_dir: ${join(DIR, "config_out")}
`;
  const path = join(DIR, "task_cfg.yaml");
  await Deno.writeTextFile(path, config(`model_name_or_path: ${MODEL}`));
  const run = await runCli(["eval", "--config", path, "--quiet"]);
  assert.equal(run.code, 0, run.stderr);
  const written = join(
    DIR,
    "config_out",
    "tiny-clip-demo",
    "fashion_copy_zeroshot_classification.json",
  );
  assert.equal(JSON.parse(await Deno.readTextFile(written)).n_samples, 16);

  await Deno.writeTextFile(path, config(`{ model_name: ${MODEL}, model_name_or_path: ${MODEL} }`));
  const both = await runCli(["eval", "--config", path, "--quiet"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /models\[0\] gives both model_name and model_name_or_path/);
});

Deno.test("cli: datasets --dataset-root lists the datasets under a folder", async () => {
  const run = await runCli(["datasets", "--dataset-root", join(DIR, "data")]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^fashion_copy\s+classification\s+1\s+\S+fashion_copy$/m);
  assert.match(run.stdout, /^fashion_mnist_1k\s+classification\s+1\s/m);
  const both = await runCli(["datasets", "--dataset-root", DATA, "--hub", "huggingface"]);
  assert.equal(both.code, 2);
});

Deno.test("cli: misspelled flags, datasets and commands get a suggestion", async () => {
  const flag = await runCli(["eval", "--model", MODEL, "--datset", "mnist"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--datset' \(did you mean '--dataset'\?\)/);
  const dataset = await runCli(["eval", "--model", MODEL, "--dataset", "vtab_cifar1O"]);
  assert.equal(dataset.code, 2);
  assert.match(dataset.stderr, /unknown dataset 'vtab_cifar1O' \(did you mean 'vtab_cifar10'\?\)/);
  const command = await runCli(["evla"]);
  assert.equal(command.code, 2);
  assert.match(command.stderr, /unknown command 'evla' \(did you mean 'eval'\?\)/);
  const nothingClose = await runCli(["datasets", "--zzzzzz"]);
  assert.doesNotMatch(nothingClose.stderr, /did you mean/);
});

Deno.test("cli: --version works and the help lists it", async () => {
  const help = await runCli(["--help"]);
  assert.match(help.stdout, /^\s+deno run -A cli\.ts --version\s+print the version$/m);
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^clipbench \d+\.\d+\.\d+/);
});

Deno.test("cli: the demo's summary table fits 100 columns, with its legend once", async () => {
  const run = await runCli([
    "eval",
    "--model",
    MODEL,
    "--dataset",
    "fashion_mnist_1k",
    "--dataset-root",
    `${DATA}/{dataset}`,
    "--output-dir",
    join(DIR, "demo_out"),
    "--quiet",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(widest(run.stdout) <= 100, run.stdout);
  assert.match(
    run.stdout,
    /^tiny-clip-demo\s+fashion_mnist_1k\s+zeroshot_classification\s+0\.7500\s+0\.9950\s+0\.7529\s+1000\s+0$/m,
  );
  assert.equal(
    run.stdout.match(/bal_acc = mean_per_class_recall \(balanced accuracy\)/g)?.length,
    1,
  );
});

Deno.test("cli: a failing pair's error is printed once", async () => {
  const run = await runCli([
    ...EVAL,
    "--dataset",
    "fashion_copy",
    "missing_one",
    ...SMALL,
    "--output-dir",
    join(DIR, "fail_out"),
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(
    run.stderr.match(/missing_one\/test\/nshards\.txt: not found/g)?.length,
    1,
    run.stderr,
  );
  assert.match(run.stderr, /^failed: tiny-clip-demo \/ missing_one/m);
  assert.match(run.stderr, /^1 evaluation\(s\) failed:\n  \S+ \/ missing_one: .*not found/m);
  // The pair that worked is in the table.
  assert.match(run.stdout, /^tiny-clip-demo\s+fashion_copy\s/m);
});

Deno.test("cli: with --shards, an error every worker meets is printed once", async () => {
  const run = await runCli([
    ...EVAL,
    "--dataset",
    "missing_one",
    "--shards",
    "2",
    "--output-dir",
    join(DIR, "fail_shards"),
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(
    run.stderr.match(/missing_one\/test\/nshards\.txt: not found/g)?.length,
    1,
    run.stderr,
  );
});
