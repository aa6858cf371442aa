/**
 * The kit's random `ChineseCLIPModel` (checkpoints/chinese-clip-tiny-random) converted by
 * {@linkcode chineseClipArchitecture} reproduces transformers' `get_image_features`,
 * `get_text_features` and `logits_per_image`, from `model.safetensors` and from
 * `pytorch_model.bin`; and its text graph honours `attention_mask` and `token_type_ids`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { openCheckpoint } from "../../src/checkpoint/open_checkpoint.ts";
import { chineseClipArchitecture } from "../../src/convert/architectures/chinese_clip.ts";
import {
  checkAgainstReference,
  readReference,
  withOnlyWeightFile,
} from "./_checkpoint_reference.ts";
import { maxAbsDifference, runGraph } from "../convert/_convert_fixture.ts";

const FOLDER = `${KIT_DIR}/checkpoints/chinese-clip-tiny-random`;

kitTest(
  "chinese-clip-tiny-random: model.safetensors converts to transformers' outputs",
  async () => {
    const run = await checkAgainstReference(FOLDER, chineseClipArchitecture);
    assert.ok(run.checkpoint.files.some((file) => file.endsWith("model.safetensors")));
    assert.deepEqual(run.converted.text.inputNames, [
      "input_ids",
      "attention_mask",
      "token_type_ids",
    ]);
    assert.deepEqual(run.converted.vision.inputNames, ["pixel_values"]);
    assert.equal(run.converted.config.model_type, "chinese_clip");
  },
);

kitTest(
  "chinese-clip-tiny-random: pytorch_model.bin converts to transformers' outputs",
  async () => {
    await withOnlyWeightFile(FOLDER, "pytorch_model.bin", async (folder) => {
      const run = await checkAgainstReference(folder, chineseClipArchitecture);
      assert.deepEqual(run.checkpoint.files, [join(folder, "pytorch_model.bin")]);
    });
  },
);

kitTest(
  "chinese-clip-tiny-random: the text graph uses attention_mask and token_type_ids",
  async () => {
    const configPath = join(FOLDER, "config.json");
    const converted = chineseClipArchitecture.build(
      JSON.parse(await Deno.readTextFile(configPath)),
      await openCheckpoint(FOLDER),
      configPath,
    );
    const ids = (await readReference(FOLDER, "input_ids"))!;
    const mask = (await readReference(FOLDER, "attention_mask"))!;
    const textEmbeds = (await readReference(FOLDER, "text_embeds"))!.data as Float32Array;
    const dims = [...ids.shape];
    const tensor = (data: BigInt64Array) => new ort.Tensor("int64", data, dims);
    const ones = new BigInt64Array(ids.data.length).fill(1n);
    const zeros = new BigInt64Array(ids.data.length);
    const asGiven = await runGraph(converted.text, {
      input_ids: tensor(ids.data as BigInt64Array),
      attention_mask: tensor(mask.data as BigInt64Array),
      token_type_ids: tensor(zeros),
    });
    assert.ok(maxAbsDifference(asGiven.data, textEmbeds) < 1e-5);
    // The reference rows are padded (content lengths 1, 6, 20, 50 of 52): attending to the padding
    // must change the [CLS] state, as must other token types.
    const unmasked = await runGraph(converted.text, {
      input_ids: tensor(ids.data as BigInt64Array),
      attention_mask: tensor(ones),
      token_type_ids: tensor(zeros),
    });
    assert.ok(maxAbsDifference(unmasked.data, textEmbeds) > 1e-3);
    const otherTypes = await runGraph(converted.text, {
      input_ids: tensor(ids.data as BigInt64Array),
      attention_mask: tensor(mask.data as BigInt64Array),
      token_type_ids: tensor(ones),
    });
    assert.ok(maxAbsDifference(otherTypes.data, textEmbeds) > 1e-3);
  },
);
