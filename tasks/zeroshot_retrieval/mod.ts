/**
 * Zero-shot image–text retrieval, as CLIP_benchmark and evalscope compute it
 * (`zeroshot_retrieval.evaluate`).
 *
 * 1. Each sample holds an image and its captions: the `txt` field decoded as UTF-8 and split
 *    into lines as webdataset and CLIP_benchmark do (`bytes.decode("utf-8")`, then
 *    `str.splitlines`; {@linkcode splitCaptions}). Lines are not stripped and empty lines are
 *    kept as empty captions, as there. Images are numbered in the order they are scored; every
 *    caption keeps the number of its image.
 * 2. Images and captions are encoded into L2-normalised embeddings batch by batch; only the
 *    embeddings are kept ({@linkcode RetrievalAccumulator}).
 * 3. At the end, `image_retrieval_recall@k` and `text_retrieval_recall@k` for each k of the list
 *    (see src/metrics/retrieval.ts for the definitions, ties and rounding).
 *
 * Where this differs from the reference on purpose: a sample without a `txt` field, with a `txt`
 * that is not UTF-8, or with no caption at all (an empty `txt`) is skipped, counted and listed
 * like a sample whose image cannot be decoded. CLIP_benchmark fails on the first two; an image
 * without captions it keeps, as a candidate for image retrieval and as a miss in text retrieval.
 *
 * The task reads anything with the shape of a WebDataset ({@linkcode RetrievalDataset}), so a
 * custom `image_queries.jsonl` folder (src/dataset/custom.ts) goes through the same code.
 *
 * {@linkcode evaluateZeroShotRetrievalShard} runs one shard of a sharded evaluation
 * (src/dataset/sharding/shard_reading.ts) and returns its embeddings with the images' positions, which
 * src/results/partial/merge.ts renumbers into the unsharded order ({@linkcode zeroShotRetrievalResult}
 * builds both results).
 *
 * @module
 */

import type { SampleReadOptions } from "../../src/dataset/wds.ts";
import { DatasetError, UsageError } from "../../src/errors.ts";
import {
  imageEmbeddingBatches,
  type PipelineOptions,
} from "../../src/pipeline/image_embeddings.ts";
import {
  RetrievalAccumulator,
  type RetrievalMetrics,
  validateRecallK,
} from "../../src/metrics/retrieval.ts";
import type { ClipModel } from "../../src/model/model.ts";
import type { SkippedSample, TaskResult } from "../../src/results/result.ts";
import type { Sample } from "../../src/dataset/webdataset.ts";
import type { ShardOutcome } from "../../src/results/partial/shard_outcome.ts";
import {
  evaluationSamples,
  type PositionedSkip,
  PositionList,
  ShardReader,
} from "../../src/dataset/sharding/shard_reading.ts";
import type { ShardSpec } from "../../src/dataset/sharding/shard_spec.ts";
import { type EvaluationProgress, SampleTally } from "../../src/run/sample_tally.ts";

/** The recall@k list used when none is given. */
export const DEFAULT_RECALL_K: readonly number[] = [1, 5, 10];

/** What the retrieval task reads: a WebDataset, or anything that streams samples like one. */
export interface RetrievalDataset {
  /** The root as given (used in messages). */
  readonly root: string;
  /** Number of shards (for progress). */
  readonly nshards: number;
  /** The shards' locations; a sample's `source` is one of them (for progress). */
  readonly shardUrls: readonly string[];
  /**
   * Streams the samples in order: an image field and a `txt` field each. A sample its reader
   * could not assemble comes as a {@linkcode SkippedSample}.
   */
  samples(options?: SampleReadOptions): AsyncIterable<Sample | SkippedSample>;
}

/** Options for {@linkcode evaluateZeroShotRetrieval}. */
export interface ZeroShotRetrievalOptions extends PipelineOptions {
  /** Dataset name written into the result. */
  readonly datasetName: string;
  /** Images per batch, and captions per text-encoder batch; default 128. */
  readonly batchSize?: number;
  /** Score only the first `limit` samples in shard order. */
  readonly limit?: number;
  /**
   * The k of recall@k, in the order the metrics are written; default {@linkcode DEFAULT_RECALL_K}
   * (CLIP_benchmark's command line and evalscope use `[5]`).
   */
  readonly recallK?: readonly number[];
  /** Fail when more than this fraction of the samples is skipped; default 0.01. */
  readonly maxSkippedFraction?: number;
  /** Called as samples are read. */
  readonly onProgress?: (progress: EvaluationProgress) => void;
  /** Stops the evaluation. */
  readonly signal?: AbortSignal;
}

/** The result of a retrieval evaluation: a {@linkcode TaskResult} plus the counts. */
export interface ZeroShotRetrievalResult extends TaskResult {
  /** `zeroshot_retrieval`. */
  readonly task: "zeroshot_retrieval";
  /** For each k: `image_retrieval_recall@k`, then `text_retrieval_recall@k`. */
  readonly metrics: RetrievalMetrics;
  /** Images scored (the same as `n_samples`). */
  readonly n_images: number;
  /** Captions scored. */
  readonly n_captions: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Python's `str.splitlines()`: splits at `\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`–`\x1e`, `\x85`,
 * U+2028 and U+2029; a final line boundary adds no empty line; lines are not stripped.
 */
export function splitCaptions(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (
      code === 0x0a || code === 0x0d || code === 0x0b || code === 0x0c ||
      (code >= 0x1c && code <= 0x1e) || code === 0x85 || code === 0x2028 || code === 0x2029
    ) {
      lines.push(text.slice(start, index));
      index += code === 0x0d && text.charCodeAt(index + 1) === 0x0a ? 2 : 1;
      start = index;
    } else {
      index++;
    }
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/**
 * A sample's captions: its `txt` field as UTF-8 (strictly, a byte-order mark kept, as Python's
 * `bytes.decode("utf-8")`), split by {@linkcode splitCaptions}.
 *
 * @throws {Error} when there is no `txt` field, it is not UTF-8, or it holds no line.
 */
export function sampleCaptions(sample: Sample): string[] {
  const bytes = sample.fields.get("txt");
  if (bytes === undefined) {
    throw new Error(
      `no captions (no txt field; fields: ${[...sample.fields.keys()].join(", ") || "none"})`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Error("the txt field is not valid UTF-8");
  }
  const captions = splitCaptions(text);
  if (captions.length === 0) throw new Error("no captions (the txt field is empty)");
  return captions;
}

/**
 * A retrieval result, its fields in the order the file has them. Used by the unsharded run and by
 * the merge of a sharded one, so both write the same file.
 */
export function zeroShotRetrievalResult(
  fields: { readonly dataset: string; readonly model: string },
  metrics: RetrievalMetrics,
  counts: {
    images: number;
    captions: number;
    skippedCount: number;
    skipped: readonly SkippedSample[];
  },
): ZeroShotRetrievalResult {
  return {
    dataset: fields.dataset,
    model: fields.model,
    task: "zeroshot_retrieval",
    metrics,
    n_samples: counts.images,
    n_images: counts.images,
    n_captions: counts.captions,
    n_skipped: counts.skippedCount,
    skipped: counts.skipped,
  };
}

/** What {@linkcode encodeDataset} collected. */
interface EncodedDataset {
  readonly accumulator?: RetrievalAccumulator;
  readonly tally: SampleTally;
  readonly positionedSkipped?: readonly PositionedSkip[];
}

/**
 * Encodes the images and captions — of all samples (up to `limit`), or of one shard's when
 * `shard` is given, whose positions it records.
 */
async function encodeDataset(
  model: ClipModel,
  dataset: RetrievalDataset,
  options: ZeroShotRetrievalOptions,
  shard?: { reader: ShardReader; positions: PositionList },
): Promise<EncodedDataset> {
  const batchSize = options.batchSize ?? 128;
  const tally = new SampleTally(dataset, options);
  const { samples, skips, positionedSkipped } = evaluationSamples(
    dataset,
    tally,
    options,
    shard?.reader,
  );
  let accumulator: RetrievalAccumulator | undefined;
  const batches = imageEmbeddingBatches(samples, model, {
    batchSize,
    extract: (sample) => ({
      captions: sampleCaptions(sample),
      position: shard?.reader.positionOf(sample),
    }),
    onSkip: skips.onSkip,
    onSample: skips.onSample,
    numWorkers: options.numWorkers,
    inferenceWorker: options.inferenceWorker,
    signal: options.signal,
  });

  // Embeddings are added strictly in batch order, which numbers the images; each batch's
  // captions are encoded as it arrives (the decoders keep working meanwhile).
  for await (const images of batches) {
    const captions = images.items.flatMap((item) => item.captions);
    const owners = new Int32Array(captions.length);
    let next = 0;
    images.items.forEach((item, image) => owners.fill(image, next, next += item.captions.length));
    const texts = await model.encodeTexts(captions, batchSize, { signal: options.signal });
    if (images.dim !== texts.dim) {
      throw new DatasetError(
        `${model.name}: image embeddings have ${images.dim} dimensions, text embeddings ` +
          `${texts.dim}; retrieval compares them`,
      );
    }
    accumulator ??= new RetrievalAccumulator(images.dim);
    const first = accumulator.addImages(images.embeddings, images.count);
    for (let i = 0; i < owners.length; i++) owners[i] += first;
    accumulator.addCaptions(texts.embeddings, owners);
    if (shard) { for (const item of images.items) shard.positions.push(item.position!); }
  }
  return { accumulator, tally, positionedSkipped };
}

/**
 * Runs zero-shot retrieval of `model` on a retrieval dataset.
 *
 * @throws {UsageError} when the recall@k list is empty or holds something other than positive
 * integers, or a k exceeds the number of images or captions scored (known before reading when
 * `limit` is smaller than a k).
 * @throws {DatasetError} when no sample could be scored, or more than `maxSkippedFraction` of
 * the samples had to be skipped.
 */
export async function evaluateZeroShotRetrieval(
  model: ClipModel,
  dataset: RetrievalDataset,
  options: ZeroShotRetrievalOptions,
): Promise<ZeroShotRetrievalResult> {
  const recallK = options.recallK ?? DEFAULT_RECALL_K;
  validateRecallK(recallK);
  const largestK = Math.max(...recallK);
  if (options.limit !== undefined && options.limit < largestK) {
    throw new UsageError(
      `recall@${largestK} ranks ${largestK} images, but a limit of ${options.limit} samples ` +
        `scores at most ${options.limit} images`,
    );
  }
  const { accumulator, tally } = await encodeDataset(model, dataset, options);
  const scored = accumulator?.imageCount ?? 0;
  tally.check(scored);
  return zeroShotRetrievalResult(
    { dataset: options.datasetName, model: model.name },
    accumulator!.result(recallK),
    {
      images: scored,
      captions: accumulator!.captionCount,
      skippedCount: tally.skippedCount,
      skipped: tally.skipped,
    },
  );
}

/**
 * Runs one shard of a zero-shot retrieval (src/dataset/sharding/shard_reading.ts says which samples) and returns
 * the embeddings it collected, for src/results/partial/merge.ts to merge with the other shards. `limit`
 * is not allowed; the recall@k list is checked against the numbers of images and captions, and
 * the skipped-sample threshold over all samples, by the merge.
 *
 * @throws {UsageError} when `limit` is given or the recall@k list is invalid.
 */
export async function evaluateZeroShotRetrievalShard(
  model: ClipModel,
  dataset: RetrievalDataset,
  options: ZeroShotRetrievalOptions,
  shard: ShardSpec,
): Promise<ShardOutcome> {
  if (options.limit !== undefined) {
    throw new UsageError("a limit cannot be combined with a shard (see --shard in the README)");
  }
  const recallK = options.recallK ?? DEFAULT_RECALL_K;
  validateRecallK(recallK);
  const reader = new ShardReader(dataset, shard);
  const positions = new PositionList();
  const { accumulator, tally, positionedSkipped } = await encodeDataset(
    model,
    dataset,
    options,
    { reader, positions },
  );
  const captionCounts = new Int32Array(accumulator?.imageCount ?? 0);
  for (const image of accumulator?.captionImageIndices() ?? []) captionCounts[image]++;
  return {
    shard,
    reading: { mode: reader.plan.mode, tarShards: reader.plan.tarShards, nshards: dataset.nshards },
    datasetRoot: dataset.root,
    resultFields: {
      dataset: options.datasetName,
      model: model.name,
      task: "zeroshot_retrieval",
    },
    taskFingerprint: { kind: "retrieval", recall_k: [...recallK] },
    state: {
      kind: "retrieval",
      dim: accumulator?.dim ?? 0,
      images: accumulator?.imageEmbeddings() ?? new Float32Array(0),
      captions: accumulator?.captionEmbeddings() ?? new Float32Array(0),
      captionCounts,
      positions: { shards: positions.shards(), indices: positions.indices() },
    },
    read: tally.read,
    scored: accumulator?.imageCount ?? 0,
    skippedCount: tally.skippedCount,
    skipped: positionedSkipped ?? [],
  };
}
