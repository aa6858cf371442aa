/**
 * The bookkeeping every task does while it reads a dataset: counting samples read and skipped,
 * keeping the first skipped samples with their reasons, reporting progress with shard
 * information, and — once scoring is done — failing when nothing could be scored or when more
 * than the allowed fraction of the samples was skipped.
 *
 * @module
 */

import { DatasetError, UsageError } from "../errors.ts";
import { MAX_LISTED_SKIPS, type SkippedSample } from "../results/result.ts";

/** Progress of a running evaluation. */
export interface EvaluationProgress {
  /** Samples read so far (scored or skipped). */
  readonly samples: number;
  /** Samples skipped so far. */
  readonly skipped: number;
  /** The total, when known in advance (with a limit). */
  readonly total?: number;
  /** Index of the shard being read. */
  readonly shard: number;
  /** Number of shards. */
  readonly nshards: number;
}

/** What a {@linkcode SampleTally} needs to know about the dataset. */
export interface TalliedDataset {
  /** Folder or URL, for messages. */
  readonly root: string;
  /** Shard locations, in reading order (a sample's `source` is one of them). */
  readonly shardUrls: readonly string[];
  /** Number of shards; with `shardIndexOf`, `shardUrls` is never read (it may be long). */
  readonly nshards?: number;
  /** The shard index of a sample's `source`. */
  shardIndexOf?(source: string): number | undefined;
}

/** Options of {@linkcode SampleTally}. */
export interface SampleTallyOptions {
  /** The limit given to the reader, reported as the progress total. */
  readonly limit?: number;
  /** Fail when more than this fraction of the samples is skipped; default 0.01. */
  readonly maxSkippedFraction?: number;
  /** Called after each sample read. */
  readonly onProgress?: (progress: EvaluationProgress) => void;
}

/** Counts read and skipped samples for one evaluation and checks the outcome. */
export class SampleTally {
  /** The first {@linkcode MAX_LISTED_SKIPS} skipped samples. */
  readonly skipped: SkippedSample[] = [];
  /** All skipped samples. */
  skippedCount = 0;
  /** Samples read, scored or skipped. */
  read = 0;
  readonly #dataset: TalliedDataset;
  readonly #options: SampleTallyOptions;
  readonly #maxSkippedFraction: number;
  #shardIndex: ReadonlyMap<string, number> | undefined;

  /**
   * Creates a tally for one dataset.
   *
   * @throws {UsageError} when `maxSkippedFraction` is outside [0, 1].
   */
  constructor(dataset: TalliedDataset, options: SampleTallyOptions = {}) {
    const fraction = options.maxSkippedFraction ?? 0.01;
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new UsageError(`the skipped-sample threshold must be in [0, 1], got ${fraction}`);
    }
    this.#dataset = dataset;
    this.#options = options;
    this.#maxSkippedFraction = fraction;
  }

  #shardOf(source: string): number | undefined {
    const dataset = this.#dataset;
    if (dataset.shardIndexOf !== undefined && dataset.nshards !== undefined) {
      return dataset.shardIndexOf(source);
    }
    this.#shardIndex ??= new Map(dataset.shardUrls.map((url, index) => [url, index]));
    return this.#shardIndex.get(source);
  }

  /** Records a skipped sample (pass as `imageBatches`' `onSkip`). */
  readonly onSkip = (sample: SkippedSample): void => {
    this.skippedCount++;
    if (this.skipped.length < MAX_LISTED_SKIPS) this.skipped.push(sample);
  };

  /** Records a sample read and reports progress (pass as `imageBatches`' `onSample`). */
  readonly onSample = (sample: { readonly source: string }): void => {
    this.read++;
    this.#options.onProgress?.({
      samples: this.read,
      skipped: this.skippedCount,
      total: this.#options.limit,
      shard: this.#shardOf(sample.source) ?? 0,
      nshards: this.#dataset.shardIndexOf !== undefined && this.#dataset.nshards !== undefined
        ? this.#dataset.nshards
        : this.#dataset.shardUrls.length,
    });
  };

  /**
   * Checks the outcome once `scored` samples were scored.
   *
   * @throws {DatasetError} when none was, or when the skipped ones exceed the allowed fraction;
   * the message names the first skipped keys and reasons.
   */
  check(scored: number): void {
    const { root } = this.#dataset;
    const first = (n: number) =>
      this.skipped.slice(0, n).map((s) => `${s.key} (${s.reason})`).join("; ");
    if (scored === 0) {
      throw new DatasetError(
        `no sample of ${root} could be scored (${this.skippedCount} skipped${
          this.skipped.length > 0 ? `; first: ${first(1)}` : ""
        })`,
        { path: root },
      );
    }
    const total = scored + this.skippedCount;
    if (this.skippedCount / total > this.#maxSkippedFraction) {
      throw new DatasetError(
        `${this.skippedCount} of ${total} samples of ${root} were skipped, more than the allowed ` +
          `${(this.#maxSkippedFraction * 100).toFixed(2)} %; first: ${first(5)}`,
        { path: root },
      );
    }
  }
}
