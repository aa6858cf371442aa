/**
 * End-to-end speed through the real task: `evaluateZeroShotClassification` on the dataset with
 * a limit, with whatever pipeline options the task takes (batch size, decoding workers, …)
 * passed through unchanged. The task first builds its classifier (the text tower), then reads,
 * decodes, preprocesses, encodes and scores the images; the image rate is counted from the
 * first sample read to the end, so a label set's text cost does not dilute it (the whole
 * call's time is reported too).
 *
 * @module
 */

import type { WebDataset } from "../src/dataset/wds.ts";
import type { ClipModel } from "../src/model/model.ts";
import {
  evaluateZeroShotClassification,
  type ZeroShotClassificationOptions,
} from "../tasks/zeroshot_classification/mod.ts";

/** Task options passed through (everything but the name, the limit and the progress hook). */
export type EndToEndOptions = Omit<
  ZeroShotClassificationOptions,
  "datasetName" | "limit" | "onProgress"
>;

/** What {@linkcode measureEndToEnd} measured. */
export interface EndToEndMeasure {
  /** Samples scored. */
  readonly samples: number;
  /** Seconds of the whole call (classifier included). */
  readonly seconds: number;
  /** Seconds from the call to the first sample read (mostly the classifier). */
  readonly firstSampleSeconds: number;
  /** Images per second from the first sample read to the end. */
  readonly imagesPerSecond: number;
  /** Images per second over the whole call. */
  readonly overallImagesPerSecond: number;
  /** The top-1 accuracy it computed (meaningless for random weights; shows it really ran). */
  readonly acc1: number;
}

/** Runs the classification task on the first `limit` samples and times it. */
export async function measureEndToEnd(
  model: ClipModel,
  dataset: WebDataset,
  limit: number,
  options: EndToEndOptions,
): Promise<EndToEndMeasure> {
  let firstSampleAt: number | undefined;
  const started = performance.now();
  const result = await evaluateZeroShotClassification(model, dataset, {
    ...options,
    datasetName: "bench",
    limit,
    onProgress: () => {
      firstSampleAt ??= performance.now();
    },
  });
  const ended = performance.now();
  const imageStart = firstSampleAt ?? started;
  const metrics = result.metrics as { acc1?: number };
  return {
    samples: result.n_samples,
    seconds: (ended - started) / 1000,
    firstSampleSeconds: (imageStart - started) / 1000,
    imagesPerSecond: result.n_samples / ((ended - imageStart) / 1000),
    overallImagesPerSecond: result.n_samples / ((ended - started) / 1000),
    acc1: metrics.acc1 ?? NaN,
  };
}
