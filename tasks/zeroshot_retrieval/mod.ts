/**
 * Zero-shot image–text retrieval, as CLIP_benchmark and evalscope compute it
 * (`zeroshot_retrieval.evaluate`) — the task as it plugs into the skeleton every task shares
 * (tasks/task.ts).
 *
 * 1. Each sample holds an image and its captions: the `txt` field decoded as UTF-8 and split
 *    into lines as webdataset and CLIP_benchmark do (tasks/zeroshot_retrieval/captions.ts).
 *    Images are numbered in the order they are scored; every caption keeps the number of its
 *    image.
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
 * (src/dataset/sharding/shard_reading.ts) and returns its embeddings with the images' positions,
 * which tasks/zeroshot_retrieval/merge.ts renumbers into the unsharded order
 * (tasks/zeroshot_retrieval/result.ts builds both results).
 *
 * @module
 */

import type { ShardSpec } from "../../src/dataset/sharding/shard_spec.ts";
import type { Sample } from "../../src/dataset/webdataset.ts";
import type { SampleReadOptions } from "../../src/dataset/wds.ts";
import { DatasetError, UsageError } from "../../src/errors.ts";
import { RetrievalAccumulator, validateRecallK } from "../../src/metrics/retrieval.ts";
import type { ClipModel } from "../../src/model/model.ts";
import type { ShardOutcome } from "../../src/results/partial/shard_outcome.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import type { TaskDefinition } from "../../src/run/task_registry.ts";
import {
  type BatchScorer,
  defineTask,
  evaluateImageTask,
  evaluateImageTaskShard,
  type ImageTask,
  type ImageTaskOptions,
} from "../task.ts";
import { sampleCaptions } from "./captions.ts";
import { mergeRetrievalShards } from "./merge.ts";
import { retrievalRows } from "./predictions.ts";
import {
  retrievalSettings,
  type ZeroShotRetrievalResult,
  zeroShotRetrievalResult,
} from "./result.ts";

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
export interface ZeroShotRetrievalOptions extends ImageTaskOptions {
  /**
   * The k of recall@k, in the order the metrics are written; default {@linkcode DEFAULT_RECALL_K}
   * (CLIP_benchmark's command line and evalscope use `[5]`).
   */
  readonly recallK?: readonly number[];
}

/** The embeddings of the images and captions scored so far. */
interface RetrievalScorer extends BatchScorer<string[]> {
  /** The accumulator, once a batch was scored. */
  accumulator(): RetrievalAccumulator | undefined;
}

const recallKOf = (options: ZeroShotRetrievalOptions) => options.recallK ?? DEFAULT_RECALL_K;

/** Zero-shot retrieval as the skeleton (tasks/task.ts) runs it. */
const zeroShotRetrieval: ImageTask<
  RetrievalDataset,
  ZeroShotRetrievalOptions,
  string[],
  RetrievalScorer,
  ZeroShotRetrievalResult
> = {
  name: "zeroshot_retrieval",
  datasetOf: (run) => run.dataset,
  optionsOf: (run) => ({ ...run.common, recallK: run.plan.recallK }),
  settings: (_dataset, options) => retrievalSettings(recallKOf(options)).task_settings,
  validate(options) {
    const recallK = recallKOf(options);
    validateRecallK(recallK);
    const largestK = Math.max(...recallK);
    if (options.limit !== undefined && options.limit < largestK) {
      throw new UsageError(
        `recall@${largestK} ranks ${largestK} images, but a limit of ${options.limit} samples ` +
          `scores at most ${options.limit} images`,
      );
    }
  },
  prepare({ model, options, batchSize }) {
    let accumulator: RetrievalAccumulator | undefined;
    return Promise.resolve({
      accumulator: () => accumulator,
      payload: sampleCaptions,
      // Embeddings are added strictly in batch order, which numbers the images; each batch's
      // captions are encoded as it arrives (the decoders keep working meanwhile).
      async score(images, rows) {
        const captions = images.items.flat();
        const owners = new Int32Array(captions.length);
        let next = 0;
        images.items.forEach((own, image) => owners.fill(image, next, next += own.length));
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
        // A shard's rows say how many captions each image has; ranks need every image, so a
        // whole run's rows come at the end (finalPredictions) and a shard's from the merge.
        return rows === "shard" ? images.items.map((own) => ({ captions: own.length })) : undefined;
      },
      scored: () => accumulator?.imageCount ?? 0,
    });
  },
  predictionsHeader: (_scorer, { options }) => ({
    kind: "retrieval",
    recall_k: [...recallKOf(options)],
  }),
  finalPredictions: (scorer) => {
    const accumulator = scorer.accumulator();
    return accumulator ? retrievalRows(accumulator) : [];
  },
  result(scorer, { model, options }, skips) {
    const accumulator = scorer.accumulator()!;
    return zeroShotRetrievalResult(
      { dataset: options.datasetName, model: model.name },
      accumulator.result(recallKOf(options)),
      recallKOf(options),
      { images: accumulator.imageCount, captions: accumulator.captionCount, ...skips },
    );
  },
  shardState(scorer, { model, options }, positions) {
    const accumulator = scorer.accumulator();
    const captionCounts = new Int32Array(accumulator?.imageCount ?? 0);
    for (const image of accumulator?.captionImageIndices() ?? []) captionCounts[image]++;
    return {
      resultFields: {
        dataset: options.datasetName,
        model: model.name,
        task: "zeroshot_retrieval",
      },
      taskFingerprint: { kind: "retrieval", recall_k: [...recallKOf(options)] },
      state: {
        kind: "retrieval",
        dim: accumulator?.dim ?? 0,
        images: accumulator?.imageEmbeddings() ?? new Float32Array(0),
        captions: accumulator?.captionEmbeddings() ?? new Float32Array(0),
        captionCounts,
        positions: { shards: positions.shards(), indices: positions.indices() },
      },
    };
  },
  merge: mergeRetrievalShards,
};

/** Zero-shot image–text retrieval (WebDatasets with captions, and evalscope's custom folders). */
export const zeroShotRetrievalTask: TaskDefinition = defineTask(zeroShotRetrieval);

/**
 * Runs zero-shot retrieval of `model` on a retrieval dataset.
 *
 * @throws {UsageError} when the recall@k list is empty or holds something other than positive
 * integers, or a k exceeds the number of images or captions scored (known before reading when
 * `limit` is smaller than a k).
 * @throws {DatasetError} when no sample could be scored, or more than `maxSkippedFraction` of
 * the samples had to be skipped.
 */
export function evaluateZeroShotRetrieval(
  model: ClipModel,
  dataset: RetrievalDataset,
  options: ZeroShotRetrievalOptions,
): Promise<ZeroShotRetrievalResult> {
  return evaluateImageTask(zeroShotRetrieval, model, dataset, options);
}

/**
 * Runs one shard of a zero-shot retrieval (src/dataset/sharding/shard_reading.ts says which
 * samples) and returns the embeddings it collected, for src/results/partial/merge.ts to merge with
 * the other shards. `limit` is not allowed; the recall@k list is checked against the numbers of
 * images and captions, and the skipped-sample threshold over all samples, by the merge.
 *
 * @throws {UsageError} when `limit` is given or the recall@k list is invalid.
 */
export function evaluateZeroShotRetrievalShard(
  model: ClipModel,
  dataset: RetrievalDataset,
  options: ZeroShotRetrievalOptions,
  shard: ShardSpec,
): Promise<ShardOutcome> {
  return evaluateImageTaskShard(zeroShotRetrieval, model, dataset, options, shard);
}
