/**
 * open_clip's `CLIP` (and `CustomTextCLIP` with its own `TextTransformer`) with
 * `VisionTransformer` / `TextTransformer` towers, as open_clip 3.3's `encode_image` /
 * `encode_text` compute them, read from `open_clip_config.json` (`model_cfg`, `preprocess_cfg`).
 *
 * Honoured (`model_cfg`): `embed_dim`, `quick_gelu`, `custom_text` (the text weights under
 * `text.`), `init_logit_bias` (a stored `logit_bias`); in `vision_cfg`: `image_size`,
 * `patch_size`, `width`, `layers`, `head_width`, `mlp_ratio`, `ls_init_value` (layer scale),
 * `no_ln_pre`, `pool_type` `tok` / `avg`, `final_ln_after_pool`, `pos_embed_type` (`learnable`,
 * `sin_cos_2d`: both stored), `act_kwargs` (`approximate`), `norm_kwargs` (`eps`), `block_type`
 * without custom features; ignored as open_clip ignores them at inference: `patch_dropout`,
 * `output_tokens`, `attn_pooler_*` without `attentional_pool`, `timm_*` without
 * `timm_model_name`. In `text_cfg`: `context_length`, `vocab_size`, `width`, `heads`, `layers`,
 * `mlp_ratio`, `ls_init_value`, `no_causal_mask`, `pool_type` (`argmax`, `eos` with `eos_id`,
 * `first`, `last`), `pad_id` (ids are padded to `context_length` with it where the output
 * depends on the padding, as open_clip always runs full-length ids), `proj_bias`, `proj_type`
 * (`linear`, `none`), `act_kwargs`, `norm_kwargs`; ignored: the tokenizer's keys, `output_tokens`,
 * `final_ln_after_pool` (no text tower of open_clip 3.3 reads it), `hf_*` without
 * `hf_model_name`. Refused by name: `timm_model_name`, ResNet `layers`, `attentional_pool`,
 * `pool_type: "none"`, `hf_model_name`, `embed_cls`, `multimodal_cfg` (CoCa), the custom
 * attention features (`qk_norm`, `scaled_cosine_attn`, `scale_heads`, `scale_attn_inner`,
 * `scale_attn`, `scale_fc`), non-square sizes, and any key open_clip 3.3 does not know.
 *
 * The weights are open_clip's state dict (`visual.conv1.weight`, `visual.transformer.resblocks.N
 * .attn.in_proj_weight`, `ln_final`, `text_projection`, …) mapped onto the graph's transformers
 * names (the fused q/k/v projection sliced by rows, `proj` / `text_projection` read `[in, out]`).
 * The converted folder gets a transformers-style `CLIPConfig` (`model_type` `clip`) and a
 * `CLIPImageProcessor`-style `preprocessor_config.json` from `preprocess_cfg`.
 *
 * @module
 */

import type { Checkpoint } from "../../checkpoint/checkpoint.ts";
import type { Architecture, ConvertedModel } from "../architecture.ts";
import {
  CheckpointWeights,
  type StoredWeight,
  type WeightResolver,
} from "../graph/checkpoint_weights.ts";
import type { Activation, ClipShape, TextPooling } from "../graph/clip_shape.ts";
import { buildTextTower, buildVisionTower } from "../graph/clip_towers.ts";
import { readLogitParameters, refuseUnbuildable } from "./clip.ts";
import { ConfigOptions } from "./config_options.ts";

/** Why an unknown key is refused. */
const UNKNOWN = "not an option of open_clip 3.3 that clipbench knows";

/** `model_cfg` keys of open_clip's `CLIP` / `CustomTextCLIP`. */
const MODEL_KEYS = new Set([
  "embed_dim",
  "vision_cfg",
  "text_cfg",
  "quick_gelu",
  "custom_text",
  "init_logit_scale",
  "init_logit_bias",
  "nonscalar_logit_scale",
  "output_dict",
]);

/** Options of the custom attention block that change the numbers (none is built). */
const CUSTOM_BLOCK_FEATURES = [
  "qk_norm",
  "scaled_cosine_attn",
  "scale_heads",
  "scale_attn_inner",
  "scale_attn",
  "scale_fc",
];

/** Keys either tower's config shares. */
const TOWER_KEYS = [
  "width",
  "layers",
  "mlp_ratio",
  "ls_init_value",
  "final_ln_after_pool",
  "pool_type",
  "output_tokens",
  "act_kwargs",
  "norm_kwargs",
  "block_type",
  ...CUSTOM_BLOCK_FEATURES,
];

/** `CLIPVisionCfg` keys. */
const VISION_KEYS = new Set([
  ...TOWER_KEYS,
  "head_width",
  "patch_size",
  "image_size",
  "patch_dropout",
  "attentional_pool",
  "attn_pooler_queries",
  "attn_pooler_heads",
  "no_ln_pre",
  "pos_embed_type",
  "timm_model_name",
  "timm_model_pretrained",
  "timm_pool",
  "timm_proj",
  "timm_proj_bias",
  "timm_drop",
  "timm_drop_path",
]);

/** `CLIPTextCfg` keys. */
const TEXT_KEYS = new Set([
  ...TOWER_KEYS,
  "context_length",
  "vocab_size",
  "hf_tokenizer_name",
  "tokenizer_mode",
  "tokenizer_kwargs",
  "heads",
  "embed_cls",
  "pad_id",
  "eos_id",
  "no_causal_mask",
  "proj_bias",
  "proj_type",
  "hf_model_name",
  "hf_model_pretrained",
  "hf_proj_type",
  "hf_pooler_type",
]);

/** `PreprocessCfg` keys. */
const PREPROCESS_KEYS = new Set([
  "size",
  "mode",
  "mean",
  "std",
  "interpolation",
  "resize_mode",
  "fill_color",
]);

/** OpenAI CLIP's normalisation, open_clip's `OPENAI_DATASET_MEAN` / `_STD`. */
const OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_STD = [0.26862954, 0.26130258, 0.27577711];

/** Pillow's resampling filter numbers, as `preprocessor_config.json`'s `resample`. */
const PIL_BILINEAR = 2;
const PIL_BICUBIC = 3;

/** An open_clip model read from its config, with what the converted folder needs. */
export interface OpenClipModel {
  /** The graph shape and options. */
  readonly shape: ClipShape;
  /** Whether the text projection is a `Linear` with a bias (`proj_bias`). */
  readonly textProjectionLinear: boolean;
  /** The transformers-style `config.json` of the converted folder. */
  readonly config: Record<string, unknown>;
  /** The `CLIPImageProcessor`-style `preprocessor_config.json` of the converted folder. */
  readonly preprocessorConfig: Record<string, unknown>;
}

/** An integer, or a `[n, n]` pair (open_clip's `to_2tuple`), that must be square. */
function squareSize(config: ConfigOptions, key: string, fallback: number): number {
  const value = config.values[key] ?? fallback;
  if (Array.isArray(value)) {
    if (value.length !== 2 || value[0] !== value[1]) {
      throw config.error(key, `${JSON.stringify(value)} is not supported: only square sizes are`);
    }
    return new ConfigOptions({ [key]: value[0] }, "", config.source).positiveInteger(key, fallback);
  }
  return config.positiveInteger(key, fallback);
}

/** What every tower must not use: custom attention features and a non-default norm. */
function refuseCustomBlocks(config: ConfigOptions): void {
  for (const key of CUSTOM_BLOCK_FEATURES) {
    config.refuseIfSet(key, "the custom attention block's features are not built");
  }
  config.oneOf("block_type", "default", ["default", "custom"]);
}

/** The tower's MLP activation: QuickGELU, or `nn.GELU` with its `act_kwargs`. */
function activationOf(config: ConfigOptions, quickGelu: boolean): Activation {
  const kwargs = config.section("act_kwargs");
  const keys = Object.keys(kwargs.values);
  if (quickGelu) {
    if (keys.length > 0) throw config.error("act_kwargs", "is not supported with quick_gelu");
    return "quick_gelu";
  }
  for (const key of keys) {
    if (key !== "approximate") {
      throw kwargs.error(key, "is not supported: only nn.GELU's approximate is");
    }
  }
  const approximate = kwargs.oneOf("approximate", "none", ["none", "tanh"]);
  return approximate === "tanh" ? "gelu_pytorch_tanh" : "gelu";
}

/** The tower's LayerNorm ε from `norm_kwargs` (PyTorch's 1e-5 by default). */
function epsilonOf(config: ConfigOptions): number {
  const kwargs = config.section("norm_kwargs");
  for (const key of Object.keys(kwargs.values)) {
    if (key !== "eps") throw kwargs.error(key, "is not supported: only the LayerNorm's eps is");
  }
  return kwargs.positiveNumber("eps", 1e-5);
}

/** `int(width * mlp_ratio)`, as open_clip sizes each block's MLP. */
function mlpWidth(config: ConfigOptions, width: number): number {
  return Math.trunc(width * config.positiveNumber("mlp_ratio", 4));
}

/** The `model_cfg` of an `open_clip_config.json` (or a bare model config). */
function modelConfigOf(config: Record<string, unknown>, source: string): ConfigOptions {
  const top = new ConfigOptions(config, "", source);
  if (top.has("model_cfg")) return top.section("model_cfg");
  if (top.has("embed_dim")) return top;
  throw top.error("model_cfg", "is missing: not an open_clip model config");
}

/**
 * Reads the open_clip model an `open_clip_config.json` describes.
 *
 * @param config The parsed `open_clip_config.json` (`model_cfg`, `preprocess_cfg`).
 * @param source Its path, for messages.
 * @throws {ModelError} naming the file and the option for a wrong or unsupported value.
 */
export function readOpenClipModel(config: Record<string, unknown>, source: string): OpenClipModel {
  const model = modelConfigOf(config, source);
  model.refuseIfSet("multimodal_cfg", "CoCa models are not converted");
  model.refuseUnknown(MODEL_KEYS, UNKNOWN);
  const quickGelu = model.flag("quick_gelu", false);
  const embedDim = model.positiveInteger("embed_dim", 512);
  const vision = model.section("vision_cfg");
  const text = model.section("text_cfg");

  vision.refuseIfSet("timm_model_name", "timm image towers are not converted");
  if (Array.isArray(vision.values.layers)) {
    throw vision.error("layers", "is a list: ModifiedResNet image towers are not converted");
  }
  vision.refuseIfSet("attentional_pool", "the attentional pooler is not built");
  vision.refuseUnknown(VISION_KEYS, UNKNOWN);
  refuseCustomBlocks(vision);
  vision.oneOf("pos_embed_type", "learnable", ["learnable", "sin_cos_2d"]);
  const visionPool = vision.oneOf("pool_type", "tok", ["tok", "avg"]);
  const visionWidth = vision.positiveInteger("width", 768);
  const headWidth = vision.positiveInteger("head_width", 64);

  text.refuseIfSet("hf_model_name", "Hugging Face text towers are not converted");
  text.refuseIfSet("embed_cls", "the appended class token (CoCa) is not built");
  text.refuseUnknown(TEXT_KEYS, UNKNOWN);
  refuseCustomBlocks(text);
  const textPool = text.oneOf("pool_type", "argmax", ["argmax", "eos", "first", "last"]);
  const causal = !text.flag("no_causal_mask", false);
  const padId = text.integer("pad_id", 0);
  const projectionType = text.oneOf("proj_type", "linear", ["linear", "none"]);
  const projectionBias = text.flag("proj_bias", false);
  const textWidth = text.positiveInteger("width", 512);
  const pooling: TextPooling = textPool === "eos"
    ? { kind: "eos", tokenId: text.integer("eos_id", 2) }
    : { kind: textPool };

  const shape: ClipShape = {
    vision: {
      imageSize: squareSize(vision, "image_size", 224),
      patchSize: squareSize(vision, "patch_size", 16),
      width: visionWidth,
      layers: vision.positiveInteger("layers", 12),
      heads: Math.trunc(visionWidth / headWidth),
      intermediate: mlpWidth(vision, visionWidth),
    },
    text: {
      contextLength: text.positiveInteger("context_length", 77),
      vocabSize: text.positiveInteger("vocab_size", 49408),
      width: textWidth,
      layers: text.positiveInteger("layers", 12),
      heads: text.positiveInteger("heads", 8),
      intermediate: mlpWidth(text, textWidth),
    },
    embedDim,
    activation: activationOf(vision, quickGelu),
    visionOptions: {
      layerNormEpsilon: epsilonOf(vision),
      layerScale: vision.has("ls_init_value"),
      preLayerNorm: !vision.flag("no_ln_pre", false),
      pooling: visionPool === "avg" ? "mean" : "class",
      normAfterPooling: vision.flag("final_ln_after_pool", false),
    },
    textOptions: {
      activation: activationOf(text, quickGelu),
      layerNormEpsilon: epsilonOf(text),
      layerScale: text.has("ls_init_value"),
      causal,
      pooling,
      padToContextWith: !causal || textPool === "last" ? padId : undefined,
      projection: projectionType === "none" ? "none" : projectionBias ? "linear_bias" : "linear",
    },
  };
  refuseUnbuildable(shape, source);
  const preprocess = new ConfigOptions(config, "", source).section("preprocess_cfg");
  return {
    shape,
    textProjectionLinear: projectionBias,
    config: transformersConfig(shape, model.values),
    preprocessorConfig: preprocessorConfig(preprocess, shape.vision.imageSize),
  };
}

/** A transformers `CLIPConfig` describing `shape` (for the converted folder). */
function transformersConfig(
  shape: ClipShape,
  modelCfg: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const { vision, text, visionOptions = {}, textOptions = {} } = shape;
  const pooling = textOptions.pooling ?? { kind: "argmax" };
  return {
    architectures: ["CLIPModel"],
    model_type: "clip",
    projection_dim: shape.embedDim,
    text_config: {
      model_type: "clip_text_model",
      vocab_size: text.vocabSize,
      hidden_size: text.width,
      intermediate_size: text.intermediate,
      num_hidden_layers: text.layers,
      num_attention_heads: text.heads,
      max_position_embeddings: text.contextLength,
      hidden_act: textOptions.activation ?? shape.activation,
      layer_norm_eps: textOptions.layerNormEpsilon ?? 1e-5,
      projection_dim: shape.embedDim,
      // transformers pools at the highest id when eos_token_id is 2.
      eos_token_id: pooling.kind === "eos" ? pooling.tokenId : 2,
    },
    vision_config: {
      model_type: "clip_vision_model",
      image_size: vision.imageSize,
      patch_size: vision.patchSize,
      num_channels: 3,
      hidden_size: vision.width,
      intermediate_size: vision.intermediate,
      num_hidden_layers: vision.layers,
      num_attention_heads: vision.heads,
      hidden_act: shape.activation,
      layer_norm_eps: visionOptions.layerNormEpsilon ?? 1e-5,
      projection_dim: shape.embedDim,
    },
    torch_dtype: "float32",
    open_clip_model_cfg: modelCfg,
  };
}

/** Three numbers (per channel), or one for all; `fallback` when absent. */
function channelValues(config: ConfigOptions, key: string, fallback: number[]): number[] {
  const value = config.values[key] ?? fallback;
  const list = typeof value === "number" ? [value, value, value] : value;
  if (
    !Array.isArray(list) || list.length !== 3 ||
    !list.every((x) => typeof x === "number" && Number.isFinite(x))
  ) {
    throw config.error(key, `must be 3 numbers, got ${JSON.stringify(value)}`);
  }
  return list;
}

/**
 * open_clip's inference transform (`image_transform`) as `CLIPImageProcessor` settings:
 * `shortest` = resize the short side, centre crop; `squash` = resize to the size; both bicubic
 * (also for `random`) or bilinear, then scale to [0, 1] and normalise. `longest` (pads) and
 * non-RGB modes are refused.
 */
function preprocessorConfig(config: ConfigOptions, imageSize: number): Record<string, unknown> {
  config.refuseUnknown(PREPROCESS_KEYS, UNKNOWN);
  config.oneOf("mode", "RGB", ["RGB"]);
  const resizeMode = config.oneOf("resize_mode", "shortest", ["shortest", "squash"]);
  const interpolation = config.oneOf("interpolation", "bicubic", ["bicubic", "bilinear", "random"]);
  const sizeValue = config.values.size ?? imageSize;
  const [height, width] = Array.isArray(sizeValue) ? sizeValue : [sizeValue, sizeValue];
  const sizes = new ConfigOptions({ height, width }, "", config.source);
  const exact = {
    height: sizes.positiveInteger("height", 1),
    width: sizes.positiveInteger("width", 1),
  };
  if (
    (Array.isArray(sizeValue) && sizeValue.length !== 2) ||
    (resizeMode === "shortest" && exact.height !== exact.width)
  ) {
    throw config.error("size", `${JSON.stringify(sizeValue)} is not supported with ${resizeMode}`);
  }
  return {
    image_processor_type: "CLIPImageProcessor",
    do_convert_rgb: true,
    do_resize: true,
    size: resizeMode === "shortest" ? { shortest_edge: exact.height } : exact,
    resample: interpolation === "bilinear" ? PIL_BILINEAR : PIL_BICUBIC,
    do_center_crop: resizeMode === "shortest",
    crop_size: exact,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: channelValues(config, "mean", OPENAI_MEAN),
    image_std: channelValues(config, "std", OPENAI_STD),
  };
}

/** open_clip's name of each block weight, by the graph's (transformers') name. */
const BLOCK_NAMES: Readonly<Record<string, string>> = {
  "layer_norm1.weight": "ln_1.weight",
  "layer_norm1.bias": "ln_1.bias",
  "layer_norm2.weight": "ln_2.weight",
  "layer_norm2.bias": "ln_2.bias",
  "self_attn.out_proj.weight": "attn.out_proj.weight",
  "self_attn.out_proj.bias": "attn.out_proj.bias",
  "mlp.fc1.weight": "mlp.c_fc.weight",
  "mlp.fc1.bias": "mlp.c_fc.bias",
  "mlp.fc2.weight": "mlp.c_proj.weight",
  "mlp.fc2.bias": "mlp.c_proj.bias",
  "layer_scale1.lambda1": "ls_1.gamma",
  "layer_scale2.lambda1": "ls_2.gamma",
};

/** Which third of the fused `in_proj` each of q, k, v is. */
const QKV_PART: Readonly<Record<string, number>> = { q_proj: 0, k_proj: 1, v_proj: 2 };

/** Where a block weight (`self_attn.q_proj.weight`, …) of a tower of `width` is stored. */
function blockWeight(prefix: string, inner: string, width: number): StoredWeight | undefined {
  const fused = /^self_attn\.([qkv]_proj)\.(weight|bias)$/.exec(inner);
  if (fused) {
    const part = QKV_PART[fused[1]];
    return { name: `${prefix}attn.in_proj_${fused[2]}`, rows: [part * width, (part + 1) * width] };
  }
  const name = BLOCK_NAMES[inner];
  return name === undefined ? undefined : { name: `${prefix}${name}` };
}

/**
 * Maps the graph's weight names onto open_clip's state dict: the image tower under `visual.`, the
 * text tower at the top level (`CLIP`) or under `textPrefix` (`text.`, `CustomTextCLIP`).
 */
export function openClipWeightResolver(
  shape: ClipShape,
  textPrefix: string,
  textProjectionLinear: boolean,
): WeightResolver {
  const fixed: Record<string, StoredWeight> = {
    "vision_model.embeddings.patch_embedding.weight": { name: "visual.conv1.weight" },
    "vision_model.embeddings.class_embedding": { name: "visual.class_embedding" },
    "vision_model.embeddings.position_embedding.weight": { name: "visual.positional_embedding" },
    "vision_model.pre_layrnorm.weight": { name: "visual.ln_pre.weight" },
    "vision_model.pre_layrnorm.bias": { name: "visual.ln_pre.bias" },
    "vision_model.post_layernorm.weight": { name: "visual.ln_post.weight" },
    "vision_model.post_layernorm.bias": { name: "visual.ln_post.bias" },
    "visual_projection.weight": { name: "visual.proj", inOut: true },
    "text_model.embeddings.token_embedding.weight": {
      name: `${textPrefix}token_embedding.weight`,
    },
    "text_model.embeddings.position_embedding.weight": {
      name: `${textPrefix}positional_embedding`,
    },
    "text_model.final_layer_norm.weight": { name: `${textPrefix}ln_final.weight` },
    "text_model.final_layer_norm.bias": { name: `${textPrefix}ln_final.bias` },
    "text_projection.weight": textProjectionLinear
      ? { name: `${textPrefix}text_projection.weight` }
      : { name: `${textPrefix}text_projection`, inOut: true },
    "text_projection.bias": { name: `${textPrefix}text_projection.bias` },
    logit_scale: { name: "logit_scale" },
    logit_bias: { name: "logit_bias" },
  };
  return (name) => {
    if (fixed[name] !== undefined) return fixed[name];
    const block = /^(vision|text)_model\.encoder\.layers\.(\d+)\.(.+)$/.exec(name);
    if (!block) return undefined;
    const [, tower, index, inner] = block;
    const prefix = tower === "vision"
      ? `visual.transformer.resblocks.${index}.`
      : `${textPrefix}transformer.resblocks.${index}.`;
    return blockWeight(prefix, inner, tower === "vision" ? shape.vision.width : shape.text.width);
  };
}

/** open_clip's `CLIP` with ViT towers. */
export const openClipArchitecture: Architecture = {
  name: "open_clip",
  build(config: Record<string, unknown>, checkpoint: Checkpoint, source: string): ConvertedModel {
    const model = readOpenClipModel(config, source);
    // CustomTextCLIP keeps its text tower under `text.`; load_checkpoint accepts either layout.
    const textPrefix = checkpoint.get("text.token_embedding.weight") !== undefined ? "text." : "";
    const weights = new CheckpointWeights(
      checkpoint,
      openClipWeightResolver(model.shape, textPrefix, model.textProjectionLinear),
    );
    const vision = buildVisionTower(model.shape, weights);
    const text = buildTextTower(model.shape, weights);
    return {
      vision,
      text,
      config: model.config,
      preprocessorConfig: model.preprocessorConfig,
      ...readLogitParameters(weights),
    };
  },
};
