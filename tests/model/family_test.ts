/**
 * Every model family through `ClipModel.load` and the real onnxruntime session, on fixture
 * graphs with the signatures of the transformers.js exports (tests/_onnx_fixtures.ts): what is
 * fed (ids, padding, masks, token types, dummies for a joint graph, float16), which files and
 * outputs are chosen, and the errors for graphs that do not fit.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ModelError } from "../../src/errors.ts";
import { ClipModel } from "../../src/model/model.ts";
import {
  CLIP_PREPROCESSOR,
  demoBpeTokenizer,
  fixturePixels,
  type FixtureWeights,
  fixtureWeights,
  IMAGE_SIZE,
  jointGraph,
  type ModelFolder,
  referenceImageEmbedding,
  referenceTextEmbedding,
  type TextPooling,
  textTowerGraph,
  UNIGRAM_VOCAB,
  unigramTokenizer,
  visionTowerGraph,
  WORDPIECE_VOCAB,
  wordPieceTokenizer,
  writeModelFolder,
} from "../_onnx_fixtures.ts";
import { syntheticImage } from "../_synthetic_image.ts";

const CLIP_TOKENIZER = await demoBpeTokenizer();
const CLIP_WEIGHTS = fixtureWeights(874, 11);
const CLIP_CONFIG = { model_type: "clip", text_config: { max_position_embeddings: 77 } };
const CLIP_TEXTS = ["a photo of a dress.", "a bag", "a photo of the ankle boot."];

/** Writes `folder` to a temporary directory, runs `fn` on it, and removes it. */
async function withModelFolder(
  folder: ModelFolder,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-model-" });
  try {
    await writeModelFolder(dir, folder);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Loads a model, runs `fn`, releases it. */
async function withModel(
  dir: string,
  options: Parameters<typeof ClipModel.load>[1],
  fn: (model: ClipModel) => Promise<void>,
): Promise<void> {
  const model = await ClipModel.load(dir, options);
  try {
    await fn(model);
  } finally {
    await model.release();
  }
}

function rows(data: Float32Array, dim: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < data.length; i += dim) out.push(data.subarray(i, i + dim));
  return out;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function assertRowsClose(
  actual: Float32Array,
  expected: readonly ArrayLike<number>[],
  tolerance: number,
  what: string,
): void {
  const got = rows(actual, expected[0].length);
  assert.equal(got.length, expected.length, `${what}: row count`);
  got.forEach((row, i) => {
    const difference = maxDifference(row, expected[i]);
    assert.ok(difference <= tolerance, `${what}, row ${i}: differs by ${difference}`);
  });
}

/** Reference text embeddings for the rows the tokenizer of `model` makes of `texts`. */
function expectedTexts(
  model: ClipModel,
  weights: FixtureWeights,
  pooling: TextPooling,
  texts: readonly string[],
  options: { tokenTypes?: boolean } = {},
): Float64Array[] {
  const batch = model.tokenizer.encodeBatch(texts);
  const width = batch.contextLength;
  return texts.map((_, i) =>
    referenceTextEmbedding(weights, pooling, [...batch.ids.subarray(i * width, (i + 1) * width)], {
      mask: [...batch.attentionMask.subarray(i * width, (i + 1) * width)],
      tokenTypes: options.tokenTypes,
    })
  );
}

function expectedImages(weights: FixtureWeights, pixels: Float32Array, count: number) {
  return Array.from({ length: count }, (_, i) => referenceImageEmbedding(weights, pixels, i));
}

Deno.test("clip: towers, and a joint model.onnx run per modality, give the same embeddings", async () => {
  const pixels = fixturePixels(3, 21);
  const towers: ModelFolder = {
    config: CLIP_CONFIG,
    preprocessor: CLIP_PREPROCESSOR,
    tokenizer: CLIP_TOKENIZER,
    graphs: {
      "vision_model.onnx": visionTowerGraph(CLIP_WEIGHTS, {}),
      "text_model.onnx": textTowerGraph(CLIP_WEIGHTS, {
        pooling: "causal_argmax",
        lastHiddenState: true,
      }),
    },
  };
  let towerTexts: Float32Array | undefined;
  let towerImages: Float32Array | undefined;
  await withModelFolder(towers, async (dir) => {
    await withModel(dir, {}, async (model) => {
      assert.equal(model.family.name, "clip");
      assert.equal(model.vision.joint, false);
      assert.equal(model.text.outputName, "text_embeds");
      const texts = await model.encodeTexts(CLIP_TEXTS, 2);
      const images = await model.encodeImages(pixels, 3);
      assertRowsClose(
        texts.embeddings,
        expectedTexts(model, CLIP_WEIGHTS, "causal_argmax", CLIP_TEXTS),
        1e-6,
        "tower texts",
      );
      assertRowsClose(images.embeddings, expectedImages(CLIP_WEIGHTS, pixels, 3), 1e-6, "images");
      towerTexts = texts.embeddings;
      towerImages = images.embeddings;
    });
  });
  for (const sharedBatchAxis of [false, true]) {
    const joint: ModelFolder = {
      ...towers,
      graphs: {
        "model.onnx": jointGraph(CLIP_WEIGHTS, { pooling: "causal_argmax", attentionMask: true }, {
          sharedBatchAxis,
        }),
      },
    };
    await withModelFolder(joint, async (dir) => {
      await withModel(dir, {}, async (model) => {
        assert.equal(model.vision.path, model.text.path);
        assert.ok(model.vision.joint && model.text.joint);
        const texts = await model.encodeTexts(CLIP_TEXTS, 2);
        const images = await model.encodeImages(pixels, 3);
        const what = sharedBatchAxis ? "shared batch axis" : "separate batch axes";
        assert.ok(maxDifference(texts.embeddings, towerTexts!) < 1e-6, `${what}: texts`);
        assert.ok(maxDifference(images.embeddings, towerImages!) < 1e-6, `${what}: images`);
      });
    });
  }
});

Deno.test("chinese_clip: joint graph only, WordPiece ids, token_type_ids and mask, longest padding", async () => {
  const weights = fixtureWeights(WORDPIECE_VOCAB.length, 31);
  const pixels = fixturePixels(2, 32);
  const folder: ModelFolder = {
    config: { model_type: "chinese_clip", text_config: { max_position_embeddings: 512 } },
    preprocessor: {
      feature_extractor_type: "ChineseCLIPFeatureExtractor",
      do_resize: true,
      size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
      do_center_crop: false,
      crop_size: 224,
      resample: 3,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
    },
    tokenizer: wordPieceTokenizer(52),
    graphs: {
      "model.onnx": jointGraph(weights, {
        pooling: "masked_mean",
        attentionMask: true,
        tokenTypeIds: true,
      }),
    },
  };
  await withModelFolder(folder, async (dir) => {
    await withModel(dir, {}, async (model) => {
      assert.equal(model.family.name, "chinese_clip");
      assert.ok(model.text.takesTokenTypeIds && model.text.takesAttentionMask);
      assert.equal(model.preprocessor.settings.doCenterCrop, false);
      assert.deepEqual(model.preprocessor.settings.size, { kind: "exact", height: 8, width: 8 });
      assert.equal(model.tokenizer.contextLength, 52);
      assert.equal(model.tokenizer.padding, "longest");

      const texts = ["一张猫的照片", "狗", "a photo of a cat，dogs。"];
      const batch = model.tokenizer.encodeBatch(texts);
      assert.equal(batch.contextLength, 11);
      assert.deepEqual([...batch.ids.subarray(0, 11)], [2, 5, 6, 7, 9, 10, 11, 3, 0, 0, 0]);
      assert.deepEqual([...batch.ids.subarray(11, 22)], [2, 8, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
      assert.deepEqual([...batch.ids.subarray(22)], [2, 12, 13, 14, 12, 15, 18, 16, 17, 19, 3]);
      assert.deepEqual([...batch.attentionMask.subarray(11, 22)], [
        1,
        1,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
      ]);

      const encoded = await model.encodeTexts(texts);
      const expected = expectedTexts(model, weights, "masked_mean", texts, { tokenTypes: true });
      assertRowsClose(encoded.embeddings, expected, 1e-6, "texts");
      // Without the token-type embedding the reference is measurably different: the graph
      // really read token_type_ids (zeros).
      const withoutTypes = expectedTexts(model, weights, "masked_mean", texts);
      assert.ok(maxDifference(encoded.embeddings.subarray(0, 6), withoutTypes[0]) > 1e-3);
      // The mask makes padding irrelevant: each text alone gives the same row.
      const alone = await model.encodeTexts(texts, 1);
      assert.ok(maxDifference(alone.embeddings, encoded.embeddings) < 1e-6);

      const long = model.tokenizer.encodeUnpadded("猫".repeat(60));
      assert.equal(long.length, 52);
      assert.deepEqual([long[0], long[50], long[51]], [2, 7, 3]);

      const images = await model.encodeImages(pixels, 2);
      assertRowsClose(images.embeddings, expectedImages(weights, pixels, 2), 1e-6, "images");
    });
  });
});

Deno.test("siglip: rows padded to 64 with the pad token, no mask unless the graph asks, pooler_output", async () => {
  const weights = fixtureWeights(UNIGRAM_VOCAB.length, 41);
  const pixels = fixturePixels(2, 42);
  const texts = ["a photo of a cat", "Dogs"];
  const folder = (maskedText: boolean): ModelFolder => ({
    config: { model_type: "siglip", text_config: { max_position_embeddings: 64 } },
    preprocessor: {
      image_processor_type: "SiglipImageProcessor",
      size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
    },
    tokenizer: unigramTokenizer(),
    graphs: {
      "vision_model.onnx": visionTowerGraph(weights, { outputs: ["pooler_output"] }),
      "text_model.onnx": textTowerGraph(weights, {
        pooling: maskedText ? "masked_mean" : "mean",
        attentionMask: maskedText,
        outputs: ["pooler_output"],
        lastHiddenState: true,
      }),
    },
  });
  await withModelFolder(folder(false), async (dir) => {
    await withModel(dir, {}, async (model) => {
      assert.equal(model.family.name, "siglip");
      assert.equal(model.text.outputName, "pooler_output");
      assert.equal(model.vision.outputName, "pooler_output");
      assert.equal(model.text.takesAttentionMask, false);
      const settings = model.preprocessor.settings;
      assert.equal(settings.doCenterCrop, false);
      assert.deepEqual(settings.imageMean, [0.5, 0.5, 0.5]);
      assert.deepEqual(settings.imageStd, [0.5, 0.5, 0.5]);
      assert.equal(model.tokenizer.contextLength, 64);
      assert.equal(model.tokenizer.padId, 1); // </s>
      assert.deepEqual(model.tokenizer.encodeUnpadded(texts[0]), [3, 4, 5, 3, 6, 1]);
      assert.deepEqual(model.tokenizer.encodeUnpadded(texts[1]), [7, 9, 1]);

      const encoded = await model.encodeTexts(texts);
      const padded = (ids: number[], width: number, pad: number) => [
        ...ids,
        ...Array(width - ids.length).fill(pad),
      ];
      const to64 = texts.map((t) =>
        referenceTextEmbedding(weights, "mean", padded(model.tokenizer.encodeUnpadded(t), 64, 1))
      );
      assertRowsClose(encoded.embeddings, to64, 1e-6, "texts padded to 64 with </s>");
      // The mistakes this guards against give other embeddings on this graph.
      const toLongest = referenceTextEmbedding(weights, "mean", padded([7, 9, 1], 6, 1));
      const withZeros = referenceTextEmbedding(weights, "mean", padded([7, 9, 1], 64, 0));
      assert.ok(maxDifference(encoded.embeddings.subarray(6), toLongest) > 1e-3);
      assert.ok(maxDifference(encoded.embeddings.subarray(6), withZeros) > 1e-3);

      const images = await model.encodeImages(pixels, 2);
      assertRowsClose(images.embeddings, expectedImages(weights, pixels, 2), 1e-6, "images");
    });
  });
  await withModelFolder(folder(true), async (dir) => {
    await withModel(dir, {}, async (model) => {
      assert.equal(model.text.takesAttentionMask, true);
      const encoded = await model.encodeTexts(texts);
      assertRowsClose(
        encoded.embeddings,
        expectedTexts(model, weights, "masked_mean", texts),
        1e-6,
        "masked texts",
      );
    });
  });
});

Deno.test("jina_clip: its own preprocessor keys, open_clip's crop rounding, outputs by name", async () => {
  const weights = fixtureWeights(WORDPIECE_VOCAB.length, 51);
  const pixels = fixturePixels(2, 52);
  const folder: ModelFolder = {
    config: { model_type: "jina_clip", vision_config: { image_size: IMAGE_SIZE } },
    preprocessor: {
      image_processor_type: "JinaCLIPImageProcessor",
      size: IMAGE_SIZE,
      resize_mode: "shortest",
      interpolation: "bicubic",
      fill_color: 0,
      mean: [0.48145466, 0.4578275, 0.40821073],
      std: [0.26862954, 0.26130258, 0.27577711],
    },
    tokenizer: wordPieceTokenizer(512),
    graphs: {
      "vision_model.onnx": visionTowerGraph(weights, {
        outputs: ["image_embeddings", "l2norm_image_embeddings"],
      }),
      "text_model.onnx": textTowerGraph(weights, {
        pooling: "masked_mean",
        attentionMask: true,
        outputs: ["text_embeddings", "l2norm_text_embeddings"],
      }),
    },
  };
  await withModelFolder(folder, async (dir) => {
    await withModel(dir, {}, async (model) => {
      assert.equal(model.family.name, "jina_clip");
      assert.equal(model.text.outputName, "text_embeddings");
      assert.equal(model.vision.outputName, "image_embeddings");
      const settings = model.preprocessor.settings;
      assert.equal(settings.cropRounding, "round");
      assert.deepEqual(settings.size, { kind: "shortestEdge", shortestEdge: IMAGE_SIZE });
      assert.deepEqual(settings.cropSize, { height: IMAGE_SIZE, width: IMAGE_SIZE });
      assert.equal(settings.resample, 3);
      assert.equal(model.tokenizer.contextLength, 512);
      assert.equal(model.tokenizer.padding, "longest");
      const texts = ["a photo of a cat", "dogs"];
      assert.equal(model.tokenizer.encodeBatch(texts).contextLength, 7);
      const encoded = await model.encodeTexts(texts);
      assertRowsClose(
        encoded.embeddings,
        expectedTexts(model, weights, "masked_mean", texts),
        1e-6,
        "texts",
      );
      const images = await model.encodeImages(pixels, 2);
      assertRowsClose(images.embeddings, expectedImages(weights, pixels, 2), 1e-6, "images");
    });
    // The caller's crop rounding still wins.
    await withModel(dir, { cropRounding: "floor" }, (model) => {
      assert.equal(model.preprocessor.settings.cropRounding, "floor");
      return Promise.resolve();
    });
  });
});

Deno.test("mobileclip: CLIP tokenizer and towers, normalisation off as its config says", async () => {
  const folder: ModelFolder = {
    config: { model_type: "mobileclip", text_config: { max_position_embeddings: 77 } },
    preprocessor: {
      feature_extractor_type: "CLIPFeatureExtractor",
      do_resize: true,
      size: IMAGE_SIZE,
      resample: 2,
      do_center_crop: true,
      crop_size: IMAGE_SIZE,
      do_normalize: false,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
    },
    tokenizer: CLIP_TOKENIZER,
    graphs: {
      "vision_model.onnx": visionTowerGraph(CLIP_WEIGHTS, {}),
      "text_model.onnx": textTowerGraph(CLIP_WEIGHTS, { pooling: "causal_argmax" }),
    },
  };
  await withModelFolder(folder, async (dir) => {
    await withModel(dir, {}, async (model) => {
      assert.equal(model.family.name, "mobileclip");
      assert.equal(model.tokenizer.textCleaning, "open_clip");
      assert.equal(model.preprocessor.settings.doNormalize, false);
      // Without normalisation every value is byte / 255.
      const pixels = new Float32Array(model.preprocessor.outputLength);
      model.preprocessor.process(syntheticImage(IMAGE_SIZE, IMAGE_SIZE, 3), pixels, 0);
      assert.ok(pixels.every((v) => v >= 0 && v <= 1 && Number.isInteger(Math.round(v * 255))));
      const images = await model.encodeImages(pixels, 1);
      assertRowsClose(images.embeddings, expectedImages(CLIP_WEIGHTS, pixels, 1), 1e-6, "image");
      const texts = await model.encodeTexts(CLIP_TEXTS);
      assertRowsClose(
        texts.embeddings,
        expectedTexts(model, CLIP_WEIGHTS, "causal_argmax", CLIP_TEXTS),
        1e-6,
        "texts",
      );
    });
  });
});

Deno.test("unknown model_type: the generic layout when the graphs fit, else an error naming what was found", async () => {
  const weights = fixtureWeights(874, 61);
  const folder = (idsName: string): ModelFolder => ({
    config: { model_type: "my_clip", text_config: { max_position_embeddings: 77 } },
    preprocessor: CLIP_PREPROCESSOR,
    tokenizer: CLIP_TOKENIZER,
    graphs: {
      "vision_model.onnx": visionTowerGraph(weights, { outputs: ["pooler_output"] }),
      "text_model.onnx": textTowerGraph(weights, {
        pooling: "causal_argmax",
        outputs: ["text_embeddings"],
        idsName,
      }),
    },
  });
  await withModelFolder(folder("input_ids"), async (dir) => {
    await withModel(dir, {}, async (model) => {
      assert.equal(model.family.name, "generic");
      assert.equal(model.family.modelType, "my_clip");
      assert.equal(model.tokenizer.textCleaning, "none");
      const texts = await model.encodeTexts(CLIP_TEXTS);
      assertRowsClose(
        texts.embeddings,
        expectedTexts(model, weights, "causal_argmax", CLIP_TEXTS),
        1e-6,
        "texts",
      );
    });
  });
  await withModelFolder(folder("text_ids"), async (dir) => {
    await assert.rejects(
      ClipModel.load(dir),
      (e: unknown) =>
        e instanceof ModelError && e.message.includes(`"my_clip"`) &&
        e.message.includes(`${dir}/onnx/text_model.onnx has no 'input_ids' input`) &&
        e.message.includes("its inputs are: text_ids"),
    );
  });
});

Deno.test("dtype: picks the transformers.js file variant; a missing one lists those present", async () => {
  const fp32 = fixtureWeights(874, 71);
  const quantized = fixtureWeights(874, 72); // different weights: proves which file ran
  const pixels = fixturePixels(2, 73);
  const folder: ModelFolder = {
    config: CLIP_CONFIG,
    preprocessor: CLIP_PREPROCESSOR,
    tokenizer: CLIP_TOKENIZER,
    graphs: {
      "vision_model.onnx": visionTowerGraph(fp32, {}),
      "text_model.onnx": textTowerGraph(fp32, { pooling: "causal_argmax" }),
      "vision_model_quantized.onnx": visionTowerGraph(quantized, {}),
      "text_model_quantized.onnx": textTowerGraph(quantized, { pooling: "causal_argmax" }),
      "vision_model_fp16.onnx": {
        graph: visionTowerGraph(fp32, { floatType: "float16" }),
        externalData: true,
      },
      "text_model_fp16.onnx": textTowerGraph(fp32, {
        pooling: "causal_argmax",
        floatType: "float16",
        idsType: "int32",
      }),
    },
  };
  await withModelFolder(folder, async (dir) => {
    await withModel(dir, { dtype: "q8" }, async (model) => {
      assert.equal(model.dtype, "q8");
      assert.ok(model.vision.path.endsWith("/onnx/vision_model_quantized.onnx"));
      const images = await model.encodeImages(pixels, 2);
      assertRowsClose(images.embeddings, expectedImages(quantized, pixels, 2), 1e-6, "q8 images");
      const texts = await model.encodeTexts(CLIP_TEXTS);
      const expected = expectedTexts(model, quantized, "causal_argmax", CLIP_TEXTS);
      assertRowsClose(texts.embeddings, expected, 1e-6, "q8 texts");
    });
    await Deno.stat(join(dir, "onnx", "vision_model_fp16.onnx_data")); // weights kept outside
    await withModel(dir, { dtype: "fp16" }, async (model) => {
      assert.equal(model.vision.inputType, "float16");
      assert.equal(model.text.inputTypes.get("input_ids"), "int32");
      const images = await model.encodeImages(pixels, 2);
      assertRowsClose(images.embeddings, expectedImages(fp32, pixels, 2), 3e-3, "fp16 images");
      const texts = await model.encodeTexts(CLIP_TEXTS);
      const expected = expectedTexts(model, fp32, "causal_argmax", CLIP_TEXTS);
      assertRowsClose(texts.embeddings, expected, 3e-3, "fp16 texts");
    });
    await assert.rejects(
      ClipModel.load(dir, { dtype: "int8" }),
      (e: unknown) =>
        e instanceof ModelError && e.message.includes("has no int8 graphs") &&
        e.message.includes(
          "variants present: fp32 (text_model.onnx, vision_model.onnx), " +
            "fp16 (text_model_fp16.onnx, vision_model_fp16.onnx), " +
            "q8 (text_model_quantized.onnx, vision_model_quantized.onnx)",
        ),
    );
  });
});

Deno.test("float16 joint graph: float16 pixels in, float16 embeddings out, converted at the boundary", async () => {
  const weights = fixtureWeights(874, 81);
  const pixels = fixturePixels(3, 82);
  const folder: ModelFolder = {
    config: CLIP_CONFIG,
    preprocessor: CLIP_PREPROCESSOR,
    tokenizer: CLIP_TOKENIZER,
    graphs: {
      "model_fp16.onnx": jointGraph(weights, { pooling: "causal_argmax" }, {
        floatType: "float16",
        sharedBatchAxis: true,
      }),
    },
  };
  await withModelFolder(folder, async (dir) => {
    await withModel(dir, { dtype: "fp16" }, async (model) => {
      assert.ok(model.vision.joint);
      const images = await model.encodeImages(pixels, 3);
      assertRowsClose(images.embeddings, expectedImages(weights, pixels, 3), 3e-3, "images");
      const texts = await model.encodeTexts(CLIP_TEXTS);
      const expected = expectedTexts(model, weights, "causal_argmax", CLIP_TEXTS);
      assertRowsClose(texts.embeddings, expected, 3e-3, "texts");
    });
  });
});

Deno.test("graphs without the expected inputs or outputs are ModelErrors naming what they have", async () => {
  const weights = fixtureWeights(874, 91);
  const base: ModelFolder = {
    config: CLIP_CONFIG,
    preprocessor: CLIP_PREPROCESSOR,
    tokenizer: CLIP_TOKENIZER,
    graphs: {},
  };
  const text = textTowerGraph(weights, { pooling: "causal_argmax" });
  const extraInput = textTowerGraph(weights, { pooling: "causal_argmax" });
  extraInput.input("position_ids", "int64", ["batch_size", "sequence_length"]);
  const cases: [ModelFolder["graphs"], RegExp][] = [
    [
      {
        "vision_model.onnx": visionTowerGraph(weights, { pixelName: "image" }),
        "text_model.onnx": text,
      },
      /vision_model\.onnx has no 'pixel_values' input; its inputs are: image$/,
    ],
    [
      { "vision_model.onnx": visionTowerGraph(weights, {}), "text_model.onnx": extraInput },
      /needs inputs clipbench cannot supply \(position_ids\); its inputs are: input_ids, position_ids/,
    ],
    [
      {
        "vision_model.onnx": visionTowerGraph(weights, {}),
        "text_model.onnx": textTowerGraph(weights, {
          pooling: "causal_argmax",
          outputs: ["sentence_embedding"],
        }),
      },
      /text_model\.onnx has no 'text_embeds' output; its outputs are: sentence_embedding/,
    ],
    [
      { "vision_model.onnx": visionTowerGraph(weights, {}) },
      /model file not found: .*\/onnx\/text_model\.onnx \(nor a joint .*\/onnx\/model\.onnx\)/,
    ],
  ];
  for (const [graphs, message] of cases) {
    await withModelFolder({ ...base, graphs }, async (dir) => {
      await assert.rejects(
        ClipModel.load(dir),
        (e: unknown) => e instanceof ModelError && message.test(e.message),
        message.source,
      );
    });
  }
  // A file onnxruntime cannot parse is an error naming it.
  await withModelFolder({ ...base, graphs: {} }, async (dir) => {
    await Deno.writeTextFile(join(dir, "onnx", "model.onnx"), "not a protobuf");
    await assert.rejects(
      ClipModel.load(dir),
      (e: unknown) =>
        e instanceof ModelError &&
        e.message.startsWith(`cannot load ONNX graph ${dir}/onnx/model.onnx`),
    );
  });
});
