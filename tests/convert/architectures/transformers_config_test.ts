/**
 * The config reading transformers' CLIP-family architectures share: encoder sizes with the
 * family's defaults, `hidden_act` names mapped onto the activations the graphs compute (and
 * limited where an architecture limits them), and the `CLIPVisionConfig` section; every wrong
 * value refused as a ModelError naming the file and the option.
 */
import assert from "node:assert/strict";
import { ConfigOptions } from "../../../src/convert/architectures/config_options.ts";
import {
  encoderSizes,
  hiddenActivation,
  readClipVisionConfig,
} from "../../../src/convert/architectures/transformers_config.ts";
import { ModelError } from "../../../src/errors.ts";

const SOURCE = "/models/x/config.json";

/** `values` as the section `vision_config` of {@linkcode SOURCE}. */
function section(values: Record<string, unknown>): ConfigOptions {
  return new ConfigOptions({ vision_config: values }, "", SOURCE).section("vision_config");
}

/** Asserts `fn` throws a ModelError naming the file and `option`. */
function assertRefuses(fn: () => unknown, option: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ModelError, String(error));
    assert.ok(error.message.startsWith(`${SOURCE}: ${option} `), error.message);
    return true;
  });
}

Deno.test("encoderSizes: the four size keys, each default when absent", () => {
  const defaults = { width: 768, layers: 12, heads: 12, intermediate: 3072 };
  assert.deepEqual(encoderSizes(section({}), defaults), defaults);
  assert.deepEqual(
    encoderSizes(
      section({ hidden_size: 8, num_hidden_layers: 1, intermediate_size: 16 }),
      defaults,
    ),
    { width: 8, layers: 1, heads: 12, intermediate: 16 },
  );
  assertRefuses(
    () => encoderSizes(section({ num_attention_heads: 2.5 }), defaults),
    "vision_config.num_attention_heads",
  );
});

Deno.test("hiddenActivation: transformers' names, gelu_new as the tanh GELU, a subset if asked", () => {
  assert.equal(hiddenActivation(section({}), "quick_gelu"), "quick_gelu");
  assert.equal(hiddenActivation(section({ hidden_act: "gelu_new" }), "gelu"), "gelu_pytorch_tanh");
  assert.equal(hiddenActivation(section({ hidden_act: "gelu" }), "quick_gelu"), "gelu");
  assertRefuses(
    () => hiddenActivation(section({ hidden_act: "relu" }), "gelu"),
    "vision_config.hidden_act",
  );
  assertRefuses(
    () => hiddenActivation(section({ hidden_act: "gelu_new" }), "gelu", ["gelu", "quick_gelu"]),
    "vision_config.hidden_act",
  );
});

Deno.test("readClipVisionConfig: CLIPVisionConfig's defaults; only RGB", () => {
  // The sizes' defaults are asserted through clipShape and readChineseClipShape (clip_test.ts,
  // chinese_clip_test.ts).
  const defaults = readClipVisionConfig(section({}));
  assert.equal(defaults.activation, "quick_gelu");
  assert.equal(defaults.layerNormEpsilon, 1e-5);
  const read = readClipVisionConfig(
    section({ image_size: 336, patch_size: 14, layer_norm_eps: 1e-6 }),
  );
  assert.equal(read.shape.imageSize, 336);
  assert.equal(read.shape.patchSize, 14);
  assert.equal(read.layerNormEpsilon, 1e-6);
  assertRefuses(
    () => readClipVisionConfig(section({ num_channels: 1 })),
    "vision_config.num_channels",
  );
  assertRefuses(
    () => readClipVisionConfig(section({ layer_norm_eps: 0 })),
    "vision_config.layer_norm_eps",
  );
});
