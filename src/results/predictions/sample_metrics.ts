/**
 * A result's metrics recomputed from its per-sample predictions
 * (src/results/predictions/predictions_file.ts) on any multiset of samples — what the bootstrap
 * (src/stats/bootstrap.ts) resamples. The unit of resampling is a row: a sample for
 * classification, an image with its captions for retrieval (captions of one image are not
 * independent, so they are drawn together).
 *
 * On all the rows (indices `0 … n-1` once each), acc@1, acc@5 and the mean per-class recall equal
 * the result's values exactly (the same integer counts and NumPy's pairwise mean); the recalls of
 * retrieval are float64 means where the result holds torch's float32 ones, and the mean average
 * precision is computed in float64 with every copy of a resampled sample ranked next to the
 * others — both within float32 rounding of the result.
 *
 * @module
 */

import { numpyMean } from "../../metrics/pairwise_sum.ts";
import type {
  ClassificationRow,
  MultilabelRow,
  PredictionRow,
  Predictions,
  RetrievalRow,
} from "./predictions_file.ts";

/** A metric as a function of the rows drawn (indices into the rows, repeats allowed). */
export type SampleMetric = (indices: ArrayLike<number>) => number;

/** The per-sample view of one predictions file. */
export interface SampleOutcomes {
  /** Rows (the bootstrap's n). */
  readonly n: number;
  /** Each row's key. */
  readonly keys: readonly string[];
  /** Metric name (as in the result's `metrics`) → its value on the rows drawn. */
  readonly metrics: ReadonlyMap<string, SampleMetric>;
  /**
   * Metric name → per-unit 0/1 hits, for the exact McNemar test: per sample for acc1 and acc5,
   * per image for text recall@k, per caption (in row order) for image recall@k.
   */
  readonly hits: ReadonlyMap<string, Uint8Array>;
}

/** The identity draw: every row once. */
export function allRows(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

function meanOf(hits: Uint8Array): SampleMetric {
  return (indices) => {
    let sum = 0;
    for (let i = 0; i < indices.length; i++) sum += hits[indices[i]];
    return sum / indices.length;
  };
}

function classificationOutcomes(rows: readonly ClassificationRow[], classes: number) {
  const n = rows.length;
  const top1 = new Uint8Array(n);
  const top5 = new Uint8Array(n);
  const labels = new Int32Array(n);
  rows.forEach((row, i) => {
    labels[i] = row.label;
    top1[i] = row.top[0] === row.label ? 1 : 0;
    top5[i] = row.top.includes(row.label) ? 1 : 0;
  });
  const meanPerClassRecall: SampleMetric = (indices) => {
    const total = new Float64Array(classes);
    const correct = new Float64Array(classes);
    for (let i = 0; i < indices.length; i++) {
      const row = indices[i];
      total[labels[row]]++;
      correct[labels[row]] += top1[row];
    }
    const recalls: number[] = [];
    for (let c = 0; c < classes; c++) if (total[c] > 0) recalls.push(correct[c] / total[c]);
    return numpyMean(recalls);
  };
  const metrics = new Map<string, SampleMetric>([["acc1", meanOf(top1)]]);
  const hits = new Map([["acc1", top1]]);
  if (classes >= 5) {
    metrics.set("acc5", meanOf(top5));
    hits.set("acc5", top5);
  }
  metrics.set("mean_per_class_recall", meanPerClassRecall);
  return { metrics, hits };
}

/** How many times each row is drawn. */
function drawCounts(indices: ArrayLike<number>, n: number): Uint32Array {
  const counts = new Uint32Array(n);
  for (let i = 0; i < indices.length; i++) counts[indices[i]]++;
  return counts;
}

function multilabelOutcomes(rows: readonly MultilabelRow[], classes: number) {
  const n = rows.length;
  const positive = rows.map((row) => {
    const flags = new Uint8Array(classes);
    for (const c of row.labels) flags[c] = 1;
    return flags;
  });
  // Per class, the rows by logit (highest first, the lower row first among equal logits).
  const orders = Array.from(
    { length: classes },
    (_, c) =>
      Uint32Array.from(allRows(n)).sort((a, b) => rows[b].scores[c] - rows[a].scores[c] || a - b),
  );
  const meanAveragePrecision: SampleMetric = (indices) => {
    const counts = drawCounts(indices, n);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      let rank = 0;
      let truePositives = 0;
      let precisionSum = 0;
      for (const row of orders[c]) {
        const copies = counts[row];
        if (copies === 0) continue;
        if (positive[row][c] === 1) {
          for (let j = 1; j <= copies; j++) precisionSum += (truePositives + j) / (rank + j);
          truePositives += copies;
        }
        rank += copies;
      }
      sum += precisionSum / Math.max(truePositives, 1);
    }
    return sum / classes;
  };
  return {
    metrics: new Map([["mean_average_precision", meanAveragePrecision]]),
    hits: new Map<string, Uint8Array>(),
  };
}

function retrievalOutcomes(rows: readonly RetrievalRow[], recallK: readonly number[]) {
  const metrics = new Map<string, SampleMetric>();
  const hits = new Map<string, Uint8Array>();
  const captionCounts = rows.map((row) => row.image_ranks.length);
  for (const k of recallK) {
    const textHits = Uint8Array.from(rows, (row) => (row.text_rank < k ? 1 : 0));
    // Per image: how many of its captions find it in their top k.
    const imageHits = rows.map((row) => row.image_ranks.filter((rank) => rank < k).length);
    metrics.set(`image_retrieval_recall@${k}`, (indices) => {
      let found = 0;
      let captions = 0;
      for (let i = 0; i < indices.length; i++) {
        found += imageHits[indices[i]];
        captions += captionCounts[indices[i]];
      }
      return found / captions;
    });
    metrics.set(`text_retrieval_recall@${k}`, meanOf(textHits));
    hits.set(
      `image_retrieval_recall@${k}`,
      Uint8Array.from(rows.flatMap((row) => row.image_ranks.map((rank) => (rank < k ? 1 : 0)))),
    );
    hits.set(`text_retrieval_recall@${k}`, textHits);
  }
  return { metrics, hits };
}

/** The per-sample view of `predictions` (a final file's rows, in its order or any other). */
export function sampleOutcomes(
  predictions: Pick<Predictions, "header">,
  rows: readonly PredictionRow[],
): SampleOutcomes {
  const { header } = predictions;
  const classes = header.classnames?.length ?? 0;
  const keys = rows.map((row) => row.key);
  const { metrics, hits } = header.kind === "classification"
    ? classificationOutcomes(rows as ClassificationRow[], classes)
    : header.kind === "multilabel"
    ? multilabelOutcomes(rows as MultilabelRow[], classes)
    : retrievalOutcomes(rows as RetrievalRow[], header.recall_k ?? []);
  return { n: rows.length, keys, metrics, hits };
}
