/**
 * The named presets of the model generator.
 *
 * `vit-b-32` is OpenAI's ViT-B/32 as Hugging Face's `openai/clip-vit-base-patch32` declares it;
 * `tiny` keeps its input sizes (224-pixel images, 77-token texts, the same preprocessing) with
 * tiny widths and depths, for tests and smoke runs.
 *
 * @module
 */

import type { ClipShape } from "../../src/convert/graph/clip_shape.ts";

/** Names of the presets in {@linkcode CLIP_PRESETS}. */
export type ClipPreset = "tiny" | "vit-b-32";

/** The presets by name. */
export const CLIP_PRESETS: Readonly<Record<ClipPreset, ClipShape>> = {
  tiny: {
    vision: { imageSize: 224, patchSize: 32, width: 32, layers: 2, heads: 2, intermediate: 64 },
    text: {
      contextLength: 77,
      vocabSize: 1024,
      width: 32,
      layers: 2,
      heads: 2,
      intermediate: 64,
    },
    embedDim: 16,
    activation: "quick_gelu",
  },
  "vit-b-32": {
    vision: {
      imageSize: 224,
      patchSize: 32,
      width: 768,
      layers: 12,
      heads: 12,
      intermediate: 3072,
    },
    text: {
      contextLength: 77,
      vocabSize: 49408,
      width: 512,
      layers: 12,
      heads: 8,
      intermediate: 2048,
    },
    embedDim: 512,
    activation: "quick_gelu",
  },
};
