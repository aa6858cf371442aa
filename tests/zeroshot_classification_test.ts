import assert from "node:assert/strict";
import { openWebDataset } from "../src/dataset.ts";
import { DatasetError } from "../src/errors.ts";
import { ClassificationAccumulator } from "../src/metrics/classification.ts";
import { ClipModel } from "../src/model.ts";
import {
  buildZeroShotClassifier,
  classificationLogits,
  evaluateZeroShotClassification,
  fillTemplate,
} from "../tasks/zeroshot_classification.ts";
import { makeTar, readTarMembers } from "./_tar_writer.ts";

const DEMO = new URL("../examples/demo/", import.meta.url).pathname;
const DATA = `${DEMO}data/fashion_mnist_1k`;
const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
const classnames = (await openWebDataset(DATA)).classnames!;

Deno.test("fillTemplate follows Python's str.format(c=...)", () => {
  assert.equal(fillTemplate("a photo of a {c}.", "dog"), "a photo of a dog.");
  assert.equal(fillTemplate("{c} and {c}", "x"), "x and x");
  assert.equal(fillTemplate("{{c}} is literal, {c} is not", "x"), "{c} is literal, x is not");
  assert.equal(fillTemplate("no placeholder", "x"), "no placeholder");
  assert.throws(() => fillTemplate("a {label}", "x"), DatasetError);
  assert.throws(() => fillTemplate("unbalanced {", "x"), DatasetError);
});

Deno.test("classifier: per class, mean of the normalised prompt embeddings, re-normalised", async () => {
  const templates = ["a photo of a {c}.", "a {c}.", "an image of a {c}."];
  const { weights, dim } = await buildZeroShotClassifier(
    model,
    classnames.slice(0, 2),
    templates,
    2,
  );
  for (let c = 0; c < 2; c++) {
    const prompts = templates.map((t) => t.replace("{c}", classnames[c]));
    const { embeddings } = await model.encodeTexts(prompts, 64);
    const mean = new Float64Array(dim);
    for (let t = 0; t < templates.length; t++) {
      for (let i = 0; i < dim; i++) mean[i] += embeddings[t * dim + i] / templates.length;
    }
    const norm = Math.hypot(...mean);
    for (let i = 0; i < dim; i++) {
      assert.ok(Math.abs(weights[c * dim + i] - mean[i] / norm) < 1e-6);
    }
  }
});

Deno.test("evaluation: the result does not depend on the batch size; limit takes the first N", async () => {
  const dataset = await openWebDataset(DATA);
  const a = await evaluateZeroShotClassification(model, dataset, {
    datasetName: "demo",
    batchSize: 64,
    limit: 300,
  });
  const b = await evaluateZeroShotClassification(model, dataset, {
    datasetName: "demo",
    batchSize: 7,
    limit: 300,
  });
  assert.equal(a.n_samples, 300);
  assert.equal(a.n_skipped, 0);
  assert.deepEqual(a.metrics, b.metrics);
  assert.equal(a.task, "zeroshot_classification");
  assert.equal(a.model, "tiny-clip-demo");

  // The same numbers computed the long way: all embeddings at once, one accumulator.
  const { weights, dim } = await buildZeroShotClassifier(
    model,
    classnames,
    dataset.templates!,
    128,
  );
  const direct = new ClassificationAccumulator(classnames.length);
  const pixels: Float32Array[] = [];
  const labels: number[] = [];
  const { decodeImage } = await import("../src/image/decode.ts");
  const { imageField, labelField } = await import("../src/webdataset.ts");
  for await (const sample of dataset.samples({ limit: 300 })) {
    const out = new Float32Array(model.preprocessor.outputLength);
    const image = imageField(sample)!;
    model.preprocessor.process(await decodeImage(image.bytes, image.ext), out, 0);
    pixels.push(out);
    labels.push(labelField(sample)!);
  }
  const all = new Float32Array(pixels.length * model.preprocessor.outputLength);
  pixels.forEach((p, i) => all.set(p, i * p.length));
  const { embeddings } = await model.encodeImages(all, pixels.length);
  direct.update(classificationLogits(embeddings, pixels.length, weights, dim), labels);
  assert.deepEqual(a.metrics, direct.result());
});

/** A copy of the demo dataset whose shard has bad samples spliced in. */
async function datasetWithBadSamples(
  extra: { name: string; data: Uint8Array | string }[],
): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/test`);
  for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
    await Deno.copyFile(`${DATA}/${file}`, `${dir}/${file}`);
  }
  const members = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`)).slice(0, 400);
  await Deno.writeFile(
    `${dir}/test/0.tar`,
    makeTar([...members.slice(0, 100), ...extra, ...members.slice(100)]),
  );
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "1\n");
  return dir;
}

Deno.test("evaluation: bad samples are skipped, counted and listed with their keys", async () => {
  const png = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`))[1].data;
  const dir = await datasetWithBadSamples([
    { name: "bad_image.cls", data: "3" },
    { name: "bad_image.png", data: png.slice(0, 40) }, // truncated PNG
    { name: "no_label.png", data: png },
    { name: "bad_label.cls", data: "42" },
    { name: "bad_label.png", data: png },
    { name: "no_image.cls", data: "1" },
    { name: "no_image.txt", data: "a caption" },
  ]);
  try {
    const dataset = await openWebDataset(dir);
    const result = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "bad",
      maxSkippedFraction: 0.05,
    });
    assert.equal(result.n_samples, 200);
    assert.equal(result.n_skipped, 4);
    assert.deepEqual(result.skipped.map((s) => s.key), [
      "bad_image",
      "no_label",
      "bad_label",
      "no_image",
    ]);
    assert.match(result.skipped[0].reason, /cannot decode png image/);
    assert.match(result.skipped[1].reason, /no label/);
    assert.match(result.skipped[2].reason, /label 42 is outside the 10 classes/);
    assert.match(result.skipped[3].reason, /no image/);
    assert.ok(result.skipped.every((s) => s.source.endsWith("/test/0.tar")));

    // The default threshold (1 %) is exceeded by 4 of 204: the run fails, naming the keys.
    await assert.rejects(
      evaluateZeroShotClassification(model, dataset, { datasetName: "bad" }),
      (e: unknown) =>
        e instanceof DatasetError && /4 of 204 samples .* skipped.*bad_image/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: a truncated shard is an error naming the shard and the offset", async () => {
  const dir = await datasetWithBadSamples([]);
  try {
    const tar = await Deno.readFile(`${dir}/test/0.tar`);
    await Deno.writeFile(`${dir}/test/0.tar`, tar.slice(0, 100_000));
    const dataset = await openWebDataset(dir);
    await assert.rejects(
      evaluateZeroShotClassification(model, dataset, { datasetName: "cut" }),
      (e: unknown) =>
        e instanceof DatasetError && e.message.includes(`${dir}/test/0.tar`) &&
        /100000/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: a dataset without classnames.txt is an error naming the file", async () => {
  const dir = await datasetWithBadSamples([]);
  try {
    await Deno.remove(`${dir}/classnames.txt`);
    const dataset = await openWebDataset(dir);
    await assert.rejects(
      evaluateZeroShotClassification(model, dataset, { datasetName: "x" }),
      (e: unknown) =>
        e instanceof DatasetError && e.message.includes(`${dir}/classnames.txt not found`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: a dataset served over HTTP gives the same result as the folder", async () => {
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    requested.push(path);
    try {
      const file = await Deno.open(`${DATA}${decodeURIComponent(path)}`);
      return new Response(file.readable);
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const remote = await evaluateZeroShotClassification(model, await openWebDataset(url), {
      datasetName: "demo",
      limit: 200,
    });
    const local = await evaluateZeroShotClassification(model, await openWebDataset(DATA), {
      datasetName: "demo",
      limit: 200,
    });
    assert.deepEqual(remote.metrics, local.metrics);
    assert.equal(remote.n_samples, 200);
    assert.ok(requested.includes("/test/0.tar"));
    assert.ok(requested.includes("/classnames.txt"));
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  name: "release the demo model",
  fn: () => model.release(),
  sanitizeResources: false,
});
