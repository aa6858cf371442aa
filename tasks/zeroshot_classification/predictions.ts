/**
 * The prediction rows of a classification batch (src/results/predictions/predictions_file.ts):
 * per sample, the label and the 5 highest-scoring classes with their logits for single-label
 * data, the positive classes and every logit for multi-label data.
 *
 * The top classes are ranked as acc@k ranks them (src/metrics/classification.ts): higher logit
 * first, the lower class index first among equal logits; so `top[0]` is the argmax the mean
 * per-class recall counts, and a label is among `top` exactly when acc@5 counts it.
 *
 * @module
 */

import { shortestFloat32, TOP_CLASSES } from "../../src/results/predictions/predictions_file.ts";

/** Whether class `a` with logit `x` ranks before class `b` with logit `y`. */
const ranksBefore = (x: number, a: number, y: number, b: number) => x > y || (x === y && a < b);

/**
 * The top classes of one row of `classes` logits starting at `base`: up to
 * {@linkcode TOP_CLASSES} indices, best first.
 */
export function topClasses(logits: ArrayLike<number>, base: number, classes: number): number[] {
  const top: number[] = [];
  const wanted = Math.min(TOP_CLASSES, classes);
  for (let c = 0; c < classes; c++) {
    const score = logits[base + c];
    if (top.length === wanted) {
      const last = top[wanted - 1];
      if (!ranksBefore(score, c, logits[base + last], last)) continue;
      top.pop();
    }
    let at = top.length;
    while (at > 0 && ranksBefore(score, c, logits[base + top[at - 1]], top[at - 1])) at--;
    top.splice(at, 0, c);
  }
  return top;
}

/** Single-label rows: `{label, top, scores}` per sample (keys are added by the caller). */
export function singleLabelRows(
  logits: ArrayLike<number>,
  labels: readonly number[],
  classes: number,
): object[] {
  return labels.map((label, row) => {
    const base = row * classes;
    const top = topClasses(logits, base, classes);
    return { label, top, scores: top.map((c) => shortestFloat32(logits[base + c])) };
  });
}

/** Multi-label rows: `{labels, scores}` per sample, the scores as float32. */
export function multiLabelRows(
  logits: ArrayLike<number>,
  targets: readonly Uint8Array[],
  classes: number,
): object[] {
  return targets.map((target, row) => {
    const labels: number[] = [];
    target.forEach((value, c) => value === 1 && labels.push(c));
    const scores = new Array<number>(classes);
    for (let c = 0; c < classes; c++) scores[c] = shortestFloat32(logits[row * classes + c]);
    return { labels, scores };
  });
}
