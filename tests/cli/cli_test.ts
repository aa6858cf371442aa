/** The command line as a user runs it: a real `deno run cli.ts` process on the shipped demo. */
import assert from "node:assert/strict";
import { parseNpy } from "../../src/io/npy.ts";
import { readTarMembers } from "../_tar_writer.ts";
import { runCli as cli } from "../_cli.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MODEL = `${ROOT}examples/demo/tiny-clip-demo`;
const DATA_ROOT = `${ROOT}examples/demo/data/{dataset}`;

Deno.test("cli eval: writes evalscope's result file and prints a table", async () => {
  const out = await Deno.makeTempDir();
  try {
    const run = await cli([
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "fashion_mnist_1k",
      "--dataset-root",
      DATA_ROOT,
      "--limit",
      "64",
      "--batch-size",
      "16",
      "--output-dir",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const path = `${out}/tiny-clip-demo/fashion_mnist_1k_zeroshot_classification.json`;
    const result = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(Object.keys(result).slice(0, 4), ["dataset", "model", "task", "metrics"]);
    assert.deepEqual(Object.keys(result.metrics), ["acc1", "acc5", "mean_per_class_recall"]);
    assert.equal(result.n_samples, 64);
    assert.match(
      run.stdout,
      /tiny-clip-demo\s+fashion_mnist_1k\s+zeroshot_classification\s+0\.\d{4}/,
    );
    assert.match(run.stderr, /64 samples/); // plain progress lines when stderr is not a terminal
    assert.match(run.stderr, /wrote .*fashion_mnist_1k_zeroshot_classification\.json/);

    // --skip-existing leaves the file alone and says so.
    const before = (await Deno.stat(path)).mtime;
    const again = await cli([
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "fashion_mnist_1k",
      "--dataset-root",
      DATA_ROOT,
      "--limit",
      "64",
      "--output-dir",
      out,
      "--skip-existing",
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /skip tiny-clip-demo \/ fashion_mnist_1k/);
    assert.deepEqual((await Deno.stat(path)).mtime, before);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli eval: an evalscope YAML task_cfg runs the same evaluation", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/task_cfg.yaml`,
      `work_dir: ${dir}
eval_backend: RAGEval
eval_config:
  tool: clip_benchmark
  eval:
    models:
      - model_name: ${MODEL}
    dataset_name: [fashion_mnist_1k]
    data_dir: ${DATA_ROOT}
    split: test
    batch_size: 32
    num_workers: 1
    verbose: false
    skip_existing: false
    output_dir: ${dir}/outputs
    limit: 64
`,
    );
    const run = await cli(["eval", "--config", `${dir}/task_cfg.yaml`]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, ""); // verbose: false
    const result = JSON.parse(
      await Deno.readTextFile(
        `${dir}/outputs/tiny-clip-demo/fashion_mnist_1k_zeroshot_classification.json`,
      ),
    );
    assert.equal(result.n_samples, 64);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli eval: failures exit non-zero with a message", async () => {
  const usage = await cli(["eval", "--model", MODEL, "--dataset", "x", "--batch-size", "0"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /clipbench: --batch-size must be a positive integer/);
  const unknownKey = await cli(["eval", "--modle", MODEL]);
  assert.equal(unknownKey.code, 2);
  assert.match(unknownKey.stderr, /modle/);
  const missing = await cli([
    "eval",
    "--model",
    MODEL,
    "--dataset",
    "nope",
    "--dataset-root",
    "/nonexistent/{dataset}",
    "--quiet",
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\/nonexistent\/nope\/test\/nshards\.txt/);
  const unknownCommand = await cli(["evaluate"]);
  assert.equal(unknownCommand.code, 2);
});

Deno.test("cli help documents every eval flag", async () => {
  const help = await cli(["eval", "--help"]);
  assert.equal(help.code, 0);
  const source = await Deno.readTextFile(`${ROOT}cli.ts`);
  const section = source.slice(source.indexOf("export async function planFromFlags"));
  const flags = [
    ...section.slice(0, section.indexOf("});")).matchAll(/^\s+"?([a-z-]+)"?: \{ type:/gm),
  ]
    .map((m) => m[1]);
  assert.ok(flags.length >= 18, `found ${flags.length} flags`);
  for (const flag of flags) {
    assert.match(help.stdout, new RegExp(`--${flag}\\b`), `--${flag} in --help`);
  }
});

Deno.test("cli inspect text and image print what the model is fed", async () => {
  const text = await cli(["inspect", "text", "--model", MODEL, "a photo of a dress."]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /input_ids: \[872, 320, 516, 512, 320, 590, 269, 873, 873,/);
  assert.match(text.stdout, /tokens: 8/);

  const dir = await Deno.makeTempDir();
  try {
    const members = readTarMembers(
      await Deno.readFile(`${ROOT}examples/demo/data/fashion_mnist_1k/test/0.tar`),
    );
    const png = members.find((m) => m.name === "s0000000.png")!;
    await Deno.writeFile(`${dir}/s0000000.png`, png.data);
    const image = await cli([
      "inspect",
      "image",
      "--model",
      MODEL,
      `${dir}/s0000000.png`,
      "--out",
      `${dir}/t.f32`,
    ]);
    assert.equal(image.code, 0, image.stderr);
    assert.match(image.stdout, /28×28, Pillow mode L/);
    assert.match(image.stdout, /shape: \[1, 3, 32, 32\] float32/);
    const raw = await Deno.readFile(`${dir}/t.f32`);
    const values = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    const reference = parseNpy(await Deno.readFile(`${MODEL}/reference/pixel_values.npy`))
      .data as Float32Array;
    assert.deepEqual(Array.from(values), Array.from(reference.subarray(0, 3 * 32 * 32)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
