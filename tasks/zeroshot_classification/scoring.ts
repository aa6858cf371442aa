/**
 * How the samples of a classification dataset are labelled and scored, by `dataset_type.txt`:
 *
 * - classification: the `cls` field is the class index; acc@1, acc@5 and mean per-class recall
 *   are accumulated batch by batch ({@linkcode ClassificationAccumulator}, O(classes) memory);
 * - multilabel: the `npy` field is a multi-hot vector with one 0/1 entry per class (bool, integer
 *   or float dtype, shape `(classes,)`); the mean average precision ranks every sample, so all
 *   logits and targets are kept ({@linkcode MultilabelAccumulator}, O(samples × classes)).
 *
 * A sample whose label cannot be used is skipped with the reason, like an undecodable image.
 *
 * @module
 */

import type { PositionList } from "../../src/dataset/sharding/shard_reading.ts";
import { labelField, type Sample } from "../../src/dataset/webdataset.ts";
import type { WebDatasetType } from "../../src/dataset/wds.ts";
import { type NpyArray, parseNpy } from "../../src/io/npy.ts";
import {
  ClassificationAccumulator,
  type ClassificationMetrics,
} from "../../src/metrics/classification.ts";
import {
  MultilabelAccumulator,
  type MultilabelMetrics,
  type TorchVectorLanes,
} from "../../src/metrics/multilabel.ts";
import type { ShardMetricState } from "../../src/results/partial/shard_outcome.ts";
import { perClassRecall } from "../../src/results/provenance.ts";
import { multiLabelRows, singleLabelRows } from "./predictions.ts";
import { CLASSNAMES_FILE } from "./prompts.ts";

/**
 * A sample's `npy` field as a multi-hot target: a 1-D array of `classCount` entries, each 0 or 1
 * (booleans, integers or floats; `-0` counts as 0).
 *
 * @throws {Error} saying what is wrong (the sample is then skipped).
 */
export function multiHotTarget(sample: Sample, classCount: number): Uint8Array {
  const bytes = sample.fields.get("npy");
  if (bytes === undefined) throw new Error("no multi-label target (npy field)");
  let array: NpyArray;
  try {
    array = parseNpy(bytes);
  } catch (error) {
    throw new Error(`npy field is not a readable .npy array: ${(error as Error).message}`);
  }
  if (array.shape.length !== 1 || array.shape[0] !== classCount) {
    throw new Error(
      `npy target has shape (${array.shape.join(", ")}${array.shape.length === 1 ? "," : ""}), ` +
        `expected (${classCount},): one 0/1 entry per class`,
    );
  }
  const target = new Uint8Array(classCount);
  for (let c = 0; c < classCount; c++) {
    const value = Number(array.data[c]);
    if (value === 1) target[c] = 1;
    else if (value !== 0) {
      throw new Error(
        `npy target has ${array.data[c]} for class ${c} (${array.descr}); 0 or 1 expected`,
      );
    }
  }
  return target;
}

/**
 * How one kind of dataset labels its samples and how those labels are scored: one class index
 * per sample, or a multi-hot vector.
 */
export interface LabelScoring<T> {
  /** The kind of labels, as predictions files name it. */
  readonly kind: "classification" | "multilabel";
  /** The sample's label; throws (any error) to skip the sample. */
  extract(sample: Sample): T;
  /** Adds a batch: `labels.length × classes` logits and the labels. */
  add(logits: Float64Array, labels: readonly T[]): void;
  /** The prediction rows of a batch (src/results/predictions/predictions_file.ts). */
  rows(logits: Float64Array, labels: readonly T[]): object[];
  /** Samples scored so far. */
  count(): number;
  /** The metrics of everything added. */
  result(): ClassificationMetrics | MultilabelMetrics;
  /** What a shard records, given the positions of the samples added (in order). */
  shardState(positions: PositionList): ShardMetricState;
  /**
   * Single-label: the recall of each class, in class order (`null` for a class without samples);
   * multi-label: `undefined` (recall needs a threshold the mean average precision does not use).
   */
  perClassRecall(): (number | null)[] | undefined;
}

function singleLabelScoring(classCount: number): LabelScoring<number> {
  const accumulator = new ClassificationAccumulator(classCount);
  return {
    kind: "classification",
    extract(sample) {
      const label = labelField(sample);
      if (label === undefined) throw new Error("no label (cls field)");
      if (label < 0 || label >= classCount) {
        throw new Error(
          `label ${label} is outside the ${classCount} classes of ${CLASSNAMES_FILE}`,
        );
      }
      return label;
    },
    add: (logits, labels) => accumulator.update(logits, labels),
    rows: (logits, labels) => singleLabelRows(logits, labels, classCount),
    count: () => accumulator.count,
    result: () => accumulator.result(),
    // Counts do not depend on the order of the samples: no positions needed.
    shardState: () => ({ kind: "classification", counts: accumulator.state() }),
    perClassRecall: () => {
      const { perClassTotal, perClassCorrect } = accumulator.state();
      return perClassRecall(perClassTotal, perClassCorrect);
    },
  };
}

function multiLabelScoring(
  classCount: number,
  torchVectorLanes: TorchVectorLanes | undefined,
): LabelScoring<Uint8Array> {
  const accumulator = new MultilabelAccumulator(classCount, { torchVectorLanes });
  return {
    kind: "multilabel",
    extract: (sample) => multiHotTarget(sample, classCount),
    add: (logits, targets) => accumulator.update(logits, targets),
    rows: (logits, targets) => multiLabelRows(logits, targets, classCount),
    count: () => accumulator.count,
    result: () => accumulator.result(),
    shardState: (positions) => {
      const { scores, targets } = accumulator.rows();
      return {
        kind: "multilabel",
        numClasses: classCount,
        torchVectorLanes: accumulator.torchVectorLanes,
        scores,
        targets,
        positions: { shards: positions.shards(), indices: positions.indices() },
      };
    },
    perClassRecall: () => undefined,
  };
}

/**
 * The scoring of a dataset of `classCount` classes: multi-hot targets and the mean average
 * precision for a `multilabel` dataset (reproducing the float32 sums of a torch with
 * `torchVectorLanes` SIMD lanes), class indices and acc@k otherwise.
 */
export function labelScoring(
  datasetType: WebDatasetType,
  classCount: number,
  torchVectorLanes: TorchVectorLanes | undefined,
): LabelScoring<unknown> {
  return datasetType === "multilabel"
    ? multiLabelScoring(classCount, torchVectorLanes)
    : singleLabelScoring(classCount);
}
