import assert from "node:assert/strict";
import { openWebDataset } from "../../../src/dataset/wds.ts";
import { DatasetError, UsageError } from "../../../src/errors.ts";
import { decodeImage } from "../../../src/image/decode/mod.ts";
import { ClipModel } from "../../../src/model/model.ts";
import { imageField } from "../../../src/dataset/webdataset.ts";
import type { EvaluationProgress } from "../../../src/run/sample_tally.ts";
import { sampleCaptions } from "../../../tasks/zeroshot_retrieval/captions.ts";
import { evaluateZeroShotRetrieval } from "../../../tasks/zeroshot_retrieval/mod.ts";
import { makeTar, readTarMembers } from "../../_tar_writer.ts";

const DEMO = new URL("../../../examples/demo/", import.meta.url).pathname;
const DATA = `${DEMO}data/fashion_mnist_1k`;
const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
const classnames = (await Deno.readTextFile(`${DATA}/classnames.txt`)).trim().split("\n");
const demoMembers = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`));
const PATTERNS = [
  "a photo of a {c}.",
  "a black and white photo of the {c}.",
  "a blurry photo of a {c}.",
  "a {c}.",
  "a low resolution photo of a {c}.",
];

/** Demo sample `index` as retrieval members: its PNG and 1 to 5 captions naming its class. */
function retrievalSample(index: number): { name: string; data: Uint8Array | string }[] {
  const key = `s${String(index).padStart(7, "0")}`;
  const label = Number(new TextDecoder().decode(demoMembers[2 * index].data));
  const png = demoMembers[2 * index + 1].data;
  const count = 1 + ((index * 7) % 5);
  // Rotate the patterns so that captions differ between images of one class.
  const captions = Array.from(
    { length: count },
    (_, j) => PATTERNS[(index + j) % PATTERNS.length].replace("{c}", classnames[label]),
  );
  return [{ name: `${key}.png`, data: png }, { name: `${key}.txt`, data: captions.join("\n") }];
}

/** A retrieval WebDataset of demo images 0..n-1 in two shards, `extra` spliced into shard 1. */
async function makeDataset(
  n: number,
  extra: { name: string; data: Uint8Array | string }[] = [],
): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/test`);
  await Deno.writeTextFile(`${dir}/dataset_type.txt`, "retrieval\n");
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "2\n");
  const half = Math.ceil(n / 2);
  const members = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => retrievalSample(from + i)).flat();
  await Deno.writeFile(`${dir}/test/0.tar`, makeTar(members(0, half)));
  const second = members(half, n);
  await Deno.writeFile(
    `${dir}/test/1.tar`,
    makeTar([...second.slice(0, 6), ...extra, ...second.slice(6)]),
  );
  return dir;
}

/**
 * The metrics the long way: every image encoded in one batch, every caption in one batch, the
 * full captions × images matrix, and for each row and column a sort (score descending, index
 * ascending) and a look at its first k entries.
 */
async function bruteForce(dir: string, recallK: number[], limit?: number) {
  const dataset = await openWebDataset(dir);
  const size = model.preprocessor.outputLength;
  const pixels: Float32Array[] = [];
  const captions: string[] = [];
  const owners: number[] = [];
  for await (const sample of dataset.samples({ limit })) {
    const image = imageField(sample);
    let rgb;
    let lines: string[];
    try {
      if (!image) throw new Error("no image");
      lines = sampleCaptions(sample);
      rgb = await decodeImage(image.bytes, image.ext);
    } catch {
      continue;
    }
    const out = new Float32Array(size);
    model.preprocessor.process(rgb, out, 0);
    for (const line of lines) {
      captions.push(line);
      owners.push(pixels.length);
    }
    pixels.push(out);
  }
  const all = new Float32Array(pixels.length * size);
  pixels.forEach((p, i) => all.set(p, i * size));
  const { embeddings: images, dim } = await model.encodeImages(all, pixels.length);
  const { embeddings: texts } = await model.encodeTexts(captions, captions.length);
  const score = (c: number, i: number) => {
    let sum = 0;
    for (let k = 0; k < dim; k++) sum += texts[c * dim + k] * images[i * dim + k];
    return sum;
  };
  const ranked = (count: number, value: (j: number) => number) =>
    Array.from({ length: count }, (_, j) => j).sort((a, b) => value(b) - value(a) || a - b);
  const metrics: Record<string, number> = {};
  for (const k of recallK) {
    let imageHits = 0;
    for (let c = 0; c < captions.length; c++) {
      if (ranked(pixels.length, (i) => score(c, i)).slice(0, k).includes(owners[c])) imageHits++;
    }
    let textHits = 0;
    for (let i = 0; i < pixels.length; i++) {
      const top = ranked(captions.length, (c) => score(c, i)).slice(0, k);
      if (top.some((c) => owners[c] === i)) textHits++;
    }
    metrics[`image_retrieval_recall@${k}`] = Math.fround(imageHits / captions.length);
    metrics[`text_retrieval_recall@${k}`] = Math.fround(textHits / pixels.length);
  }
  return { metrics, images: pixels.length, captions: captions.length };
}

Deno.test("evaluation: batch-size independent, equal to the full-matrix brute force, limit", async () => {
  const dir = await makeDataset(48);
  try {
    const dataset = await openWebDataset(dir);
    const progress: EvaluationProgress[] = [];
    const a = await evaluateZeroShotRetrieval(model, dataset, {
      datasetName: "demo_captions",
      batchSize: 16,
      onProgress: (p) => progress.push(p),
    });
    const b = await evaluateZeroShotRetrieval(model, dataset, {
      datasetName: "demo_captions",
      batchSize: 5,
    });
    const expected = await bruteForce(dir, [1, 5, 10]);
    assert.equal(a.task, "zeroshot_retrieval");
    assert.equal(a.model, "tiny-clip-demo");
    assert.equal(a.dataset, "demo_captions");
    assert.equal(a.n_samples, 48);
    assert.equal(a.n_images, 48);
    assert.equal(a.n_captions, expected.captions);
    assert.equal(a.n_skipped, 0);
    assert.deepEqual(Object.entries(a.metrics), Object.entries(expected.metrics));
    assert.deepEqual(b.metrics, a.metrics);
    assert.ok(a.metrics["image_retrieval_recall@10"] > a.metrics["image_retrieval_recall@1"]);
    assert.equal(progress.length, 48);
    assert.deepEqual(progress[0], {
      samples: 1,
      skipped: 0,
      total: undefined,
      shard: 0,
      nshards: 2,
    });
    assert.equal(progress[47].shard, 1);
    console.log(`demo captions (48 images): ${JSON.stringify(a.metrics)}`);

    const limited = await evaluateZeroShotRetrieval(model, dataset, {
      datasetName: "demo_captions",
      batchSize: 7,
      limit: 20,
      recallK: [5, 1],
    });
    assert.equal(limited.n_images, 20);
    assert.deepEqual(
      Object.entries(limited.metrics),
      Object.entries((await bruteForce(dir, [5, 1], 20)).metrics),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: samples without txt, with no caption or a bad image are skipped", async () => {
  const png = demoMembers[1].data;
  const dir = await makeDataset(40, [
    { name: "no_txt.png", data: png },
    { name: "empty_txt.png", data: png },
    { name: "empty_txt.txt", data: "" },
    { name: "bad_image.png", data: png.slice(0, 40) },
    { name: "bad_image.txt", data: "a photo of a coat." },
    { name: "not_utf8.png", data: png },
    { name: "not_utf8.txt", data: Uint8Array.of(0x61, 0xc3) },
    { name: "no_image.txt", data: "a photo of a bag." },
  ]);
  try {
    const dataset = await openWebDataset(dir);
    const result = await evaluateZeroShotRetrieval(model, dataset, {
      datasetName: "bad",
      batchSize: 8,
      maxSkippedFraction: 0.2,
    });
    assert.equal(result.n_images, 40);
    assert.equal(result.n_skipped, 5);
    assert.deepEqual(result.skipped.map((s) => s.key), [
      "no_txt",
      "empty_txt",
      "bad_image",
      "not_utf8",
      "no_image",
    ]);
    assert.match(result.skipped[0].reason, /no captions \(no txt field/);
    assert.match(result.skipped[1].reason, /txt field is empty/);
    assert.match(result.skipped[2].reason, /cannot decode png image/);
    assert.match(result.skipped[3].reason, /not valid UTF-8/);
    assert.match(result.skipped[4].reason, /no image/);
    assert.ok(result.skipped.every((s) => s.source.endsWith("/test/1.tar")));
    // The skipped samples in the middle of shard 1 take no image number: the metrics are those
    // of the 40 good samples.
    assert.deepEqual(result.metrics, (await bruteForce(dir, [1, 5, 10])).metrics);

    await assert.rejects(
      evaluateZeroShotRetrieval(model, dataset, { datasetName: "bad" }),
      (e: unknown) =>
        e instanceof DatasetError && /5 of 45 samples .* skipped.*no_txt/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: a k above the number of images is a usage error naming both", async () => {
  const dir = await makeDataset(4);
  try {
    const dataset = await openWebDataset(dir);
    await assert.rejects(
      evaluateZeroShotRetrieval(model, dataset, { datasetName: "x", recallK: [1, 5] }),
      (e: unknown) =>
        e instanceof UsageError && /recall@5/.test(e.message) && /only 4 images/.test(e.message),
    );
    // Known before reading anything when the limit is below k.
    await assert.rejects(
      evaluateZeroShotRetrieval(model, dataset, { datasetName: "x", limit: 3 }),
      (e: unknown) =>
        e instanceof UsageError && /recall@10/.test(e.message) && /limit of 3/.test(e.message),
    );
    await assert.rejects(
      evaluateZeroShotRetrieval(model, dataset, { datasetName: "x", recallK: [] }),
      UsageError,
    );
    const ok = await evaluateZeroShotRetrieval(model, dataset, { datasetName: "x", recallK: [4] });
    assert.equal(ok.metrics["image_retrieval_recall@4"], 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "release the demo model",
  fn: () => model.release(),
  sanitizeResources: false,
});
