/**
 * What one shard of a sharded evaluation collected: the state its metrics need, in a form that
 * merges exactly with the other shards' (src/results/partial/merge.ts), plus the skip bookkeeping and the
 * result's descriptive fields.
 *
 * - zero-shot classification: the per-class counts and top-k hits
 *   ({@linkcode ClassificationState}) — kilobytes, whatever the number of samples;
 * - multi-label classification: every scored sample's float32 logits and 0/1 targets, with the
 *   sample's position, since the mean average precision ranks all samples of a class together;
 * - retrieval: every scored image's embedding and its captions' embeddings, with the image's
 *   position, since recall@k ranks every caption against every image.
 *
 * A **position** (src/dataset/sharding/shard_reading.ts) is a sample's tar shard and its index within it, so the
 * merge can put the rows back in the order an unsharded run scores them.
 *
 * @module
 */

import type { ClassificationState } from "../../metrics/classification.ts";
import type { TorchVectorLanes } from "../../metrics/multilabel.ts";
import type { PositionedSkip, ShardReadingMode } from "../../dataset/sharding/shard_reading.ts";
import type { ShardSpec } from "../../dataset/sharding/shard_spec.ts";

/** The positions of a shard's scored samples, in the order it scored them. */
export interface ShardPositions {
  /** Tar shard of each scored sample. */
  readonly shards: Int32Array;
  /** Index within its tar shard of each scored sample. */
  readonly indices: Int32Array;
}

/** The counts of a shard of a single-label classification. */
export interface ClassificationShardState {
  /** Single-label classification. */
  readonly kind: "classification";
  /** The accumulated counts. */
  readonly counts: ClassificationState;
}

/** The rows of a shard of a multi-label classification. */
export interface MultilabelShardState {
  /** Multi-label classification. */
  readonly kind: "multilabel";
  /** Number of classes (row length). */
  readonly numClasses: number;
  /** The torch vector width whose float32 sums the mAP reproduces. */
  readonly torchVectorLanes: TorchVectorLanes;
  /** `scored × numClasses` float32 logits, row-major, in scoring order. */
  readonly scores: Float32Array;
  /** `scored × numClasses` 0/1 targets. */
  readonly targets: Uint8Array;
  /** Position of each row's sample. */
  readonly positions: ShardPositions;
}

/** The embeddings of a shard of a retrieval evaluation. */
export interface RetrievalShardState {
  /** Image–text retrieval. */
  readonly kind: "retrieval";
  /** Embedding size (0 when the shard scored no image). */
  readonly dim: number;
  /** `images × dim` image embeddings, in scoring order. */
  readonly images: Float32Array;
  /** Caption embeddings: each image's captions in order, images in scoring order. */
  readonly captions: Float32Array;
  /** Captions of each image. */
  readonly captionCounts: Int32Array;
  /** Position of each image's sample. */
  readonly positions: ShardPositions;
}

/** A shard's metric state, by task. */
export type ShardMetricState =
  | ClassificationShardState
  | MultilabelShardState
  | RetrievalShardState;

/** How the shard read the dataset (src/dataset/sharding/shard_reading.ts). */
export interface ShardReadingRecord {
  /** Whole tar shards, or slices of them. */
  readonly mode: ShardReadingMode;
  /** The tar shards it opened. */
  readonly tarShards: readonly number[];
  /** Tar shards of the dataset. */
  readonly nshards: number;
}

/** What one shard of an evaluation collected. */
export interface ShardOutcome {
  /** Which shard. */
  readonly shard: ShardSpec;
  /** How it read the dataset. */
  readonly reading: ShardReadingRecord;
  /** The dataset's root, as opened (for messages). */
  readonly datasetRoot: string;
  /**
   * The result's fields other than its metrics and counts, exactly as the unsharded run writes
   * them (`dataset`, `model`, `task`, and for classification `classnames_source`,
   * `templates_source` and the dumped lists).
   */
  readonly resultFields: Readonly<Record<string, unknown>>;
  /**
   * What the shard's numbers depend on besides the model and the dataset: class names, prompts
   * and the classifier's hash, or the recall@k list. Part of the partial's fingerprint.
   */
  readonly taskFingerprint: Readonly<Record<string, unknown>>;
  /** The metric state. */
  readonly state: ShardMetricState;
  /** Samples read (scored or skipped). */
  readonly read: number;
  /** Samples scored. */
  readonly scored: number;
  /** Samples skipped. */
  readonly skippedCount: number;
  /** The first skipped samples, with their positions. */
  readonly skipped: readonly PositionedSkip[];
}
