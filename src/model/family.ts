/**
 * CLIP-style model families, chosen by `config.json`'s `model_type`, and what each implies for
 * feeding its graphs where the files themselves do not say:
 *
 * - `clip`, `mobileclip`: rows padded to the context (77); open_clip's text cleaning;
 *   `CLIPImageProcessor` defaults; floor crop offsets; outputs `text_embeds`/`image_embeds`.
 * - `chinese_clip`: rows padded to the longest text of the batch; no text cleaning;
 *   `ChineseCLIPImageProcessor` defaults; floor; `*_embeds`.
 * - `siglip`: rows padded to the context (64); no cleaning; `SiglipImageProcessor` defaults (no
 *   crop); `*_embeds`, else `pooler_output` (the towers' only pooled output).
 * - `jina_clip`: longest-row padding; no cleaning; `JinaCLIPImageProcessor` keys; round crop
 *   offsets; `*_embeds`, `*_embeddings`, else `l2norm_*_embeddings`.
 * - anything else (`generic`): context padding; no cleaning; `CLIPImageProcessor` defaults;
 *   floor; any of the outputs above.
 *
 * Padding: SigLIP's text tower has no attention mask and pools the last position, so its rows
 * must be padded to the full context as in training (padding to the longest text of a batch is
 * the well-known SigLIP mistake, and is what evalscope's `padding=True` does). CLIP pools at the
 * end token behind a causal mask, so its padding does not matter and the fixed context suits
 * graphs with a fixed length. Chinese-CLIP (BERT) and Jina CLIP take an attention mask; they are
 * padded to the longest text of each batch, as evalscope's `tokenizer(padding=True)` and
 * transformers.js do (a graph with a fixed sequence length is always padded to it).
 *
 * Trimming (`trimsTextPadding`): the padding rows carry can still be cut off before the graph
 * runs, when the graph's sequence axis is dynamic and nothing after a row's end token reaches its
 * pooled state. That holds for CLIP: causal attention, pooled at the end token (the first highest
 * id, or the first end-of-text id), so each batch runs at its longest real row (see
 * src/model/text_batches.ts) and the token ids stay open_clip's. It does not hold for MobileCLIP,
 * whose S0 text encoder mixes tokens with 11-wide convolutions centred on each position (padding
 * behind the end token reaches it; the family cannot tell S0 from the transformer towers of S1, S2
 * and B), nor for SigLIP (no mask, pooled at the last position), nor for a converted open_clip
 * tower that its config (`open_clip_model_cfg.text_cfg`) marks as bidirectional
 * (`no_causal_mask`) or pooled at the last position (`pool_type: "last"`). Chinese-CLIP and Jina
 * CLIP need none: the tokenizer already pads them to the longest row.
 *
 * The image processor default applies when `preprocessor_config.json` names no
 * `image_processor_type`; the crop offset default when the caller gives none (Jina CLIP's Python
 * processor is open_clip's torchvision transform, whose `CenterCrop` rounds).
 *
 * @module
 */

import type { CropRounding } from "../image/preprocess/config.ts";
import type { TextCleaning, TextPadding } from "./tokenizer.ts";

/** The families clipbench knows. */
export type ModelFamilyName =
  | "clip"
  | "chinese_clip"
  | "siglip"
  | "jina_clip"
  | "mobileclip"
  | "generic";

/** How a family's graphs are fed (see the module notes). */
export interface ModelFamily {
  /** The family. */
  readonly name: ModelFamilyName;
  /** `config.json`'s `model_type` as found (undefined when absent). */
  readonly modelType?: string;
  /** Image processor class assumed when `preprocessor_config.json` names none. */
  readonly imageProcessorType: string;
  /** How token rows are padded. */
  readonly textPadding: TextPadding;
  /** Text clean-up before tokenising, unless the caller chooses. */
  readonly textCleaning: TextCleaning;
  /** Centre-crop offset rule, unless the caller chooses. */
  readonly cropRounding: CropRounding;
  /** Image embedding outputs, in order of preference. */
  readonly imageOutputs: readonly string[];
  /** Text embedding outputs, in order of preference. */
  readonly textOutputs: readonly string[];
  /**
   * Whether a text batch may run at its longest real row rather than at the padded width, when
   * the graph's sequence axis is dynamic: only where padding after the end token cannot reach the
   * pooled state (causal attention pooled at the end token; see the module notes).
   */
  readonly trimsTextPadding: boolean;
}

type FamilySettings = Omit<ModelFamily, "name" | "modelType">;

const CLIP_LIKE: FamilySettings = {
  imageProcessorType: "CLIPImageProcessor",
  textPadding: "max_length",
  textCleaning: "open_clip",
  cropRounding: "floor",
  imageOutputs: ["image_embeds"],
  textOutputs: ["text_embeds"],
  trimsTextPadding: true,
};

const FAMILIES: Record<Exclude<ModelFamilyName, "generic">, FamilySettings> = {
  clip: CLIP_LIKE,
  mobileclip: { ...CLIP_LIKE, trimsTextPadding: false },
  chinese_clip: {
    imageProcessorType: "ChineseCLIPImageProcessor",
    textPadding: "longest",
    textCleaning: "none",
    cropRounding: "floor",
    imageOutputs: ["image_embeds"],
    textOutputs: ["text_embeds"],
    trimsTextPadding: false,
  },
  siglip: {
    imageProcessorType: "SiglipImageProcessor",
    textPadding: "max_length",
    textCleaning: "none",
    cropRounding: "floor",
    imageOutputs: ["image_embeds", "pooler_output"],
    textOutputs: ["text_embeds", "pooler_output"],
    trimsTextPadding: false,
  },
  jina_clip: {
    imageProcessorType: "JinaCLIPImageProcessor",
    textPadding: "longest",
    textCleaning: "none",
    cropRounding: "round",
    imageOutputs: ["image_embeds", "image_embeddings", "l2norm_image_embeddings"],
    textOutputs: ["text_embeds", "text_embeddings", "l2norm_text_embeddings"],
    trimsTextPadding: false,
  },
};

const GENERIC: FamilySettings = {
  imageProcessorType: "CLIPImageProcessor",
  textPadding: "max_length",
  textCleaning: "none",
  cropRounding: "floor",
  imageOutputs: [
    "image_embeds",
    "image_embeddings",
    "l2norm_image_embeddings",
    "pooler_output",
  ],
  textOutputs: ["text_embeds", "text_embeddings", "l2norm_text_embeddings", "pooler_output"],
  trimsTextPadding: false,
};

/**
 * Whether a converted open_clip model's config (`open_clip_model_cfg.text_cfg`) declares a text
 * tower whose pooled state depends on the padding: bidirectional (`no_causal_mask`) or pooled at
 * the last position (`pool_type: "last"`).
 */
function paddingReachesPooledText(config: Record<string, unknown>): boolean {
  const modelCfg = config.open_clip_model_cfg;
  if (!modelCfg || typeof modelCfg !== "object") return false;
  const textCfg = (modelCfg as Record<string, unknown>).text_cfg;
  if (!textCfg || typeof textCfg !== "object") return false;
  const { no_causal_mask: noCausalMask, pool_type: poolType } = textCfg as Record<string, unknown>;
  return noCausalMask === true || poolType === "last";
}

/** The family of a parsed `config.json`, by its `model_type`. */
export function modelFamily(config: Record<string, unknown>): ModelFamily {
  const modelType = typeof config.model_type === "string" ? config.model_type : undefined;
  if (modelType !== undefined && Object.hasOwn(FAMILIES, modelType)) {
    const name = modelType as keyof typeof FAMILIES;
    const settings = FAMILIES[name];
    const trimsTextPadding = settings.trimsTextPadding && !paddingReachesPooledText(config);
    return { name, modelType, ...settings, trimsTextPadding };
  }
  return { name: "generic", modelType, ...GENERIC };
}
