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
