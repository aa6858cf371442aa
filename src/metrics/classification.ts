/**
 * Single-label zero-shot classification metrics, accumulated batch by batch in memory that does
 * not grow with the number of samples (O(classes)).
 *
 * Definitions follow CLIP_benchmark (`clip_benchmark/metrics/zeroshot_classification.py`):
 *
 * - `acc1`, `acc5`: fraction of samples whose true class is among the `k` highest logits.
 *   `acc5` is `null` when there are fewer than 5 classes (CLIP_benchmark writes `NaN`, which is
 *   not valid JSON).
 * - `mean_per_class_recall`: scikit-learn's `balanced_accuracy_score(target, argmax)`, the mean
 *   over the classes present among the targets of (correct predictions / samples of the class).
 *
 * Ties are broken by class index: of two classes with equal logits the lower index ranks first,
 * for the argmax and for top-k alike.
 *
 * @module
 */

import { numpyMean } from "./pairwise_sum.ts";

/** The metrics of one classification run, with the JSON field names evalscope writes. */
export type ClassificationMetrics = {
  /** Top-1 accuracy. */
  acc1: number;
  /** Top-5 accuracy; `null` with fewer than 5 classes. */
  acc5: number | null;
  /** Balanced accuracy (mean recall over the classes that occur). */
  mean_per_class_recall: number;
};

/**
 * Everything a {@linkcode ClassificationAccumulator} has counted: what a shard of a sharded run
 * records, and what {@linkcode ClassificationAccumulator.merge} adds up. All counts are integers,
 * so merged counts, and the metrics computed from them, are exactly those of one run over all the
 * samples.
 */
export interface ClassificationState {
  /** Number of classes. */
  readonly numClasses: number;
  /** Samples counted. */
  readonly samples: number;
  /** Samples whose class ranked first. */
  readonly correctTop1: number;
  /** Samples whose class ranked among the first five. */
  readonly correctTop5: number;
  /** Samples of each class. */
  readonly perClassTotal: Float64Array;
  /** Samples of each class whose argmax was the class. */
  readonly perClassCorrect: Float64Array;
}

function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
}

/** Running counts for single-label classification metrics. */
export class ClassificationAccumulator {
  /** Number of classes (columns of the logits). */
  readonly numClasses: number;
  #samples = 0;
  #correctTop1 = 0;
  #correctTop5 = 0;
  readonly #perClassTotal: Float64Array;
  readonly #perClassCorrect: Float64Array;

  /**
   * Creates an instance.
   *
   * @param numClasses Number of classes; at least 1.
   */
  constructor(numClasses: number) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new RangeError(`number of classes must be a positive integer, got ${numClasses}`);
    }
    this.numClasses = numClasses;
    this.#perClassTotal = new Float64Array(numClasses);
    this.#perClassCorrect = new Float64Array(numClasses);
  }

  /** Samples counted so far. */
  get count(): number {
    return this.#samples;
  }

  /**
   * Adds a batch.
   *
   * @param logits `labels.length × numClasses` scores, row-major.
   * @param labels True class of each row, each in `[0, numClasses)`.
   */
  update(logits: ArrayLike<number>, labels: ArrayLike<number>): void {
    const classes = this.numClasses;
    if (logits.length !== labels.length * classes) {
      throw new RangeError(
        `logits hold ${logits.length} values, ${labels.length} × ${classes} expected`,
      );
    }
    for (let row = 0; row < labels.length; row++) {
      const label = labels[row];
      if (!Number.isInteger(label) || label < 0 || label >= classes) {
        throw new RangeError(`label ${label} is outside [0, ${classes})`);
      }
      const base = row * classes;
      const truth = logits[base + label];
      // Rank of the true class: classes scoring higher, plus equal-scoring classes of lower index.
      let rank = 0;
      let best = 0;
      for (let c = 0; c < classes; c++) {
        const score = logits[base + c];
        if (score > truth || (score === truth && c < label)) rank++;
        if (score > logits[base + best]) best = c;
      }
      this.#samples++;
      if (rank < 1) this.#correctTop1++;
      if (rank < 5) this.#correctTop5++;
      this.#perClassTotal[label]++;
      if (best === label) this.#perClassCorrect[label]++;
    }
  }

  /** A copy of the counts so far. */
  state(): ClassificationState {
    return {
      numClasses: this.numClasses,
      samples: this.#samples,
      correctTop1: this.#correctTop1,
      correctTop5: this.#correctTop5,
      perClassTotal: this.#perClassTotal.slice(),
      perClassCorrect: this.#perClassCorrect.slice(),
    };
  }

  /**
   * Adds the counts of another accumulator (of another shard of the same dataset).
   *
   * @throws {RangeError} when the class counts differ or the state is inconsistent (negative or
   * fractional counts, more correct than total, class totals that do not add up to `samples`).
   */
  merge(state: ClassificationState): void {
    const classes = this.numClasses;
    if (state.numClasses !== classes) {
      throw new RangeError(`cannot merge counts of ${state.numClasses} classes into ${classes}`);
    }
    if (state.perClassTotal.length !== classes || state.perClassCorrect.length !== classes) {
      throw new RangeError(`per-class counts must hold ${classes} values`);
    }
    checkCount(state.samples, "samples");
    checkCount(state.correctTop1, "top-1 hits");
    checkCount(state.correctTop5, "top-5 hits");
    let total = 0;
    for (let c = 0; c < classes; c++) {
      checkCount(state.perClassTotal[c], `samples of class ${c}`);
      checkCount(state.perClassCorrect[c], `hits of class ${c}`);
      if (state.perClassCorrect[c] > state.perClassTotal[c]) {
        throw new RangeError(`class ${c} has more hits than samples`);
      }
      total += state.perClassTotal[c];
    }
    if (
      total !== state.samples || state.correctTop1 > state.correctTop5 ||
      state.correctTop5 > state.samples
    ) {
      throw new RangeError(
        `inconsistent counts: ${state.samples} samples, ${total} by class, ` +
          `${state.correctTop1} top-1 and ${state.correctTop5} top-5 hits`,
      );
    }
    this.#samples += state.samples;
    this.#correctTop1 += state.correctTop1;
    this.#correctTop5 += state.correctTop5;
    for (let c = 0; c < classes; c++) {
      this.#perClassTotal[c] += state.perClassTotal[c];
      this.#perClassCorrect[c] += state.perClassCorrect[c];
    }
  }

  /** The metrics of everything added so far. */
  result(): ClassificationMetrics {
    const n = this.#samples;
    if (n === 0) throw new RangeError("no samples were scored");
    const recalls: number[] = [];
    for (let c = 0; c < this.numClasses; c++) {
      if (this.#perClassTotal[c] > 0) {
        recalls.push(this.#perClassCorrect[c] / this.#perClassTotal[c]);
      }
    }
    return {
      acc1: this.#correctTop1 / n,
      acc5: this.numClasses >= 5 ? this.#correctTop5 / n : null,
      mean_per_class_recall: numpyMean(recalls),
    };
  }
}
