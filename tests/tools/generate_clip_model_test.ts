/**
 * The CLIP model generator (tools/generate_clip_model.ts): a generated folder loads with
 * `ClipModel.load` and encodes, its graphs behave as CLIP's towers do (causal text attention
 * pooled at the end token, class-token vision pooling), the same seed writes the same bytes,
 * and bad shapes and flags are refused.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { ClipModel } from "../../src/model/model.ts";
import {
  type ClipShape,
  towerParameters,
  validateClipShape,
} from "../../src/convert/graph/clip_shape.ts";
import { CLIP_PRESETS } from "../../tools/clip_model/presets.ts";
import { generateClipModel, parseGeneratorArgs } from "../../tools/generate_clip_model.ts";

const TINY = CLIP_PRESETS.tiny;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-generate-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function folderFiles(dir: string, prefix = ""): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory) {
      for (const [name, bytes] of await folderFiles(dir, path)) files.set(name, bytes);
    } else {
      files.set(path, await Deno.readFile(join(dir, path)));
    }
  }
  return files;
}

function rowNorms(data: Float32Array, dim: number): number[] {
  const norms = [];
  for (let r = 0; r < data.length / dim; r++) {
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += data[r * dim + i] ** 2;
    norms.push(Math.sqrt(sum));
  }
  return norms;
}

Deno.test("generated tiny model loads with ClipModel.load and encodes texts and images", async () => {
  await withTempDir(async (dir) => {
    const generated = await generateClipModel({ out: dir, shape: TINY, seed: 3, label: "tiny" });
    assert.deepEqual(generated.parameters, towerParameters(TINY));
    const model = await ClipModel.load(dir);
    try {
      assert.equal(model.family.name, "clip");
      assert.equal(model.preprocessor.height, 224);
      assert.equal(model.preprocessor.width, 224);
      assert.equal(model.tokenizer.contextLength, 77);

      const pixels = new Float32Array(3 * model.preprocessor.outputLength);
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37) * 1.5;
      const images = await model.encodeImages(pixels, 3);
      assert.equal(images.dim, TINY.embedDim);
      assert.equal(images.embeddings.length, 3 * TINY.embedDim);
      for (const norm of rowNorms(images.embeddings, images.dim)) {
        assert.ok(Math.abs(norm - 1) < 1e-5, `image embedding norm ${norm}`);
      }

      const texts = await model.encodeTexts([
        "a photo of a dress.",
        "a coat",
        "a photo of a dress.",
      ]);
      assert.equal(texts.dim, TINY.embedDim);
      assert.equal(texts.embeddings.length, 3 * TINY.embedDim);
      const [first, second, third] = [0, 1, 2].map((r) =>
        Array.from(texts.embeddings.subarray(r * texts.dim, (r + 1) * texts.dim))
      );
      assert.deepEqual(first, third);
      assert.notDeepEqual(first, second);
    } finally {
      await model.release();
    }
  });
});

Deno.test("generated text tower: causal attention pooled at the end token", async () => {
  await withTempDir(async (dir) => {
    await generateClipModel({ out: dir, shape: TINY, seed: 5 });
    const session = await ort.InferenceSession.create(join(dir, "onnx", "text_model.onnx"));
    const run = async (ids: number[]) => {
      const tensor = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
      const out = await session.run({ input_ids: tensor });
      return Array.from(out.text_embeds.data as Float32Array);
    };
    try {
      // <|startoftext|> tokens <|endoftext|>, then different ids after the end token.
      const prefix = [872, 320, 516, 512, 873];
      const a = await run([...prefix, 0, 0, 0]);
      const b = await run([...prefix, 5, 600, 17]);
      assert.deepEqual(a, b, "tokens after the end token changed the embedding");
      // A token before the end token does change it.
      const c = await run([872, 320, 517, 512, 873, 0, 0, 0]);
      assert.notDeepEqual(a, c);
      // The end token may sit anywhere: the pooled position moves with it.
      const d = await run([872, 320, 873, 0, 0, 0, 0, 0]);
      assert.notDeepEqual(a, d);
    } finally {
      await session.release();
    }
  });
});

Deno.test("generated vision tower: images in a batch are encoded independently", async () => {
  await withTempDir(async (dir) => {
    await generateClipModel({ out: dir, shape: TINY, seed: 6 });
    const model = await ClipModel.load(dir);
    try {
      const size = model.preprocessor.outputLength;
      const pixels = new Float32Array(2 * size);
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.cos(i * 0.11);
      const both = await model.encodeImages(pixels, 2);
      const second = await model.encodeImages(pixels.slice(size), 1);
      const dim = both.dim;
      const fromBatch = both.embeddings.subarray(dim, 2 * dim);
      for (let i = 0; i < dim; i++) {
        assert.ok(Math.abs(fromBatch[i] - second.embeddings[i]) < 1e-5);
      }
    } finally {
      await model.release();
    }
  });
});

Deno.test("generator: the same seed writes the same bytes, another seed other weights", async () => {
  await withTempDir(async (dir) => {
    const [a, b, c] = ["a", "b", "c"].map((name) => join(dir, name));
    await generateClipModel({ out: a, shape: TINY, seed: 11 });
    await generateClipModel({ out: b, shape: TINY, seed: 11 });
    await generateClipModel({ out: c, shape: TINY, seed: 12 });
    const filesA = await folderFiles(a);
    const filesB = await folderFiles(b);
    const filesC = await folderFiles(c);
    assert.deepEqual([...filesA.keys()].sort(), [
      "config.json",
      "onnx/text_model.onnx",
      "onnx/vision_model.onnx",
      "preprocessor_config.json",
      "special_tokens_map.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    for (const [name, bytes] of filesA) assert.deepEqual(bytes, filesB.get(name), name);
    assert.notDeepEqual(filesA.get("onnx/vision_model.onnx"), filesC.get("onnx/vision_model.onnx"));
    assert.notDeepEqual(filesA.get("onnx/text_model.onnx"), filesC.get("onnx/text_model.onnx"));
    assert.equal(
      filesA.get("onnx/vision_model.onnx")!.length,
      filesC.get("onnx/vision_model.onnx")!.length,
    );
  });
});

Deno.test("generator: config.json and the tokenizer files follow the shape", async () => {
  await withTempDir(async (dir) => {
    const shape: ClipShape = {
      ...TINY,
      text: { ...TINY.text, contextLength: 40, layers: 1 },
      activation: "gelu",
    };
    await generateClipModel({ out: dir, shape, seed: 2 });
    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    assert.equal(config.model_type, "clip");
    assert.equal(config.text_config.vocab_size, 1024);
    assert.equal(config.text_config.max_position_embeddings, 40);
    assert.equal(config.text_config.num_hidden_layers, 1);
    assert.equal(config.text_config.hidden_act, "gelu");
    assert.equal(config.vision_config.patch_size, 32);
    const tokenizerConfig = JSON.parse(await Deno.readTextFile(join(dir, "tokenizer_config.json")));
    assert.equal(tokenizerConfig.model_max_length, 40);
    const model = await ClipModel.load(dir);
    try {
      assert.equal(model.tokenizer.contextLength, 40);
      const texts = await model.encodeTexts(["a photo of a bag."]);
      assert.equal(texts.dim, TINY.embedDim);
    } finally {
      await model.release();
    }
  });
});

Deno.test("ViT-B/32 preset has OpenAI's sizes and parameter counts", () => {
  const shape = CLIP_PRESETS["vit-b-32"];
  assert.deepEqual(shape.vision, {
    imageSize: 224,
    patchSize: 32,
    width: 768,
    layers: 12,
    heads: 12,
    intermediate: 3072,
  });
  assert.deepEqual(shape.text, {
    contextLength: 77,
    vocabSize: 49408,
    width: 512,
    layers: 12,
    heads: 8,
    intermediate: 2048,
  });
  // Hugging Face's openai/clip-vit-base-patch32: 87,849,216 vision and 63,428,096 text weights
  // (each tower with its projection).
  assert.deepEqual(towerParameters(shape), { vision: 87_849_216, text: 63_428_096 });
});

Deno.test("shape validation names the field at fault", () => {
  assert.throws(
    () => validateClipShape({ ...TINY, vision: { ...TINY.vision, heads: 3 } }),
    /vision.heads \(3\) must divide vision.width \(32\)/,
  );
  assert.throws(
    () => validateClipShape({ ...TINY, vision: { ...TINY.vision, patchSize: 30 } }),
    /vision.patchSize \(30\) must divide vision.imageSize \(224\)/,
  );
  assert.throws(
    () => validateClipShape({ ...TINY, text: { ...TINY.text, vocabSize: 500 } }, 874),
    /text.vocabSize \(500\) must cover the tokenizer's 874 ids/,
  );
  assert.throws(
    () => validateClipShape({ ...TINY, embedDim: 0 }),
    /embedDim must be a positive integer, got 0/,
  );
});

Deno.test("generator flags: preset, overrides and errors", () => {
  const options = parseGeneratorArgs([
    "--preset",
    "vit-b-32",
    "--seed",
    "7",
    "--out",
    "x",
    "--text-layers",
    "3",
    "--image-size",
    "96",
  ]);
  assert.equal(options.seed, 7);
  assert.equal(options.shape.text.layers, 3);
  assert.equal(options.shape.vision.imageSize, 96);
  assert.equal(options.shape.vision.width, 768);
  assert.equal(options.label, "vit-b-32 (modified)");
  assert.equal(parseGeneratorArgs(["--out", "x"]).label, "tiny");
  assert.throws(() => parseGeneratorArgs(["--preset", "vit-h-14", "--out", "x"]), /--preset/);
  assert.throws(() => parseGeneratorArgs(["--preset", "tiny"]), /--out DIR is required/);
  assert.throws(() => parseGeneratorArgs(["--out", "x", "--text-layers", "2.5"]), /--text-layers/);
});
