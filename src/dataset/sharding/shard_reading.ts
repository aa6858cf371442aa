/**
 * Which samples shard `i` of `n` evaluates, reading as few tar files as it can, and where each of
 * them stands in the dataset's global order (so that partial results can be merged back into
 * exactly the order an unsharded run scores them in).
 *
 * With `T` tar shards (`nshards.txt`) and `n` workers:
 *
 * - **`n ≤ T`: whole tar shards.** Worker `i` reads tar shards `i, i + n, i + 2n, …` and scores
 *   every sample in them. Every tar file is read once in all; workers differ by at most one tar
 *   file of work.
 * - **`n > T`: slices of tar shards.** Sample `j` (0-based, counting every sample the shard
 *   yields, usable or not) of tar shard `s` belongs to worker `⌊(s·n + (j mod n)) / T⌋`. Think of
 *   the tar shards laid end to end on a line of length `T`, each cut into `n` residues of its
 *   sample indices: worker `i` owns the stretch `[i·T/n, (i+1)·T/n)`, which touches one or two tar
 *   shards. Each worker gets `T` of the `n` residue classes of a shard in all, so equal-sized tar
 *   shards give equal work. The cost: a worker reads (transfers and un-tars) the whole of the one
 *   or two tar files it touches but decodes and encodes only its own samples, so each tar file is
 *   read about `n/T + 1` times in all. No counting pass is needed: the rule uses only the sample's
 *   index within its tar file.
 *
 * A sample's **position** is its tar shard and its index within it; sorting positions gives the
 * order in which an unsharded run reads the samples (shard 0 first, each shard in file order).
 *
 * @module
 */

import { MAX_LISTED_SKIPS, type SkippedSample } from "../../results/result.ts";
import type { SampleReadOptions } from "../wds.ts";
import type { ShardSpec } from "./shard_spec.ts";
import type { Sample } from "../webdataset.ts";

/** How a worker's samples are chosen (see the module documentation). */
export type ShardReadingMode = "tar_shards" | "samples";

/** What shard `i` of `n` reads. */
export interface ShardReadingPlan {
  /** Whole tar shards (`n ≤ T`) or slices of tar shards (`n > T`). */
  readonly mode: ShardReadingMode;
  /** The tar shards this worker opens, ascending (at least one). */
  readonly tarShards: readonly number[];
  /** Tar shards of the dataset (`T`). */
  readonly nshards: number;
  /** The shard. */
  readonly spec: ShardSpec;
}

/** Where a sample stands in the dataset: its tar shard and its index within that shard. */
export interface SamplePosition {
  /** Tar shard index. */
  readonly shard: number;
  /** Index of the sample within the tar shard (counting every sample the shard yields). */
  readonly index: number;
}

/** A skipped sample and its position. */
export interface PositionedSkip extends SkippedSample {
  /** Tar shard index. */
  readonly shard: number;
  /** Index within the tar shard. */
  readonly index: number;
}

/**
 * The worker (shard index) that scores sample `index` of tar shard `shard`, for a dataset of
 * `nshards` tar shards split `count` ways.
 */
export function sampleOwner(shard: number, index: number, nshards: number, count: number): number {
  if (count <= nshards) return shard % count;
  return Math.floor((shard * count + (index % count)) / nshards);
}

/**
 * The tar shards shard `spec` reads of a dataset of `nshards` tar shards, and how it picks
 * samples in them.
 *
 * @throws {RangeError} when `nshards` is not a positive integer.
 */
export function shardReadingPlan(nshards: number, spec: ShardSpec): ShardReadingPlan {
  if (!Number.isInteger(nshards) || nshards < 1) {
    throw new RangeError(`a dataset needs a positive number of shards, got ${nshards}`);
  }
  const { index, count } = spec;
  const tarShards: number[] = [];
  if (count <= nshards) {
    for (let s = index; s < nshards; s += count) tarShards.push(s);
    return { mode: "tar_shards", tarShards, nshards, spec };
  }
  // Worker `index` owns the values v = s·count + r in [index·T, (index + 1)·T - 1] (r < count).
  const low = index * nshards;
  const high = (index + 1) * nshards - 1;
  for (let s = 0; s < nshards; s++) {
    if (s * count <= high && s * count + count - 1 >= low) tarShards.push(s);
  }
  return { mode: "samples", tarShards, nshards, spec };
}

/** What a {@linkcode ShardReader} reads: anything that streams samples shard by shard. */
export interface ShardableDataset {
  /** Number of shards. */
  readonly nshards: number;
  /**
   * The shards' locations; a sample's `source` is one of them. Read only when the dataset has
   * no {@linkcode ShardableDataset.shardIndexOf} (a long list is costly to build).
   */
  readonly shardUrls: readonly string[];
  /** The shard index of a sample's `source` (a WebDataset maps it without listing every shard). */
  shardIndexOf?(source: string): number | undefined;
  /** Streams the samples of the listed shards, in order. */
  samples(options?: SampleReadOptions): AsyncIterable<Sample | SkippedSample>;
}

/**
 * Reads the samples of one shard of a dataset (see the module documentation) and remembers the
 * position of each sample it yields.
 */
export class ShardReader {
  /** What this shard reads. */
  readonly plan: ShardReadingPlan;
  readonly #dataset: ShardableDataset;
  readonly #positions = new WeakMap<object, SamplePosition>();
  #shardMap: ReadonlyMap<string, number> | undefined;

  /**
   * Creates a reader of shard `spec` of `dataset`.
   *
   * @throws {RangeError} when the dataset has no shards.
   */
  constructor(dataset: ShardableDataset, spec: ShardSpec) {
    this.#dataset = dataset;
    this.plan = shardReadingPlan(dataset.nshards, spec);
  }

  /** The shard index of a sample's `source`. */
  #shardOf(source: string): number | undefined {
    const dataset = this.#dataset;
    if (dataset.shardIndexOf !== undefined) return dataset.shardIndexOf(source);
    this.#shardMap ??= new Map(dataset.shardUrls.map((url, index) => [url, index]));
    return this.#shardMap.get(source);
  }

  /**
   * The shard's samples, in dataset order. A sample's `source` must be one of the dataset's
   * shard locations.
   *
   * @throws {Error} when a sample comes from a location that is not one of the dataset's shards.
   */
  async *samples(options: { signal?: AbortSignal } = {}): AsyncGenerator<Sample | SkippedSample> {
    const { nshards, spec, tarShards, mode } = this.plan;
    const counters = new Map<number, number>();
    const stream = this.#dataset.samples({ shards: tarShards, signal: options.signal });
    for await (const sample of stream) {
      const shard = this.#shardOf(sample.source);
      if (shard === undefined) {
        throw new Error(
          `sample ${sample.key} comes from ${sample.source}, not a shard of the dataset`,
        );
      }
      const index = counters.get(shard) ?? 0;
      counters.set(shard, index + 1);
      if (mode === "samples" && sampleOwner(shard, index, nshards, spec.count) !== spec.index) {
        continue;
      }
      this.#positions.set(sample, { shard, index });
      yield sample;
    }
  }

  /**
   * The position of a sample this reader yielded.
   *
   * @throws {Error} for an object the reader did not yield.
   */
  positionOf(sample: object): SamplePosition {
    const position = this.#positions.get(sample);
    if (position === undefined) throw new Error("positionOf: a sample this reader did not yield");
    return position;
  }
}

/** Positions of scored samples, in the order they were scored, in growing buffers. */
export class PositionList {
  #shards = new Int32Array(256);
  #indices = new Int32Array(256);
  #length = 0;

  /** Positions recorded. */
  get length(): number {
    return this.#length;
  }

  /** Records one position. */
  push(position: SamplePosition): void {
    if (this.#length === this.#shards.length) {
      const shards = new Int32Array(this.#length * 2);
      const indices = new Int32Array(this.#length * 2);
      shards.set(this.#shards);
      indices.set(this.#indices);
      this.#shards = shards;
      this.#indices = indices;
    }
    this.#shards[this.#length] = position.shard;
    this.#indices[this.#length] = position.index;
    this.#length++;
  }

  /** The tar shard of each recorded position. */
  shards(): Int32Array {
    return this.#shards.slice(0, this.#length);
  }

  /** The index within its tar shard of each recorded position. */
  indices(): Int32Array {
    return this.#indices.slice(0, this.#length);
  }
}

/** The skip callbacks a task passes to the image pipeline. */
export interface SkipCallbacks {
  /** A sample was skipped. */
  readonly onSkip: (skipped: SkippedSample) => void;
  /** A sample was handled (scored or skipped), in stream order. */
  readonly onSample: (sample: Sample | SkippedSample) => void;
}

/**
 * Wraps a task's skip callbacks so that each skipped sample is also recorded with its position
 * (the first {@linkcode MAX_LISTED_SKIPS}). The image pipeline reports a skip through `onSkip`
 * immediately before it reports the same sample through `onSample`, which carries the object the
 * reader yielded; the position comes from there.
 */
export function positionedSkips(
  reader: ShardReader,
  callbacks: SkipCallbacks,
): SkipCallbacks & { readonly skipped: PositionedSkip[] } {
  const skipped: PositionedSkip[] = [];
  let pending: SkippedSample | undefined;
  return {
    skipped,
    onSkip: (sample) => {
      pending = sample;
      callbacks.onSkip(sample);
    },
    onSample: (sample) => {
      if (pending !== undefined) {
        if (skipped.length < MAX_LISTED_SKIPS) {
          const { shard, index } = reader.positionOf(sample);
          skipped.push({
            key: pending.key,
            source: pending.source,
            reason: pending.reason,
            shard,
            index,
          });
        }
        pending = undefined;
      }
      callbacks.onSample(sample);
    },
  };
}

/**
 * What a task reads: all samples (up to `limit`), or — with a shard reader — that shard's, whose
 * skipped samples are then also recorded with their positions for the merge.
 */
export function evaluationSamples(
  dataset: ShardableDataset,
  tally: SkipCallbacks,
  options: { readonly limit?: number; readonly signal?: AbortSignal },
  reader?: ShardReader,
): {
  samples: AsyncIterable<Sample | SkippedSample>;
  skips: SkipCallbacks;
  positionedSkipped?: PositionedSkip[];
} {
  if (reader === undefined) {
    return {
      samples: dataset.samples({ limit: options.limit, signal: options.signal }),
      skips: tally,
    };
  }
  const positioned = positionedSkips(reader, tally);
  return {
    samples: reader.samples({ signal: options.signal }),
    skips: positioned,
    positionedSkipped: positioned.skipped,
  };
}
