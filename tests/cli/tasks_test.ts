/**
 * Every task through the command line on small datasets built from the shipped demo: retrieval
 * (WebDataset and evalscope's custom folder), multi-label, prompt overrides, dtype and
 * preprocessing flags. The numbers themselves are pinned by the task and metric tests; these
 * check the wiring: task choice, file names, flags reaching the tasks.
 */
import assert from "node:assert/strict";
import { runCli } from "../_cli.ts";
import { makeTar, readTarMembers } from "../_tar_writer.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MODEL = `${ROOT}examples/demo/tiny-clip-demo`;
const DATA = `${ROOT}examples/demo/data/fashion_mnist_1k`;
const members = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`));
const classnames = (await Deno.readTextFile(`${DATA}/classnames.txt`)).trim().split("\n");
const labelOf = (i: number) => Number(new TextDecoder().decode(members[2 * i].data));
const pngOf = (i: number) => members[2 * i + 1].data;
const key = (i: number) => `s${String(i).padStart(7, "0")}`;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function readResult(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

Deno.test("cli: a dataset_type.txt 'retrieval' dataset gets zeroshot_retrieval and --recall-k", async () => {
  await withTempDir(async (dir) => {
    const root = `${dir}/captions`;
    await Deno.mkdir(`${root}/test`, { recursive: true });
    await Deno.writeTextFile(`${root}/dataset_type.txt`, "retrieval\n");
    await Deno.writeTextFile(`${root}/test/nshards.txt`, "1\n");
    const samples = Array.from({ length: 40 }, (_, i) => [
      { name: `${key(i)}.png`, data: pngOf(i) },
      {
        name: `${key(i)}.txt`,
        data: `a photo of a ${classnames[labelOf(i)]}.\na ${classnames[labelOf(i)]}.`,
      },
    ]).flat();
    await Deno.writeFile(`${root}/test/0.tar`, makeTar(samples));
    const run = await runCli([
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "captions",
      "--dataset-root",
      `${dir}/{dataset}`,
      "--recall-k",
      "1",
      "5",
      "--output-dir",
      `${dir}/out`,
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = await readResult(`${dir}/out/tiny-clip-demo/captions_zeroshot_retrieval.json`);
    assert.equal(result.task, "zeroshot_retrieval");
    assert.deepEqual(Object.keys(result.metrics), [
      "image_retrieval_recall@1",
      "text_retrieval_recall@1",
      "image_retrieval_recall@5",
      "text_retrieval_recall@5",
    ]);
    assert.equal(result.n_images, 40);
    assert.equal(result.n_captions, 80);
    // k above the number of candidates is a usage error naming both numbers: exit status 2.
    const tooBig = await runCli([
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "captions",
      "--dataset-root",
      `${dir}/{dataset}`,
      "--recall-k",
      "50",
      "--output-dir",
      `${dir}/out2`,
      "--quiet",
    ]);
    assert.equal(tooBig.code, 2, tooBig.stderr);
    assert.match(tooBig.stderr, /50.*40|40.*50/);
  });
});

Deno.test("cli: the 'custom' dataset is evalscope's image_queries.jsonl folder", async () => {
  await withTempDir(async (dir) => {
    const lines = [];
    for (let i = 0; i < 12; i++) {
      await Deno.writeFile(`${dir}/${key(i)}.png`, pngOf(i));
      lines.push(
        JSON.stringify({ image_path: `${key(i)}.png`, query: [`a ${classnames[labelOf(i)]}.`] }),
      );
    }
    await Deno.writeTextFile(`${dir}/image_queries.jsonl`, lines.join("\n") + "\n");
    const run = await runCli([
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "custom",
      "--dataset-root",
      dir,
      "--recall-k",
      "5",
      "--output-dir",
      `${dir}/out`,
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = await readResult(`${dir}/out/tiny-clip-demo/custom_zeroshot_retrieval.json`);
    assert.deepEqual(Object.keys(result.metrics), [
      "image_retrieval_recall@5",
      "text_retrieval_recall@5",
    ]);
    assert.equal(result.n_captions, 12);
  });
});

Deno.test("cli: a multilabel dataset reports mean_average_precision", async () => {
  await withTempDir(async (dir) => {
    const root = `${dir}/multi`;
    await Deno.mkdir(`${root}/test`, { recursive: true });
    await Deno.writeTextFile(`${root}/dataset_type.txt`, "multilabel\n");
    await Deno.copyFile(`${DATA}/classnames.txt`, `${root}/classnames.txt`);
    await Deno.copyFile(
      `${DATA}/zeroshot_classification_templates.txt`,
      `${root}/zeroshot_classification_templates.txt`,
    );
    await Deno.writeTextFile(`${root}/test/nshards.txt`, "1\n");
    const npy = (label: number) => {
      const header = "{'descr': '|u1', 'fortran_order': False, 'shape': (10,), }";
      const padded = header.padEnd(118, " ") + "\n";
      const bytes = new Uint8Array(10 + padded.length + 10);
      bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]);
      bytes.set(new TextEncoder().encode(padded), 10);
      bytes[10 + padded.length + label] = 1;
      bytes[10 + padded.length + ((label + 1) % 10)] = 1;
      return bytes;
    };
    const samples = Array.from({ length: 30 }, (_, i) => [
      { name: `${key(i)}.npy`, data: npy(labelOf(i)) },
      { name: `${key(i)}.png`, data: pngOf(i) },
    ]).flat();
    await Deno.writeFile(`${root}/test/0.tar`, makeTar(samples));
    const run = await runCli([
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "multi",
      "--dataset-root",
      `${dir}/{dataset}`,
      "--output-dir",
      `${dir}/out`,
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = await readResult(`${dir}/out/tiny-clip-demo/multi_zeroshot_classification.json`);
    assert.deepEqual(Object.keys(result.metrics), ["mean_average_precision"]);
    assert.ok(
      result.metrics.mean_average_precision > 0 && result.metrics.mean_average_precision <= 1,
    );
    assert.equal(result.n_samples, 30);
  });
});

Deno.test("cli: --classnames/--templates override the dataset's and --dump-* records them", async () => {
  await withTempDir(async (dir) => {
    const names = classnames.map((c) => c.toLowerCase());
    await Deno.writeTextFile(`${dir}/names.txt`, names.join("\n") + "\n");
    await Deno.writeTextFile(
      `${dir}/templates.json`,
      JSON.stringify({ fashion_mnist_1k: ["a photo of a {c}."] }),
    );
    const run = await runCli([
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "fashion_mnist_1k",
      "--dataset-root",
      `${ROOT}examples/demo/data/{dataset}`,
      "--limit",
      "50",
      "--classnames",
      `${dir}/names.txt`,
      "--templates",
      `${dir}/templates.json`,
      "--dump-classnames",
      "--dump-templates",
      "--output-dir",
      `${dir}/out`,
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = await readResult(
      `${dir}/out/tiny-clip-demo/fashion_mnist_1k_zeroshot_classification.json`,
    );
    assert.deepEqual(result.classnames, names);
    assert.deepEqual(result.templates, ["a photo of a {c}."]);
    assert.equal(result.classnames_source, `${dir}/names.txt`);
    assert.equal(result.templates_source, `${dir}/templates.json`);
  });
});

Deno.test("cli: --dtype picks a variant or lists those present; --preprocess is accepted", async () => {
  const missing = await runCli([
    "eval",
    "--model",
    MODEL,
    "--dataset",
    "fashion_mnist_1k",
    "--dataset-root",
    `${ROOT}examples/demo/data/{dataset}`,
    "--dtype",
    "q8",
    "--limit",
    "8",
    "--output-dir",
    "/tmp/clipbench-unused",
    "--quiet",
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /variants present: fp32/);
  const bad = await runCli(["eval", "--model", MODEL, "--dataset", "x", "--dtype", "fp64"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--dtype must be one of fp32, fp16, q8/);
  await withTempDir(async (dir) => {
    // Grey PNGs are Pillow mode L: open_clip's order gives the same pixels as transformers'.
    const args = [
      "eval",
      "--model",
      MODEL,
      "--dataset",
      "fashion_mnist_1k",
      "--dataset-root",
      `${ROOT}examples/demo/data/{dataset}`,
      "--limit",
      "64",
      "--quiet",
    ];
    const hf = await runCli([...args, "--output-dir", `${dir}/hf`]);
    const openclip = await runCli([
      ...args,
      "--output-dir",
      `${dir}/oc`,
      "--preprocess",
      "openclip",
    ]);
    assert.equal(hf.code, 0, hf.stderr);
    assert.equal(openclip.code, 0, openclip.stderr);
    const file = "tiny-clip-demo/fashion_mnist_1k_zeroshot_classification.json";
    assert.deepEqual(
      (await readResult(`${dir}/oc/${file}`)).metrics,
      (await readResult(`${dir}/hf/${file}`)).metrics,
    );
  });
});
