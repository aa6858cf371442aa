/**
 * The zero-shot classifier and its logits. For each class, in order, its prompts
 * (tasks/zeroshot_classification/prompts.ts) are encoded — each distinct prompt once — and the
 * L2-normalised prompt embeddings averaged and the mean re-normalised; the classifier is cached on
 * disk (tasks/zeroshot_classification/classifier_cache.ts), so a second run on the same prompts
 * skips the text tower. Each image embedding is scored against every class: logits = 100 · cosine,
 * in float64 from the float32 embeddings.
 *
 * @module
 */

import type { ZeroShotTemplates } from "../../src/dataset/prompts.ts";
import { DatasetError } from "../../src/errors.ts";
import type { ClipModel } from "../../src/model/model.ts";
import {
  type CachedClassifier,
  cachedClassifier,
  type ClassifierCacheOptions,
} from "./classifier_cache.ts";
import { classPrompts, deduplicatePrompts } from "./prompts.ts";

/**
 * Builds the zero-shot classifier: one L2-normalised mean prompt embedding per class, from the
 * prompts {@linkcode classPrompts} gives. A prompt that occurs more than once (in one class or
 * several) is encoded once: the distinct prompts go through the text tower in batches of
 * `batchSize`, in order of first occurrence.
 *
 * @returns `classnames.length × dim` weights (float64, row-major), `dim`, and the number of
 * prompts encoded (`encodedPrompts`).
 * @throws {DatasetError} when there are no class names, no templates, or a class has no prompts.
 */
export async function buildZeroShotClassifier(
  model: ClipModel,
  classnames: readonly string[],
  templates: ZeroShotTemplates,
  batchSize = 128,
  templatesSource?: string,
): Promise<{ weights: Float64Array; dim: number; encodedPrompts: number }> {
  if (classnames.length === 0) throw new DatasetError("the dataset has no class names");
  return await classifierFromPrompts(
    model,
    classPrompts(classnames, templates, templatesSource),
    batchSize,
  );
}

/** The classifier of each class's prompts (see {@linkcode buildZeroShotClassifier}). */
async function classifierFromPrompts(
  model: ClipModel,
  prompts: readonly (readonly string[])[],
  batchSize: number,
  signal?: AbortSignal,
): Promise<{ weights: Float64Array; dim: number; encodedPrompts: number }> {
  const { unique, indices } = deduplicatePrompts(prompts);
  const { embeddings, dim } = await model.encodeTexts(unique, batchSize, { signal });
  const weights = new Float64Array(prompts.length * dim);
  for (let c = 0; c < prompts.length; c++) {
    const row = weights.subarray(c * dim, (c + 1) * dim);
    const count = indices[c].length;
    for (const index of indices[c]) {
      const offset = index * dim;
      for (let i = 0; i < dim; i++) row[i] += embeddings[offset + i];
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      row[i] /= count;
      norm += row[i] * row[i];
    }
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let i = 0; i < dim; i++) row[i] *= scale;
  }
  return { weights, dim, encodedPrompts: unique.length };
}

/** Options of {@linkcode zeroShotClassifier}. */
export interface ZeroShotClassifierOptions extends ClassifierCacheOptions {
  /** Prompts per text batch; default 128. */
  readonly batchSize?: number;
  /** Names the templates in error messages. */
  readonly templatesSource?: string;
  /** Stops the text tower between batches. */
  readonly signal?: AbortSignal;
}

/**
 * {@linkcode buildZeroShotClassifier} through the classifier cache
 * (tasks/zeroshot_classification/classifier_cache.ts): a classifier built before from the same
 * text model, tokenizer, settings and prompts is read from disk and the text tower does not run
 * (`fromCache`); `noCache` always builds it.
 *
 * @throws {DatasetError} as {@linkcode buildZeroShotClassifier}.
 */
export async function zeroShotClassifier(
  model: ClipModel,
  classnames: readonly string[],
  templates: ZeroShotTemplates,
  options: ZeroShotClassifierOptions = {},
): Promise<CachedClassifier> {
  if (classnames.length === 0) throw new DatasetError("the dataset has no class names");
  const batchSize = options.batchSize ?? 128;
  const prompts = classPrompts(classnames, templates, options.templatesSource);
  return await cachedClassifier(
    model,
    prompts,
    batchSize,
    () => classifierFromPrompts(model, prompts, batchSize, options.signal),
    options,
  );
}

/** logits[i][c] = 100 · ⟨image_i, class_c⟩, for `count` image rows. */
export function classificationLogits(
  images: Float32Array,
  count: number,
  weights: Float64Array,
  dim: number,
): Float64Array {
  const classes = weights.length / dim;
  const logits = new Float64Array(count * classes);
  for (let i = 0; i < count; i++) {
    const image = images.subarray(i * dim, (i + 1) * dim);
    for (let c = 0; c < classes; c++) {
      let dot = 0;
      const offset = c * dim;
      for (let k = 0; k < dim; k++) dot += image[k] * weights[offset + k];
      logits[i * classes + c] = 100 * dot;
    }
  }
  return logits;
}
