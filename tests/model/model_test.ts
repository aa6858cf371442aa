/**
 * The shipped demo model end to end against its PyTorch reference tensors (reference/): the
 * reader, decoder and preprocessor give the exact pixel_values, the tokenizer the exact
 * input_ids, and the ONNX towers the reference embeddings.
 */
import assert from "node:assert/strict";
import { openWebDataset } from "../../src/dataset/wds.ts";
import { ModelError } from "../../src/errors.ts";
import { decodeImage } from "../../src/image/decode/mod.ts";
import { ClipModel, loadModelConfig, loadPreprocessor } from "../../src/model/model.ts";
import { parseNpy } from "../../src/io/npy.ts";
import {
  availableExecutionProviders,
  GRAPH_OPTIMIZATION_LEVELS,
} from "../../src/model/onnx_session.ts";
import { imageField } from "../../src/dataset/webdataset.ts";

const DEMO = new URL("../../examples/demo/", import.meta.url).pathname;
const MODEL = `${DEMO}tiny-clip-demo`;
const DATA = `${DEMO}data/fashion_mnist_1k`;

async function npy(name: string) {
  return parseNpy(await Deno.readFile(`${MODEL}/reference/${name}`));
}

function normalizedRows(data: Float32Array, rows: number, dim: number): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += data[r * dim + i] ** 2;
    for (let i = 0; i < dim; i++) out[r * dim + i] = data[r * dim + i] / Math.sqrt(sum);
  }
  return out;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The preprocessed tensors of the first `count` samples of the demo dataset. */
async function firstPixelValues(count: number): Promise<Float32Array> {
  const { preprocessor } = await loadPreprocessor(MODEL, await loadModelConfig(MODEL));
  const dataset = await openWebDataset(DATA);
  const pixels = new Float32Array(count * preprocessor.outputLength);
  let i = 0;
  for await (const sample of dataset.samples({ limit: count })) {
    const image = imageField(sample)!;
    preprocessor.process(
      await decodeImage(image.bytes, image.ext),
      pixels,
      i++ * preprocessor.outputLength,
    );
  }
  return pixels;
}

Deno.test("demo: shard → decode → preprocess gives reference/pixel_values.npy bit for bit", async () => {
  const reference = await npy("pixel_values.npy");
  assert.deepEqual(reference.shape, [8, 3, 32, 32]);
  const pixels = await firstPixelValues(8);
  assert.deepEqual(Array.from(pixels), Array.from(reference.data as Float32Array));
});

Deno.test("demo: ONNX towers reproduce the PyTorch embeddings", async () => {
  const model = await ClipModel.load(MODEL);
  try {
    const pixels = await firstPixelValues(8);
    const images = await model.encodeImages(pixels, 8);
    const imageReference = await npy("image_embeds.npy");
    assert.equal(images.dim, 64);
    const imageDiff = maxAbsDifference(
      images.embeddings,
      normalizedRows(imageReference.data as Float32Array, 8, 64),
    );
    assert.ok(imageDiff < 1e-5, `image embeddings differ by ${imageDiff}`);

    const prompts = (await Deno.readTextFile(`${MODEL}/reference/prompts.txt`)).split("\n").filter(
      Boolean,
    );
    const texts = await model.encodeTexts(prompts, 4); // uneven batches on purpose
    const textReference = await npy("text_embeds.npy");
    const textDiff = maxAbsDifference(
      texts.embeddings,
      normalizedRows(textReference.data as Float32Array, 10, 64),
    );
    assert.ok(textDiff < 1e-5, `text embeddings differ by ${textDiff}`);
  } finally {
    await model.release();
  }
});

Deno.test("model: a missing folder or file is an error naming it", async () => {
  await assert.rejects(
    ClipModel.load("/nonexistent/model"),
    (e: unknown) =>
      e instanceof ModelError && /model folder not found: \/nonexistent\/model/.test(e.message),
  );
  const dir = await Deno.makeTempDir();
  try {
    for (
      const file of [
        "config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
      ]
    ) {
      await Deno.copyFile(`${MODEL}/${file}`, `${dir}/${file}`);
    }
    await assert.rejects(
      ClipModel.load(dir),
      (e: unknown) =>
        e instanceof ModelError && e.message.includes(`${dir}/onnx/vision_model.onnx`),
    );
    await Deno.mkdir(`${dir}/onnx`);
    await Deno.copyFile(`${MODEL}/onnx/vision_model.onnx`, `${dir}/onnx/vision_model.onnx`);
    // A graph with the wrong inputs: the vision graph where the text graph belongs.
    await Deno.copyFile(`${MODEL}/onnx/vision_model.onnx`, `${dir}/onnx/text_model.onnx`);
    await assert.rejects(
      ClipModel.load(dir),
      (e: unknown) =>
        e instanceof ModelError &&
        /has no 'input_ids' input; its inputs are: pixel_values/.test(e.message),
    );
    await Deno.remove(`${dir}/preprocessor_config.json`);
    await assert.rejects(
      ClipModel.load(dir),
      (e: unknown) =>
        e instanceof ModelError && e.message.includes(`${dir}/preprocessor_config.json`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model: a precision the folder lacks is an error listing the variants present", async () => {
  await assert.rejects(
    ClipModel.load(MODEL, { dtype: "fp16" }),
    (e: unknown) =>
      e instanceof ModelError &&
      e.message.endsWith(
        "has no fp16 graphs (vision_model_fp16.onnx, text_model_fp16.onnx, " +
          "model_fp16.onnx); variants present: fp32 (text_model.onnx, vision_model.onnx)",
      ),
  );
  const model = await ClipModel.load(MODEL, { dtype: "fp32" });
  try {
    assert.equal(model.family.name, "clip");
    assert.equal(model.dtype, "fp32");
    assert.equal(model.tokenizer.padding, "max_length");
    assert.equal(model.tokenizer.textCleaning, "open_clip");
  } finally {
    await model.release();
  }
});

Deno.test("session options: optimisation level, arena and threads; unavailable providers are errors", async () => {
  assert.ok(availableExecutionProviders().includes("cpu"));
  const texts = ["a photo of a dress.", "a sneaker."];
  const reference = await ClipModel.load(MODEL);
  const expected = await reference.encodeTexts(texts);
  await reference.release();
  for (const graphOptimizationLevel of GRAPH_OPTIMIZATION_LEVELS) {
    const model = await ClipModel.load(MODEL, {
      graphOptimizationLevel,
      memoryArena: false,
      threads: 1,
    });
    try {
      assert.deepEqual(model.sessionSettings, {
        threads: 1,
        executionProvider: undefined,
        graphOptimizationLevel,
        memoryArena: false,
      });
      const { embeddings } = await model.encodeTexts(texts);
      // Fusions may reorder float32 sums: equal to within rounding, not bit for bit.
      for (let i = 0; i < embeddings.length; i++) {
        assert.ok(Math.abs(embeddings[i] - expected.embeddings[i]) < 1e-5, graphOptimizationLevel);
      }
    } finally {
      await model.release();
    }
  }
  const refused = (message: RegExp) => (e: unknown) =>
    e instanceof ModelError && message.test(e.message);
  await assert.rejects(
    ClipModel.load(MODEL, { graphOptimizationLevel: "most" as "all" }),
    refused(/unknown graph optimisation level "most": disabled, basic, extended, all/),
  );
  await assert.rejects(
    ClipModel.load(MODEL, { threads: -2 }),
    refused(/intra-op threads must be an integer ≥ 0, got -2/),
  );
  await assert.rejects(
    ClipModel.load(MODEL, { executionProvider: "tpu" as "cpu" }),
    refused(/unknown execution provider "tpu"/),
  );
  if (!availableExecutionProviders().includes("cuda")) {
    await assert.rejects(
      ClipModel.load(MODEL, { executionProvider: "cuda" }),
      refused(/cuda execution provider is not available: .*libonnxruntime_providers_cuda/),
    );
  }
});
