/**
 * convertCheckpoint (src/convert/convert.ts) on generated checkpoints: the converted model gives
 * the embeddings of the ONNX model generated with the same weights; the folder lists what it was
 * made from; a folder already holding files is refused; a broken checkpoint leaves nothing behind.
 */
import assert from "node:assert/strict";
import { CheckpointError } from "../../src/checkpoint/checkpoint.ts";
import { CONVERSION_RECORD, convertCheckpoint } from "../../src/convert/convert.ts";
import { UsageError } from "../../src/errors.ts";
import { ClipModel } from "../../src/model/model.ts";
import { syntheticImage } from "../_synthetic_image.ts";
import { at, entries, inTempDir, tinyCheckpoint, tinyOnnxModel } from "./_generated_checkpoint.ts";

const TEXTS = ["a photo of a shoe", "a bag", "", "a very long caption ".repeat(30)];

/** Image and text embeddings of a model folder. */
async function embeddings(dir: string, dtype: "fp32" | "fp16" = "fp32") {
  const model = await ClipModel.load(dir, { threads: 1, dtype });
  try {
    const { preprocessor } = model;
    const pixels = new Float32Array(3 * preprocessor.outputLength);
    for (let i = 0; i < 3; i++) {
      preprocessor.process(
        syntheticImage(97 + 31 * i, 61 + 17 * i, i),
        pixels,
        i * preprocessor.outputLength,
      );
    }
    return {
      image: (await model.encodeImages(pixels, 3)).embeddings,
      text: (await model.encodeTexts(TEXTS)).embeddings,
    };
  } finally {
    await model.release();
  }
}

Deno.test("convertCheckpoint: the converted model embeds as the ONNX model of the same weights", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = await tinyCheckpoint(at(dir, "checkpoint"));
    const out = at(dir, "converted");
    const record = await convertCheckpoint(checkpoint, out);
    assert.equal(record.architecture, "clip");
    assert.deepEqual(record.weights, ["model.safetensors"]);
    assert.equal(record.tokenizer, "tokenizer.json");
    assert.deepEqual(record.unused_tensors, []);
    assert.ok(Math.abs(record.logit_scale - 2.6592) < 1e-6);
    assert.deepEqual(await entries(out), [
      CONVERSION_RECORD,
      "config.json",
      "onnx",
      "preprocessor_config.json",
      "special_tokens_map.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    assert.deepEqual(await entries(at(out, "onnx")), ["text_model.onnx", "vision_model.onnx"]);
    assert.deepEqual(await entries(dir), ["checkpoint", "converted"]); // no temporary folder left

    const converted = await embeddings(out);
    const generated = await embeddings(await tinyOnnxModel(at(dir, "onnx_model")));
    // The same weights through the same operators: equal to the last bit.
    assert.deepEqual(converted.image, generated.image);
    assert.deepEqual(converted.text, generated.text);
  });
});

Deno.test("convertCheckpoint: an output folder holding files is refused; an empty one is used", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = await tinyCheckpoint(at(dir, "checkpoint"));
    await Deno.mkdir(at(dir, "busy"));
    await Deno.writeTextFile(at(dir, "busy", "keep.txt"), "mine");
    await assert.rejects(convertCheckpoint(checkpoint, at(dir, "busy")), (error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /busy exists and is not empty/);
      return true;
    });
    assert.deepEqual(await entries(at(dir, "busy")), ["keep.txt"]);
    await Deno.mkdir(at(dir, "empty"));
    await convertCheckpoint(checkpoint, at(dir, "empty"));
    assert.ok(await entries(at(dir, "empty")).then((names) => names.includes(CONVERSION_RECORD)));
  });
});

Deno.test("convertCheckpoint: a truncated or mis-shaped checkpoint fails naming it, leaving nothing", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = await tinyCheckpoint(at(dir, "checkpoint"));
    const weights = await Deno.readFile(at(checkpoint, "model.safetensors"));
    await Deno.writeFile(
      at(checkpoint, "model.safetensors"),
      weights.subarray(0, weights.length - 100),
    );
    await assert.rejects(convertCheckpoint(checkpoint, at(dir, "out")), (error) => {
      assert.ok(error instanceof CheckpointError, String(error));
      assert.match(error.message, /model\.safetensors/);
      return true;
    });
    assert.deepEqual(await entries(dir), ["checkpoint"]);

    // A config whose sizes do not fit the weights: the first tensor that disagrees is named.
    await tinyCheckpoint(checkpoint);
    const config = JSON.parse(await Deno.readTextFile(at(checkpoint, "config.json")));
    config.vision_config.hidden_size *= 2;
    config.vision_config.num_attention_heads *= 2;
    await Deno.writeTextFile(at(checkpoint, "config.json"), JSON.stringify(config));
    await assert.rejects(convertCheckpoint(checkpoint, at(dir, "out")), (error) => {
      assert.ok(error instanceof CheckpointError, String(error));
      assert.match(error.message, /tensor vision_model\.\S+ has shape \[/);
      assert.ok(error.tensor?.startsWith("vision_model."));
      return true;
    });
    assert.deepEqual(await entries(dir), ["checkpoint"]);
  });
});

Deno.test("convertCheckpoint: dtype fp16 writes float16 graphs that --dtype fp16 loads", async () => {
  await inTempDir(async (dir) => {
    const checkpoint = await tinyCheckpoint(at(dir, "checkpoint"));
    const record = await convertCheckpoint(checkpoint, at(dir, "fp16"), { dtype: "fp16" });
    assert.equal(record.dtype, "fp16");
    assert.deepEqual(await entries(at(dir, "fp16", "onnx")), [
      "text_model_fp16.onnx",
      "vision_model_fp16.onnx",
    ]);
    // Half the bytes of the float32 graphs: the weights are stored as float16.
    await convertCheckpoint(checkpoint, at(dir, "fp32"));
    const size = async (path: string) => (await Deno.stat(path)).size;
    const ratio = await size(at(dir, "fp16", "onnx", "vision_model_fp16.onnx")) /
      await size(at(dir, "fp32", "onnx", "vision_model.onnx"));
    assert.ok(ratio > 0.45 && ratio < 0.55, `fp16/fp32 size ratio ${ratio}`);

    const half = await embeddings(at(dir, "fp16"), "fp16");
    const full = await embeddings(at(dir, "fp32"));
    // Computed in float16: the same directions within float16's precision.
    for (
      const [what, a, b] of [["image", half.image, full.image], [
        "text",
        half.text,
        full.text,
      ]] as const
    ) {
      const dim = a.length / (what === "image" ? 3 : TEXTS.length);
      for (let row = 0; row < a.length / dim; row++) {
        let dot = 0;
        for (let i = 0; i < dim; i++) dot += a[row * dim + i] * b[row * dim + i];
        assert.ok(dot > 0.999, `${what} row ${row}: cosine ${dot}`); // both L2-normalised
      }
      assert.notDeepEqual(a, b); // really computed otherwise
    }
  });
});
