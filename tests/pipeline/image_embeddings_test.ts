import assert from "node:assert/strict";
import { openWebDataset } from "../../src/dataset/wds.ts";
import { DatasetError, ModelError } from "../../src/errors.ts";
import { decodeNativeImage } from "../../src/image/decode/mod.ts";
import { ClipModel } from "../../src/model/model.ts";
import { DecodePool, DecodePoolError, liveDecodeWorkers } from "../../src/pipeline/decode_pool.ts";
import {
  imageEmbeddingBatches,
  type PipelineOptions,
} from "../../src/pipeline/image_embeddings.ts";
import {
  liveInferenceWorkers,
  WorkerImageEncoder,
} from "../../src/pipeline/worker_image_encoder.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import { labelField, type Sample } from "../../src/dataset/webdataset.ts";
import { evaluateZeroShotClassification } from "../../tasks/zeroshot_classification/mod.ts";
import { evaluateZeroShotRetrieval } from "../../tasks/zeroshot_retrieval/mod.ts";
import { makeTar, readTarMembers } from "../_tar_writer.ts";

const DEMO = new URL("../../examples/demo/", import.meta.url).pathname;
const DATA = `${DEMO}data/fashion_mnist_1k`;
const JPEG = new URL("../data/decode/jpeg_420_17x13.jpg", import.meta.url).pathname;
const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
const demoMembers = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`));
const png = demoMembers[1].data;
const jpeg = await Deno.readFile(JPEG);

/** A `.npy` file (version 1.0) of a 1-D uint8 array. */
function npyBytes(values: number[]): Uint8Array {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${values.length},), }`;
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 11) + "\n";
  const out = new Uint8Array(10 + header.length + values.length);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0, header.length & 0xff, 0]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(values, 10 + header.length);
  return out;
}

/**
 * A copy of the demo's first `count` samples in two shards, with bad samples and JPEGs spliced
 * into the first shard after its 50th sample; `captions` adds a `txt` field to every good
 * sample, `targets` an `npy` multi-hot target (its class and the next).
 */
async function mixedDataset(
  count: number,
  options: { captions?: boolean; targets?: boolean } = {},
) {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/test`);
  for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
    await Deno.copyFile(`${DATA}/${file}`, `${dir}/${file}`);
  }
  if (options.captions) await Deno.writeTextFile(`${dir}/dataset_type.txt`, "retrieval\n");
  const samples = Array.from({ length: count }, (_, i) => {
    const [cls, image] = demoMembers.slice(2 * i, 2 * i + 2);
    const key = image.name.replace(/\.png$/, "");
    const members = [cls, image];
    if (options.targets) {
      const label = Number(new TextDecoder().decode(cls.data));
      const target = Array.from({ length: 10 }, (_, c) => c === label || c === (label + 1) % 10);
      members.push({ name: `${key}.npy`, data: npyBytes(target.map(Number)) });
    }
    if (options.captions) {
      const captions = `item ${i}\nthe ${i % 3 === 0 ? "first" : "other"} kind`;
      members.push({ name: `${key}.txt`, data: new TextEncoder().encode(captions) });
    }
    return members;
  });
  const extra = [
    { name: "bad_png.cls", data: "3" },
    { name: "bad_png.png", data: png.slice(0, 40) },
    { name: "bad_png.txt", data: "a truncated image" },
    { name: "a_jpeg.cls", data: "4" },
    { name: "a_jpeg.jpg", data: jpeg },
    { name: "a_jpeg.txt", data: "a small jpeg" },
    { name: "no_image.cls", data: "1" },
    { name: "no_image.txt", data: "nothing to see" },
    { name: "bad_label.cls", data: "42" },
    { name: "bad_label.png", data: png },
    { name: "bad_jpeg.cls", data: "2" },
    { name: "bad_jpeg.jpg", data: jpeg.slice(0, jpeg.length - 30) },
    { name: "bad_jpeg.txt", data: "a truncated jpeg" },
    { name: "jpeg_2.cls", data: "5" },
    { name: "jpeg_2.jpg", data: jpeg },
    { name: "jpeg_2.txt", data: "another jpeg" },
  ];
  const half = Math.ceil(count / 2);
  const first = [...samples.slice(0, 50).flat(), ...extra, ...samples.slice(50, half).flat()];
  await Deno.writeFile(`${dir}/test/0.tar`, makeTar(first));
  await Deno.writeFile(`${dir}/test/1.tar`, makeTar(samples.slice(half).flat()));
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "2\n");
  return dir;
}

/** Every worker the pipeline started has been terminated. */
function assertNoWorkers(when: string): void {
  assert.equal(liveDecodeWorkers(), 0, `decoding workers left running ${when}`);
  assert.equal(liveInferenceWorkers(), 0, `inference workers left running ${when}`);
}

/** Everything observable of one run of the image pipeline. */
interface Run {
  embeddings: number[][];
  batches: { count: number; keys: readonly string[]; items: readonly number[] }[];
  skipped: SkippedSample[];
  sampled: string[];
}

async function runPipeline(
  samples: AsyncIterable<Sample | SkippedSample>,
  batchSize: number,
  pipeline: PipelineOptions,
): Promise<Run> {
  const run: Run = { embeddings: [], batches: [], skipped: [], sampled: [] };
  const batches = imageEmbeddingBatches(samples, model, {
    batchSize,
    ...pipeline,
    extract: (sample) => {
      const label = labelField(sample);
      if (label === undefined || label > 9) throw new Error(`bad label ${label}`);
      return label;
    },
    onSkip: (sample) => run.skipped.push(sample),
    onSample: (sample) => run.sampled.push(sample.key),
  });
  for await (const batch of batches) {
    assert.equal(batch.embeddings.length, batch.count * batch.dim);
    for (let i = 0; i < batch.count; i++) {
      run.embeddings.push([...batch.embeddings.subarray(i * batch.dim, (i + 1) * batch.dim)]);
    }
    run.batches.push({ count: batch.count, keys: batch.keys, items: batch.items });
  }
  assertNoWorkers("after a run");
  return run;
}

Deno.test("pipeline: bit-identical to the in-process path for any worker count and batch size", async () => {
  const dir = await mixedDataset(160);
  try {
    const dataset = await openWebDataset(dir);
    for (const batchSize of [1, 7, 64]) {
      const reference = await runPipeline(dataset.samples(), batchSize, { numWorkers: 0 });
      assert.equal(reference.embeddings.length, 160 + 2);
      assert.deepEqual(reference.skipped.map((s) => s.key), [
        "bad_png",
        "no_image",
        "bad_label",
        "bad_jpeg",
      ]);
      assert.equal(reference.sampled.length, 160 + 6);
      for (const numWorkers of [1, 2, 3]) {
        for (const inferenceWorker of [true, false]) {
          if (batchSize === 1 && !inferenceWorker) continue;
          const run = await runPipeline(dataset.samples(), batchSize, {
            numWorkers,
            inferenceWorker,
          });
          const label =
            `batch ${batchSize}, ${numWorkers} workers, worker inference ${inferenceWorker}`;
          assert.deepEqual(run.batches, reference.batches, label);
          assert.deepEqual(run.skipped, reference.skipped, label);
          assert.deepEqual(run.sampled, reference.sampled, label);
          assert.deepEqual(run.embeddings, reference.embeddings, label);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: classification and multi-label results equal the in-process ones", async () => {
  const dir = await mixedDataset(300);
  try {
    const dataset = await openWebDataset(dir);
    const base = { datasetName: "mixed", maxSkippedFraction: 0.05, noCache: true };
    for (const limit of [undefined, 123]) {
      const reference = await evaluateZeroShotClassification(model, dataset, {
        ...base,
        limit,
        batchSize: 32,
        numWorkers: 0,
      });
      for (const numWorkers of [1, 2]) {
        const result = await evaluateZeroShotClassification(model, dataset, {
          ...base,
          limit,
          batchSize: 32,
          numWorkers,
        });
        assert.deepEqual(result, reference);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const multilabelDir = await mixedDataset(200, { targets: true });
  try {
    await Deno.writeTextFile(`${multilabelDir}/dataset_type.txt`, "multilabel\n");
    const multilabel = await openWebDataset(multilabelDir);
    assert.equal(multilabel.type, "multilabel");
    const options = { datasetName: "ml", maxSkippedFraction: 0.1, noCache: true };
    const a = await evaluateZeroShotClassification(model, multilabel, {
      ...options,
      numWorkers: 0,
    });
    const b = await evaluateZeroShotClassification(model, multilabel, {
      ...options,
      numWorkers: 2,
      batchSize: 9,
    });
    assert.equal(a.n_samples, 200);
    assert.deepEqual(b, a);
  } finally {
    await Deno.remove(multilabelDir, { recursive: true });
  }
});

Deno.test("pipeline: retrieval results equal the in-process ones", async () => {
  const dir = await mixedDataset(120, { captions: true });
  try {
    const dataset = await openWebDataset(dir);
    const options = { datasetName: "mixed", maxSkippedFraction: 0.05, batchSize: 16 };
    const reference = await evaluateZeroShotRetrieval(model, dataset, {
      ...options,
      numWorkers: 0,
    });
    assert.equal(reference.n_images, 122);
    assert.deepEqual(reference.skipped.map((s) => s.key), [
      "bad_png",
      "no_image",
      "bad_label", // no captions
      "bad_jpeg",
    ]);
    for (const numWorkers of [1, 3]) {
      const result = await evaluateZeroShotRetrieval(model, dataset, { ...options, numWorkers });
      assert.deepEqual(result, reference);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: a truncated shard is an error naming the shard and the offset", async () => {
  const dir = await mixedDataset(160);
  try {
    const shard = `${dir}/test/1.tar`;
    const tar = await Deno.readFile(shard);
    await Deno.writeFile(shard, tar.slice(0, 20_000));
    const dataset = await openWebDataset(dir);
    for (const numWorkers of [1, 2]) {
      await assert.rejects(
        evaluateZeroShotClassification(model, dataset, {
          datasetName: "cut",
          numWorkers,
          batchSize: 16,
          noCache: true,
        }),
        (e: unknown) =>
          e instanceof DatasetError && e.message.includes(shard) && /20000/.test(e.message),
      );
      assertNoWorkers("after a stream error");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: an abort stops the reader and the workers", async () => {
  const dataset = await openWebDataset(DATA);
  for (const inferenceWorker of [true, false]) {
    const controller = new AbortController();
    let read = 0;
    await assert.rejects(
      evaluateZeroShotClassification(model, dataset, {
        datasetName: "abort",
        batchSize: 16,
        numWorkers: 2,
        inferenceWorker,
        noCache: true,
        signal: controller.signal,
        onProgress: (progress) => {
          read = progress.samples;
          if (progress.samples === 100) controller.abort(new Error("stop here"));
        },
      }),
      /stop here/,
    );
    assert.ok(read >= 100 && read < 1000, `stopped after ${read} samples`);
    assertNoWorkers("after an abort");
  }
});

/**
 * A one-shard dataset of `rejected` samples that are refused before decoding (`kind`: no label,
 * or the image under an unknown `.image` field) followed by `good` usable samples.
 */
async function rejectedRunDataset(
  kind: "no_label" | "unknown_ext",
  rejected: number,
  good: number,
) {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/test`);
  for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
    await Deno.copyFile(`${DATA}/${file}`, `${dir}/${file}`);
  }
  const members = [];
  for (let i = 0; i < rejected; i++) {
    const key = `r${String(i).padStart(5, "0")}`;
    if (kind === "no_label") members.push({ name: `${key}.png`, data: png });
    else members.push({ name: `${key}.cls`, data: "1" }, { name: `${key}.image`, data: png });
  }
  for (let i = 0; i < good; i++) {
    members.push({ name: `g${i}.cls`, data: String(i % 10) }, { name: `g${i}.png`, data: png });
  }
  await Deno.writeFile(`${dir}/test/0.tar`, makeTar(members));
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "1\n");
  return dir;
}

/** `promise`, or a rejection naming `what` once `ms` have passed (the timer is always cleared). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("pipeline: long runs of samples refused before decoding do not stall it", async () => {
  for (const [kind, rejected] of [["no_label", 1000], ["unknown_ext", 700]] as const) {
    const dir = await rejectedRunDataset(kind, rejected, 5);
    try {
      const dataset = await openWebDataset(dir);
      for (const numWorkers of [1, 2]) {
        for (const inferenceWorker of [false, true]) {
          const label = `${kind}, ${numWorkers} workers, worker inference ${inferenceWorker}`;
          const run = await within(
            runPipeline(dataset.samples(), 4, { numWorkers, inferenceWorker }),
            60_000,
            label,
          );
          assert.equal(run.skipped.length, rejected, label);
          assert.equal(run.embeddings.length, 5, label);
          assert.deepEqual(run.batches.map((b) => b.count), [4, 1], label);
          assert.equal(run.sampled.length, rejected + 5, label);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("pipeline: an abort ends a run of refused samples at once", async () => {
  const dir = await rejectedRunDataset("no_label", 1000, 0);
  try {
    const dataset = await openWebDataset(dir);
    const controller = new AbortController();
    let skipped = 0;
    const batches = imageEmbeddingBatches(dataset.samples({ signal: controller.signal }), model, {
      batchSize: 4,
      numWorkers: 1,
      signal: controller.signal,
      extract: () => {
        throw new Error("no label");
      },
      onSkip: () => {
        if (++skipped === 300) controller.abort(new Error("stopped by the test"));
      },
    });
    await within(
      assert.rejects(async () => {
        for await (const _ of batches) { /* nothing is usable */ }
      }, /stopped by the test/),
      60_000,
      "the aborted run",
    );
    assert.ok(skipped >= 300 && skipped < 1000, `stopped after ${skipped} skips`);
    assertNoWorkers("after an abort");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: a consumer that stops early, and a limit, end the pipeline", async () => {
  const dataset = await openWebDataset(DATA);
  const batches = imageEmbeddingBatches(dataset.samples(), model, {
    batchSize: 10,
    numWorkers: 2,
    extract: () => 0,
    onSkip: () => {},
  });
  let seen = 0;
  for await (const batch of batches) {
    seen += batch.count;
    if (seen >= 30) break;
  }
  assert.equal(seen, 30);
  assertNoWorkers("after the consumer stopped");
  const limited = await runPipeline(dataset.samples({ limit: 25 }), 10, { numWorkers: 2 });
  assert.deepEqual(limited.batches.map((b) => b.count), [10, 10, 5]);
  assert.equal(limited.sampled.length, 25);
  assert.throws(
    () =>
      imageEmbeddingBatches(dataset.samples(), model, {
        batchSize: 4,
        numWorkers: -1,
        extract: () => 0,
        onSkip: () => {},
      }),
    RangeError,
  );
});

Deno.test("decode pool: pixels in the slot, reasons for bad images, closed pools refuse", async () => {
  const size = model.preprocessor.outputLength;
  const slots = new SharedArrayBuffer(3 * size * 4);
  const pool = DecodePool.create({ numWorkers: 2, settings: model.preprocessor.settings, slots });
  try {
    assert.equal(await pool.decode(jpeg, "jpg", 2), undefined);
    const expected = new Float32Array(size);
    model.preprocessor.process(await decodeNativeImage(jpeg, "jpg"), expected, 0);
    assert.deepEqual(new Float32Array(slots, 2 * size * 4, size), expected);
    assert.match((await pool.decode(png.slice(0, 40), "png", 0))!, /cannot decode png image/);
    assert.match(
      (await pool.decode(new Uint8Array(9), "webp", 1))!,
      /not a PNG, JPEG, GIF or WebP/,
    );
  } finally {
    pool.close();
  }
  await assert.rejects(pool.decode(jpeg, "jpg", 0), DecodePoolError);
  assertNoWorkers("after the pool closed");
});

Deno.test("inference worker: a graph it cannot open is a model error naming it", async () => {
  const path = `${DEMO}tiny-clip-demo/onnx/missing_model.onnx`;
  await assert.rejects(
    WorkerImageEncoder.open({
      path,
      settings: {},
      outputNames: ["image_embeds"],
      height: 32,
      width: 32,
      slots: new SharedArrayBuffer(4),
    }),
    (e: unknown) => e instanceof ModelError && e.path === path && e.message.includes(path),
  );
  assertNoWorkers("after a failed open");
});

Deno.test({
  name: "release the demo model",
  fn: () => model.release(),
  sanitizeResources: false,
});
