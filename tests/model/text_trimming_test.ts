/**
 * Issue 13, item 3: CLIP text batches run at their longest real row, sorted by length, and give
 * the embeddings of full 77-position rows in the callers' order — on a converted generated
 * checkpoint and the kit's converted checkpoints; families and graphs that must not be trimmed
 * (SigLIP, MobileCLIP, the demo's and any graph with a fixed length) get their full rows; a tokenizer that pads to the longest row
 * (Chinese-CLIP) is sorted too and still gives each text its own embedding.
 *
 * The reference is the same text graph opened again without trimming, fed the tokenizer's padded
 * rows in the callers' order and batching.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertCheckpoint } from "../../src/convert/convert.ts";
import { TextTower } from "../../src/model/encoder.ts";
import { ClipModel } from "../../src/model/model.ts";
import {
  CLIP_PREPROCESSOR,
  demoBpeTokenizer,
  fixtureWeights,
  IMAGE_SIZE,
  type ModelFolder,
  referenceTextEmbedding,
  textTowerGraph,
  UNIGRAM_VOCAB,
  unigramTokenizer,
  visionTowerGraph,
  WORDPIECE_VOCAB,
  wordPieceTokenizer,
  writeModelFolder,
} from "../_onnx_fixtures.ts";
import { DEMO_MODEL } from "../_shard_fixtures.ts";
import { inTempDir, tinyCheckpoint } from "../convert/_generated_checkpoint.ts";
import { KIT_DIR, kitTest } from "../_kit.ts";

/** Texts of many lengths, out of length order: empty, one word, captions, one cut at 77. */
const TEXTS = [
  "a photo of a shoe.",
  "",
  "a close-up photo of the ankle boot on a wooden table, next to a pair of socks.",
  "bag",
  "a very long caption about a dress ".repeat(20),
  "a photo of a dress.",
  "two kids wearing striped shirts in the park at night.",
  "sandal",
  "a bright photo of a pullover.",
  "it",
  "a blurry photo of the trouser.",
];

/** Embeddings of `texts` through `path`'s text graph untrimmed, in order, `batchSize` at a time. */
async function untrimmed(model: ClipModel, texts: readonly string[], batchSize: number) {
  const tower = await TextTower.create(model.text.path, {}, {
    outputNames: model.family.textOutputs,
    imageSize: { height: model.preprocessor.height, width: model.preprocessor.width },
  });
  try {
    assert.equal(tower.trimsPadding, false);
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = model.tokenizer.encodeBatch(texts.slice(start, start + batchSize));
      out.push((await tower.encode(batch)).embeddings);
    }
    const all = new Float32Array(out.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of out) {
      all.set(part, offset);
      offset += part.length;
    }
    return all;
  } finally {
    await tower.release();
  }
}

/** The smallest cosine between matching rows (the rows are unit vectors). */
function smallestRowCosine(a: Float32Array, b: Float32Array, dim: number): number {
  assert.equal(a.length, b.length);
  let smallest = Infinity;
  for (let start = 0; start < a.length; start += dim) {
    let dot = 0, na = 0, nb = 0;
    for (let i = start; i < start + dim; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    smallest = Math.min(smallest, dot / Math.sqrt(na * nb));
  }
  return smallest;
}

/**
 * Asserts that `model` trims and sorts, and that its embeddings equal the untrimmed ones row for
 * row: bit for bit where `bitIdentical`, else within 1e-6 cosine per row.
 */
async function assertTrimmedEqualsUntrimmed(
  model: ClipModel,
  texts: readonly string[],
  batchSize: number,
): Promise<void> {
  assert.equal(model.text.trimsPadding, true);
  assert.equal(model.textBatchesFollowLength, true);
  const { embeddings, dim } = await model.encodeTexts(texts, batchSize);
  const reference = await untrimmed(model, texts, batchSize);
  // Each row is a different text: a row put back in the wrong place cannot match.
  const cosine = smallestRowCosine(embeddings, reference, dim);
  assert.ok(cosine >= 1 - 1e-6, `${model.name}: a row's cosine to its untrimmed row is ${cosine}`);
  assert.deepEqual(embeddings, reference, `${model.name}: not bit-identical`);
}

Deno.test("demo model: its text graph fixes 77 positions, so its rows stay whole and in order", async () => {
  const model = await ClipModel.load(DEMO_MODEL);
  try {
    assert.equal(model.family.trimsTextPadding, true);
    assert.equal(model.text.contextLength, 77);
    assert.equal(model.text.trimsPadding, false);
    assert.equal(model.textBatchesFollowLength, false);
    const lengths = TEXTS.map((text) => model.tokenizer.encodeUnpadded(text).length);
    assert.ok(Math.min(...lengths) === 2 && Math.max(...lengths) === 77);
    const { embeddings } = await model.encodeTexts(TEXTS, 3);
    assert.deepEqual(embeddings, await untrimmed(model, TEXTS, 3));
  } finally {
    await model.release();
  }
});

Deno.test("converted checkpoint: trimmed, length-sorted batches give the untrimmed embeddings", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = await tinyCheckpoint(join(dir, "checkpoint"));
    await convertCheckpoint(checkpoint, join(dir, "converted"));
    const model = await ClipModel.load(join(dir, "converted"));
    try {
      assert.equal(model.text.contextLength, undefined);
      const lengths = TEXTS.map((text) => model.tokenizer.encodeUnpadded(text).length);
      assert.ok(Math.min(...lengths) === 2 && Math.max(...lengths) === 77);
      for (const batchSize of [1, 3, 4, 128]) {
        await assertTrimmedEqualsUntrimmed(model, TEXTS, batchSize);
      }
    } finally {
      await model.release();
    }
  });
});

// The kit's trained model in both checkpoint layouts (open_clip's has no tokenizer of its own).
for (const name of ["tiny-clip-fashion-hf", "tiny-clip-fashion-openclip"]) {
  kitTest(
    `${name} converted: trimmed, length-sorted batches give the untrimmed embeddings`,
    async () => {
      await inTempDir(async (dir) => {
        await convertCheckpoint(join(KIT_DIR, "checkpoints", name), join(dir, name));
        const model = await ClipModel.load(join(dir, name), {
          tokenizerDir: join(KIT_DIR, "models", "tiny-clip-fashion"),
        });
        try {
          const captions = Array.from(
            { length: 40 },
            (_, i) => `${TEXTS[i % TEXTS.length]} ${"number ".repeat(i % 7)}${i}`,
          );
          await assertTrimmedEqualsUntrimmed(model, captions, 16);
        } finally {
          await model.release();
        }
      });
    },
  );
}

/** Writes `folder` to a temporary directory, loads it, runs `fn`, and cleans up. */
async function withFixtureModel(
  folder: ModelFolder,
  fn: (model: ClipModel) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-trim-" });
  try {
    const model = await ClipModel.load(await writeModelFolder(dir, folder));
    try {
      await fn(model);
    } finally {
      await model.release();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function assertRowsMatch(actual: Float32Array, expected: readonly Float64Array[], what: string) {
  const dim = expected[0].length;
  assert.equal(actual.length, expected.length * dim, `${what}: rows`);
  expected.forEach((row, r) => {
    for (let i = 0; i < dim; i++) {
      const difference = Math.abs(actual[r * dim + i] - row[i]);
      assert.ok(difference <= 1e-6, `${what}, row ${r}: differs by ${difference}`);
    }
  });
}

const CLIP_WEIGHTS = fixtureWeights(874, 51);

Deno.test("no trimming: MobileCLIP, and a CLIP graph whose sequence axis is fixed, get full rows", async () => {
  const tokenizer = await demoBpeTokenizer();
  const cases = [
    { modelType: "mobileclip", sequenceAxis: "sequence_length" as const },
    { modelType: "clip", sequenceAxis: 77 },
  ];
  for (const { modelType, sequenceAxis } of cases) {
    const folder: ModelFolder = {
      config: { model_type: modelType, text_config: { max_position_embeddings: 77 } },
      preprocessor: CLIP_PREPROCESSOR,
      tokenizer,
      graphs: {
        "vision_model.onnx": visionTowerGraph(CLIP_WEIGHTS, {}),
        // Mean pooling: any trimming would change every embedding.
        "text_model.onnx": textTowerGraph(CLIP_WEIGHTS, { pooling: "mean", sequenceAxis }),
      },
    };
    await withFixtureModel(folder, async (model) => {
      const what = `${modelType}, sequence axis ${sequenceAxis}`;
      assert.equal(model.text.trimsPadding, false, what);
      assert.equal(model.textBatchesFollowLength, false, what);
      const { embeddings } = await model.encodeTexts(TEXTS, 3);
      const full = model.tokenizer.encodeBatch(TEXTS);
      const expected = TEXTS.map((_, r) =>
        referenceTextEmbedding(CLIP_WEIGHTS, "mean", [...full.ids.subarray(r * 77, (r + 1) * 77)])
      );
      assertRowsMatch(embeddings, expected, what);
    });
  }
});

Deno.test("no trimming: SigLIP rows stay padded to 64", async () => {
  const weights = fixtureWeights(UNIGRAM_VOCAB.length, 52);
  const texts = ["a photo of a cat", "dogs", "a photo of a dog and a cat", "cat"];
  const folder: ModelFolder = {
    config: { model_type: "siglip", text_config: { max_position_embeddings: 64 } },
    preprocessor: {
      image_processor_type: "SiglipImageProcessor",
      size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
    },
    tokenizer: unigramTokenizer(),
    graphs: {
      "vision_model.onnx": visionTowerGraph(weights, {}),
      "text_model.onnx": textTowerGraph(weights, { pooling: "mean" }),
    },
  };
  await withFixtureModel(folder, async (model) => {
    assert.equal(model.text.contextLength, undefined);
    assert.equal(model.text.trimsPadding, false);
    assert.equal(model.textBatchesFollowLength, false);
    const { embeddings } = await model.encodeTexts(texts, 2);
    const expected = texts.map((text) => {
      const ids = model.tokenizer.encodeUnpadded(text);
      return referenceTextEmbedding(weights, "mean", [...ids, ...Array(64 - ids.length).fill(1)]);
    });
    assertRowsMatch(embeddings, expected, "siglip");
  });
});

Deno.test("longest padding (Chinese-CLIP): length-sorted batches, each text its own embedding in order", async () => {
  const weights = fixtureWeights(WORDPIECE_VOCAB.length, 53);
  const texts = ["狗", "a photo of a cat，dogs。", "一张猫的照片", "猫", "一张狗的照片", "dogs"];
  const folder: ModelFolder = {
    config: { model_type: "chinese_clip", text_config: { max_position_embeddings: 512 } },
    preprocessor: CLIP_PREPROCESSOR,
    tokenizer: wordPieceTokenizer(52),
    graphs: {
      "vision_model.onnx": visionTowerGraph(weights, {}),
      "text_model.onnx": textTowerGraph(weights, { pooling: "masked_mean", attentionMask: true }),
    },
  };
  await withFixtureModel(folder, async (model) => {
    assert.equal(model.text.trimsPadding, false);
    assert.equal(model.textBatchesFollowLength, true);
    const { embeddings } = await model.encodeTexts(texts, 2);
    const expected = texts.map((text) =>
      referenceTextEmbedding(weights, "masked_mean", model.tokenizer.encodeUnpadded(text))
    );
    assertRowsMatch(embeddings, expected, "chinese_clip");
  });
});
