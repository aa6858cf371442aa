/**
 * The kit's random `SiglipModel` (checkpoints/siglip-tiny-random) converted from both of its
 * weight files reproduces transformers' `get_image_features`, `get_text_features` and
 * `logits_per_image` (negative `logit_scale` and `logit_bias` included), and the conversion reads
 * every stored tensor.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { checkAgainstReference, withOnlyWeightFile } from "./_checkpoint_reference.ts";
import { openCheckpoint } from "../../src/checkpoint/open_checkpoint.ts";
import {
  siglipArchitecture,
  siglipShape,
  siglipWeightResolver,
} from "../../src/convert/architectures/siglip.ts";
import { CheckpointWeights } from "../../src/convert/graph/checkpoint_weights.ts";
import {
  buildSiglipTextTower,
  buildSiglipVisionTower,
} from "../../src/convert/graph/siglip_towers.ts";

const FOLDER = `${KIT_DIR}/checkpoints/siglip-tiny-random`;

kitTest("siglip-tiny-random (model.safetensors) matches transformers' outputs", async () => {
  const run = await checkAgainstReference(FOLDER, siglipArchitecture);
  assert.deepEqual(run.checkpoint.files, [join(FOLDER, "model.safetensors")]);
});

kitTest("siglip-tiny-random (pytorch_model.bin) matches transformers' outputs", async () => {
  await withOnlyWeightFile(FOLDER, "pytorch_model.bin", async (folder) => {
    const run = await checkAgainstReference(folder, siglipArchitecture);
    assert.deepEqual(run.checkpoint.files, [join(folder, "pytorch_model.bin")]);
  });
});

kitTest(
  "siglip-tiny-random: the towers and logit parameters read every stored tensor",
  async () => {
    const checkpoint = await openCheckpoint(FOLDER);
    const configPath = `${FOLDER}/config.json`;
    const shape = siglipShape(JSON.parse(await Deno.readTextFile(configPath)), configPath);
    const weights = new CheckpointWeights(checkpoint, siglipWeightResolver(shape.vision.width));
    buildSiglipVisionTower(shape, weights);
    buildSiglipTextTower(shape, weights);
    weights.read("logit_scale", [1], "scalar");
    weights.read("logit_bias", [1], "scalar");
    assert.deepEqual(weights.unused(), []);
  },
);
