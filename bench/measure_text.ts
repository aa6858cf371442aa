/**
 * The text tower's cost for zero-shot classification: prompts per second through
 * `ClipModel.encodeTexts` (tokenisation included, and timed apart), and the wall time of
 * building the classifier (`buildZeroShotClassifier`: every distinct class × template prompt
 * encoded, averaged per class), and the same through the on-disk classifier cache
 * (`zeroShotClassifier`) in an empty cache folder, first (the text tower runs, the entry is
 * written) and a second time (the entry is read). A big label set's cost is extrapolated from
 * the measured rate and labelled as such (imagenet1k: 1,000 classes × 80 templates = 80,000
 * prompts). The record says how the rows ran: prompts' real lengths, and whether each batch ran at
 * its longest prompt (CLIP over a graph with a dynamic sequence axis) or at the padded context.
 *
 * @module
 */

import type { ClipModel } from "../src/model/model.ts";
import {
  buildZeroShotClassifier,
  zeroShotClassifier,
} from "../tasks/zeroshot_classification/classifier.ts";
import { classPrompts } from "../tasks/zeroshot_classification/prompts.ts";

/** What {@linkcode measureText} measured. */
export interface TextMeasure {
  /** Classes and templates of the label set. */
  readonly classes: number;
  /** Templates per class. */
  readonly templates: number;
  /** Prompts encoded (classes × templates). */
  readonly prompts: number;
  /** Prompts per text-tower run. */
  readonly batchSize: number;
  /**
   * How the prompts' rows ran: their real lengths (special tokens included), the context the
   * tokenizer pads them to, whether each batch ran at its longest real row instead
   * (`TextTower.trimsPadding`), and whether batches were formed by length
   * (`ClipModel.textBatchesFollowLength`).
   */
  readonly rows: {
    readonly tokens: { readonly min: number; readonly median: number; readonly max: number };
    readonly context: number;
    readonly trimmed: boolean;
    readonly sortedByLength: boolean;
  };
  /** Seconds tokenising all prompts. */
  readonly tokenizeSeconds: number;
  /** Seconds encoding all prompts (tokenising included). */
  readonly encodeSeconds: number;
  /** Prompts per second through `encodeTexts`. */
  readonly promptsPerSecond: number;
  /** Wall seconds of `buildZeroShotClassifier` for the label set. */
  readonly classifierSeconds: number;
  /** The classifier through the on-disk cache, in a fresh cache folder. */
  readonly cache: {
    /** First run: the text tower runs and the entry is written. */
    readonly firstSeconds: number;
    /** Second run: the entry is read. */
    readonly secondSeconds: number;
    /** Whether the second run came from the cache. */
    readonly secondFromCache: boolean;
    /** secondSeconds ÷ firstSeconds (target < 0.05). */
    readonly ratio: number;
  };
  /** Extrapolated, not measured: seconds for `classes` × `templates` prompts at the rate above. */
  readonly extrapolated: {
    readonly classes: number;
    readonly templates: number;
    readonly prompts: number;
    readonly seconds: number;
  };
}

/** The label set extrapolated to: imagenet1k's. */
const BIG_LABEL_SET = { classes: 1000, templates: 80 };

/**
 * Times the text tower on `classnames` × `templates` (see the module note); the cache runs use
 * a temporary folder, removed afterwards.
 */
export async function measureText(
  model: ClipModel,
  classnames: readonly string[],
  templates: readonly string[],
  batchSize: number,
): Promise<TextMeasure> {
  const prompts = classPrompts(classnames, templates).flat();
  await model.encodeTexts(prompts.slice(0, Math.min(batchSize, prompts.length)), batchSize);

  let started = performance.now();
  for (let start = 0; start < prompts.length; start += batchSize) {
    model.tokenizer.encodeBatch(prompts.slice(start, start + batchSize));
  }
  const tokenizeSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  await model.encodeTexts(prompts, batchSize);
  const encodeSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  await buildZeroShotClassifier(model, classnames, templates, batchSize);
  const classifierSeconds = (performance.now() - started) / 1000;

  const cacheDir = await Deno.makeTempDir({ prefix: "clipbench-bench-classifiers-" });
  let firstSeconds: number, secondSeconds: number, secondFromCache: boolean;
  try {
    started = performance.now();
    await zeroShotClassifier(model, classnames, templates, { batchSize, cacheDir });
    firstSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const second = await zeroShotClassifier(model, classnames, templates, { batchSize, cacheDir });
    secondSeconds = (performance.now() - started) / 1000;
    secondFromCache = second.fromCache;
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }

  const lengths = prompts.map((prompt) => model.tokenizer.encodeUnpadded(prompt).length)
    .sort((a, b) => a - b);
  const rows = {
    tokens: { min: lengths[0], median: lengths[lengths.length >> 1], max: lengths.at(-1)! },
    context: model.tokenizer.contextLength,
    trimmed: model.text.trimsPadding,
    sortedByLength: model.textBatchesFollowLength,
  };
  const promptsPerSecond = prompts.length / encodeSeconds;
  const bigPrompts = BIG_LABEL_SET.classes * BIG_LABEL_SET.templates;
  return {
    classes: classnames.length,
    templates: templates.length,
    prompts: prompts.length,
    batchSize,
    rows,
    tokenizeSeconds,
    encodeSeconds,
    promptsPerSecond,
    classifierSeconds,
    cache: { firstSeconds, secondSeconds, secondFromCache, ratio: secondSeconds / firstSeconds },
    extrapolated: { ...BIG_LABEL_SET, prompts: bigPrompts, seconds: bigPrompts / promptsPerSecond },
  };
}
