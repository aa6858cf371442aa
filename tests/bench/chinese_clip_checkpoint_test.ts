/**
 * The generated Chinese-CLIP checkpoint: its tiny preset has exactly the tensor names, shapes and
 * order of the kit's `chinese-clip-tiny-random` (made by transformers 4.40's `save_pretrained`
 * with the same sizes), the ViT-L/14-336 preset has the tensor count and parameter count of
 * evalscope's example model, the vocabulary is distinct tokens at BERT-Chinese's special ids,
 * and the folder converts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../src/checkpoint/safetensors.ts";
import { convertCheckpoint } from "../../src/convert/convert.ts";
import {
  bertVocabulary,
  CHINESE_CLIP_PRESETS,
  chineseClipTensors,
  writeChineseClipCheckpoint,
} from "../../bench/chinese_clip_checkpoint.ts";
import { KIT_DIR, kitTest } from "../_kit.ts";

kitTest(
  "generated Chinese-CLIP: the tiny preset is laid out as transformers writes it",
  async () => {
    const kit = await readSafetensors(
      join(KIT_DIR, "checkpoints", "chinese-clip-tiny-random", "model.safetensors"),
    );
    const generated = chineseClipTensors(CHINESE_CLIP_PRESETS.tiny, 0);
    assert.deepEqual(
      generated.map((t) => `${t.name} [${t.shape.join(", ")}]`),
      kit.tensors.map((t) => `${t.name} [${t.shape.join(", ")}]`),
    );
  },
);

Deno.test("generated Chinese-CLIP: ViT-L/14-336 has the example model's tensors", () => {
  const tensors = chineseClipTensors(CHINESE_CLIP_PRESETS["vit-l-14-336"], 0);
  // 1 logit scale; text: 5 embedding tensors, 16 a layer × 12, projection; vision: 3 embedding
  // tensors, 2 + 2 LayerNorms, 16 a layer × 24, projection.
  assert.equal(tensors.length, 1 + 5 + 16 * 12 + 1 + 3 + 4 + 16 * 24 + 1);
  const parameters = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(parameters, 406_560_769); // 1.63 GB of float32
  const byName = new Map(tensors.map((t) => [t.name, t.shape]));
  assert.deepEqual(byName.get("vision_model.embeddings.position_embedding.weight"), [577, 1024]);
  assert.deepEqual(byName.get("vision_model.embeddings.patch_embedding.weight"), [1024, 3, 14, 14]);
  assert.deepEqual(byName.get("text_model.embeddings.word_embeddings.weight"), [21128, 768]);
  assert.deepEqual(byName.get("visual_projection.weight"), [768, 1024]);
  assert.equal(byName.has("text_model.pooler.dense.weight"), false);
});

Deno.test("generated Chinese-CLIP: values are seeded, LayerNorm weights near 1", () => {
  const fill = (seed: number, name: string) => {
    const tensor = chineseClipTensors(CHINESE_CLIP_PRESETS.tiny, seed).find((t) =>
      t.name === name
    )!;
    const out = new Float32Array(tensor.shape.reduce((a, b) => a * b, 1));
    tensor.fill(out);
    return out;
  };
  const q = "vision_model.encoder.layers.0.self_attn.q_proj.weight";
  assert.deepEqual(fill(0, q), fill(0, q));
  assert.notDeepEqual(fill(0, q), fill(1, q));
  assert.ok(fill(0, q).every((v) => Math.abs(v) <= 0.02));
  assert.ok(fill(0, "vision_model.pre_layrnorm.weight").every((v) => Math.abs(v - 1) <= 0.02));
  assert.deepEqual([...fill(0, "logit_scale")], [Math.fround(2.6592)]);
});

Deno.test("generated Chinese-CLIP: the vocabulary", () => {
  const vocab = bertVocabulary(21128);
  assert.equal(vocab.length, 21128);
  assert.equal(new Set(vocab).size, vocab.length);
  assert.deepEqual(vocab.slice(100, 104), ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
  assert.equal(vocab[0], "[PAD]");
  assert.ok(vocab.includes("中") && vocab.includes("a") && !vocab.includes("A"));
  assert.throws(() => bertVocabulary(50), RangeError);
});

Deno.test("generated Chinese-CLIP: the tiny folder converts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-generated-chinese-clip-" });
  try {
    const size = await writeChineseClipCheckpoint(join(dir, "ckpt"), CHINESE_CLIP_PRESETS.tiny, 0);
    assert.equal(size, (await Deno.stat(join(dir, "ckpt", "model.safetensors"))).size);
    const record = await convertCheckpoint(join(dir, "ckpt"), join(dir, "out"));
    assert.equal(record.architecture, "chinese_clip");
    assert.equal(record.tokenizer, "slow files");
    assert.deepEqual(record.unused_tensors, []);
    for (const file of ["onnx/vision_model.onnx", "onnx/text_model.onnx", "tokenizer.json"]) {
      assert.ok((await Deno.stat(join(dir, "out", file))).size > 0, file);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
