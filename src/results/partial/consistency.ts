/**
 * The consistency of one partial result: every field that repeats, or follows from, another must
 * agree with it, and every number must be finite. The checksum of a partial file only proves that
 * the file is as its writer left it; a file rewritten with a recomputed checksum is caught here,
 * before src/results/partial/merge.ts adds it to the others.
 *
 * What is cross-checked (names are the partial file's header fields and arrays,
 * src/results/partial/partial_file.ts):
 *
 * - `shard`, `reading`: the tar shards a shard reads follow from its index, its count and the
 *   dataset's tar shard count ({@linkcode shardReadingPlan}, the function the shard itself used),
 *   so `reading.mode` and `reading.tar_shards` must be exactly that plan's, and
 *   `reading.nshards` the fingerprint's `dataset.nshards`;
 * - positions (`position_shards`/`position_indices` and each `skipped[i]`): every sample must
 *   belong to this shard ({@linkcode sampleOwner}), lie in a tar shard it reads, and come in
 *   strictly increasing dataset order (the order the shard read them); no sample is both scored
 *   and skipped;
 * - `counts`: `read = scored + skipped`, the `skipped` list holds the first
 *   `min(skipped, MAX_LISTED_SKIPS)` of them, and `scored` is the number of rows of the state;
 * - classification: the per-class totals add up to `samples`, the per-class hits to
 *   `correct_top1` (a sample is a top-1 hit exactly when its argmax is its class), no class has
 *   more hits than samples, `correct_top1 ≤ correct_top5 ≤ samples`, with at most 5 classes
 *   `correct_top5 = samples`, and `num_classes` is the number of class names in the fingerprint;
 * - multi-label: `scores` and `targets` are `scored × num_classes`, targets are 0 or 1, scores
 *   finite, `torch_vector_lanes` is the fingerprint's;
 * - retrieval: `images` is `scored × dim`, every image has at least one caption, `captions` is
 *   `Σ caption_counts × dim`, every value finite and every row L2-normalised (or zero, as
 *   `F.normalize` leaves a zero row);
 * - `result_fields`: its `dataset` and `task` are the fingerprint's, its task the state's kind,
 *   its dumped class names (if any) the fingerprint's; `fingerprint.options.limit` is unset (a
 *   shard cannot take a limit);
 * - every number anywhere in the fingerprint, the result fields and the skipped list is finite.
 *
 * `dataset_root` is only a name for messages and is not checked (it may be the name a client
 * gave, not a path on this machine).
 *
 * @module
 */

import { MAX_LISTED_SKIPS } from "../result.ts";
import { sampleOwner, shardReadingPlan } from "../../dataset/sharding/shard_reading.ts";
import { formatShardSpec, MAX_SHARD_COUNT } from "../../dataset/sharding/shard_spec.ts";
import { canonicalJson } from "./fingerprint.ts";
import { PartialError, type PartialResult } from "./partial_file.ts";
import type { ShardPositions } from "./shard_outcome.ts";

/** How far from 1 the L2 norm of a stored embedding row may be (float32 rounding is ~1e-7). */
const EMBEDDING_NORM_TOLERANCE = 1e-3;

/** The task name a result of each state kind carries. */
const TASK_OF_KIND: Readonly<Record<string, string>> = {
  classification: "zeroshot_classification",
  multilabel: "zeroshot_classification",
  retrieval: "zeroshot_retrieval",
};

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

const show = (value: unknown): string => {
  if (typeof value === "number") return String(value);
  const text = value === undefined ? "nothing" : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** Collects the checks of one partial; each failure names the file and the field. */
class Checker {
  constructor(readonly source: string) {}

  /** A refusal naming the file and the field. */
  fail(field: string, message: string): PartialError {
    return new PartialError(`${this.source}: field ${field} ${message}`, { path: this.source });
  }

  count(value: unknown, field: string): number {
    if (!isCount(value)) {
      throw this.fail(field, `must be a non-negative integer, got ${show(value)}`);
    }
    return value;
  }

  equal(value: unknown, expected: unknown, field: string, because: string): void {
    if (canonicalJson(value) !== canonicalJson(expected)) {
      throw this.fail(field, `is ${show(value)} but ${because} is ${show(expected)}`);
    }
  }

  /** Every number in a JSON-like value is finite. */
  finiteJson(value: unknown, field: string): void {
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw this.fail(field, `is not a finite number (${value})`);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => this.finiteJson(item, `${field}[${i}]`));
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) this.finiteJson(item, `${field}.${key}`);
    }
  }

  /** Every value of a float array is finite. */
  finiteArray(values: Float32Array, field: string): void {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw this.fail(`${field}[${i}]`, `is not a finite number (${values[i]})`);
      }
    }
  }

  /** Rows of `dim` values are L2-normalised (or all zero). */
  unitRows(values: Float32Array, dim: number, field: string): void {
    if (dim === 0) return;
    for (let row = 0; row * dim < values.length; row++) {
      let sum = 0;
      for (let i = row * dim; i < (row + 1) * dim; i++) sum += values[i] * values[i];
      const norm = Math.sqrt(sum);
      if (norm !== 0 && Math.abs(norm - 1) > EMBEDDING_NORM_TOLERANCE) {
        throw this.fail(
          `${field} (row ${row})`,
          `is not an L2-normalised embedding: its norm is ${norm}`,
        );
      }
    }
  }
}

/** Where the shard's samples may come from. */
interface Ownership {
  readonly nshards: number;
  readonly index: number;
  readonly count: number;
  readonly tarShards: ReadonlySet<number>;
}

/** Checks one sample position against the shard that claims it. */
function checkPosition(
  check: Checker,
  own: Ownership,
  shard: number,
  index: number,
  field: string,
): void {
  if (!Number.isSafeInteger(shard) || shard < 0 || shard >= own.nshards) {
    throw check.fail(field, `names tar shard ${shard}, outside [0, ${own.nshards})`);
  }
  if (!Number.isSafeInteger(index) || index < 0) {
    throw check.fail(field, `names sample index ${index} of tar shard ${shard}`);
  }
  if (!own.tarShards.has(shard)) {
    throw check.fail(field, `names tar shard ${shard}, which this shard does not read`);
  }
  const owner = sampleOwner(shard, index, own.nshards, own.count);
  if (owner !== own.index) {
    throw check.fail(
      field,
      `names sample ${index} of tar shard ${shard}, which belongs to shard ` +
        `${formatShardSpec({ index: owner, count: own.count })}, not ` +
        `${formatShardSpec({ index: own.index, count: own.count })}`,
    );
  }
}

/** Positions in strictly increasing dataset order (tar shard, then index). */
function checkIncreasing(
  check: Checker,
  shards: ArrayLike<number>,
  indices: ArrayLike<number>,
  field: string,
): void {
  for (let i = 1; i < shards.length; i++) {
    if (
      shards[i] < shards[i - 1] || (shards[i] === shards[i - 1] && indices[i] <= indices[i - 1])
    ) {
      throw check.fail(
        `${field}[${i}]`,
        `(sample ${indices[i]} of tar shard ${shards[i]}) does not follow sample ` +
          `${indices[i - 1]} of tar shard ${shards[i - 1]}: a shard records its samples once, ` +
          `in dataset order`,
      );
    }
  }
}

function checkPositions(
  check: Checker,
  own: Ownership,
  positions: ShardPositions,
  rows: number,
  skipped: ReadonlySet<string>,
): void {
  const { shards, indices } = positions;
  if (shards.length !== rows || indices.length !== rows) {
    throw check.fail(
      "position_shards",
      `holds ${shards.length} positions and position_indices ${indices.length}, but the ` +
        `state holds ${rows} rows`,
    );
  }
  for (let i = 0; i < rows; i++) {
    checkPosition(check, own, shards[i], indices[i], `position_shards/position_indices[${i}]`);
    if (skipped.has(`${shards[i]}:${indices[i]}`)) {
      throw check.fail(
        `position_shards/position_indices[${i}]`,
        `(sample ${indices[i]} of tar shard ${shards[i]}) is also listed as skipped`,
      );
    }
  }
  checkIncreasing(check, shards, indices, "position_shards/position_indices");
}

/** The class names of the fingerprint's task group, when it lists them. */
function classCount(check: Checker, task: Readonly<Record<string, unknown>>): number {
  if (!Array.isArray(task.classnames)) {
    throw check.fail("fingerprint.task.classnames", "must be the list of class names");
  }
  return task.classnames.length;
}

/**
 * Checks that a partial result is consistent with itself (see the module documentation).
 *
 * @param source Names the partial in messages.
 * @throws {PartialError} naming `source` and the first field that disagrees.
 */
export function checkPartialConsistency(source: string, partial: PartialResult): void {
  const check = new Checker(source);
  const { fingerprint, outcome } = partial;
  const { state } = outcome;
  check.finiteJson(fingerprint, "fingerprint");
  check.finiteJson(outcome.resultFields, "result_fields");

  // The shard and the tar shards it reads.
  const { index, count } = outcome.shard;
  if (!isCount(count) || count < 1 || count > MAX_SHARD_COUNT) {
    throw check.fail("shard.count", `must be an integer from 1 to ${MAX_SHARD_COUNT}`);
  }
  if (!isCount(index) || index >= count) {
    throw check.fail("shard.index", `must be an integer from 0 to ${count - 1}, got ${index}`);
  }
  const nshards = check.count(outcome.reading.nshards, "reading.nshards");
  if (nshards < 1) throw check.fail("reading.nshards", "must be at least 1");
  check.equal(
    nshards,
    fingerprint.dataset.nshards,
    "reading.nshards",
    "fingerprint.dataset.nshards",
  );
  const plan = shardReadingPlan(nshards, { index, count });
  const spec = `shard ${formatShardSpec({ index, count })} of a dataset of ${nshards} tar shards`;
  check.equal(outcome.reading.mode, plan.mode, "reading.mode", `the mode of ${spec}`);
  check.equal(
    outcome.reading.tarShards,
    plan.tarShards,
    "reading.tar_shards",
    `the list of tar shards of ${spec} (the files do not belong to the shard index)`,
  );
  const own: Ownership = { nshards, index, count, tarShards: new Set(plan.tarShards) };

  // Counts and skipped samples.
  const read = check.count(outcome.read, "counts.read");
  const scored = check.count(outcome.scored, "counts.scored");
  const skippedCount = check.count(outcome.skippedCount, "counts.skipped");
  if (read !== scored + skippedCount) {
    throw check.fail(
      "counts.read",
      `is ${read} but counts.scored + counts.skipped is ${scored} + ${skippedCount}`,
    );
  }
  const listed = Math.min(skippedCount, MAX_LISTED_SKIPS);
  if (outcome.skipped.length !== listed) {
    throw check.fail(
      "skipped",
      `lists ${outcome.skipped.length} samples, but counts.skipped (${skippedCount}) means the ` +
        `first ${listed}`,
    );
  }
  check.finiteJson(outcome.skipped, "skipped");
  const skippedAt = new Set<string>();
  outcome.skipped.forEach((skip, i) => {
    checkPosition(check, own, skip.shard, skip.index, `skipped[${i}]`);
    skippedAt.add(`${skip.shard}:${skip.index}`);
  });
  checkIncreasing(
    check,
    outcome.skipped.map((s) => s.shard),
    outcome.skipped.map((s) => s.index),
    "skipped",
  );

  // The descriptive fields.
  const fields = outcome.resultFields;
  check.equal(
    fields.dataset,
    fingerprint.dataset.name,
    "result_fields.dataset",
    "fingerprint.dataset.name",
  );
  check.equal(
    fields.task,
    fingerprint.dataset.task,
    "result_fields.task",
    "fingerprint.dataset.task",
  );
  check.equal(
    fields.task,
    TASK_OF_KIND[state.kind],
    "result_fields.task",
    `the task of a ${state.kind} state`,
  );
  check.equal(fingerprint.task.kind, state.kind, "fingerprint.task.kind", "state.kind");
  if ((fingerprint.options.limit ?? null) !== null) {
    throw check.fail("fingerprint.options.limit", "is set, but a shard cannot take a limit");
  }

  switch (state.kind) {
    case "classification": {
      const c = state.counts;
      const classes = check.count(c.numClasses, "state.num_classes");
      check.equal(
        classes,
        classCount(check, fingerprint.task),
        "state.num_classes",
        "the number of class names in fingerprint.task.classnames",
      );
      if (fields.classnames !== undefined) {
        check.equal(
          fields.classnames,
          fingerprint.task.classnames,
          "result_fields.classnames",
          "fingerprint.task.classnames",
        );
      }
      if (c.perClassTotal.length !== classes || c.perClassCorrect.length !== classes) {
        throw check.fail(
          "per_class_total/per_class_correct",
          `hold ${c.perClassTotal.length} and ${c.perClassCorrect.length} values, not one per ` +
            `class (${classes})`,
        );
      }
      const samples = check.count(c.samples, "state.samples");
      const top1 = check.count(c.correctTop1, "state.correct_top1");
      const top5 = check.count(c.correctTop5, "state.correct_top5");
      let total = 0;
      let hits = 0;
      for (let k = 0; k < classes; k++) {
        const n = check.count(c.perClassTotal[k], `per_class_total[${k}]`);
        const h = check.count(c.perClassCorrect[k], `per_class_correct[${k}]`);
        if (h > n) {
          throw check.fail(
            `per_class_correct[${k}]`,
            `is ${h}, more than the ${n} samples of class ${k}`,
          );
        }
        total += n;
        hits += h;
      }
      if (samples !== scored) {
        throw check.fail("state.samples", `is ${samples} but counts.scored is ${scored}`);
      }
      if (total !== samples) {
        throw check.fail("state.samples", `is ${samples} but per_class_total adds up to ${total}`);
      }
      if (top1 !== hits) {
        throw check.fail(
          "state.correct_top1",
          `is ${top1} but per_class_correct adds up to ${hits} (a top-1 hit is a sample whose ` +
            `argmax is its class)`,
        );
      }
      if (top5 < top1 || top5 > samples) {
        throw check.fail(
          "state.correct_top5",
          `is ${top5}, outside [correct_top1 ${top1}, samples ${samples}]`,
        );
      }
      if (classes <= 5 && top5 !== samples) {
        throw check.fail(
          "state.correct_top5",
          `is ${top5} but with ${classes} classes every one of the ${samples} samples is a top-5 hit`,
        );
      }
      return;
    }
    case "multilabel": {
      const classes = check.count(state.numClasses, "state.num_classes");
      check.equal(
        classes,
        classCount(check, fingerprint.task),
        "state.num_classes",
        "the number of class names in fingerprint.task.classnames",
      );
      check.equal(
        state.torchVectorLanes,
        fingerprint.task.torch_vector_lanes,
        "state.torch_vector_lanes",
        "fingerprint.task.torch_vector_lanes",
      );
      if (classes < 1 || state.scores.length !== scored * classes) {
        throw check.fail(
          "scores",
          `holds ${state.scores.length} values, not ${scored} rows of ${classes}`,
        );
      }
      if (state.targets.length !== scored * classes) {
        throw check.fail(
          "targets",
          `holds ${state.targets.length} values, not ${scored} rows of ${classes}`,
        );
      }
      check.finiteArray(state.scores, "scores");
      state.targets.forEach((target, i) => {
        if (target !== 0 && target !== 1) {
          throw check.fail(`targets[${i}]`, `is ${target}, not 0 or 1`);
        }
      });
      checkPositions(check, own, state.positions, scored, skippedAt);
      return;
    }
    case "retrieval": {
      const dim = check.count(state.dim, "state.dim");
      if ((dim === 0) !== (scored === 0)) {
        throw check.fail("state.dim", `is ${dim} for ${scored} scored images`);
      }
      if (state.images.length !== scored * dim) {
        throw check.fail(
          "images",
          `holds ${state.images.length} values, not ${scored} rows of ${dim}`,
        );
      }
      if (state.captionCounts.length !== scored) {
        throw check.fail(
          "caption_counts",
          `holds ${state.captionCounts.length} counts for ${scored} images`,
        );
      }
      let captions = 0;
      state.captionCounts.forEach((n, i) => {
        if (n < 1) {
          throw check.fail(`caption_counts[${i}]`, `is ${n}: every scored image has a caption`);
        }
        captions += n;
      });
      if (state.captions.length !== captions * dim) {
        throw check.fail(
          "captions",
          `holds ${state.captions.length} values, not caption_counts' ${captions} rows of ${dim}`,
        );
      }
      check.finiteArray(state.images, "images");
      check.finiteArray(state.captions, "captions");
      check.unitRows(state.images, dim, "images");
      check.unitRows(state.captions, dim, "captions");
      const recallK = fingerprint.task.recall_k;
      if (
        !Array.isArray(recallK) || recallK.length === 0 ||
        !recallK.every((k) => isCount(k) && k > 0)
      ) {
        throw check.fail(
          "fingerprint.task.recall_k",
          `must be a list of positive integers, got ${show(recallK)}`,
        );
      }
      checkPositions(check, own, state.positions, scored, skippedAt);
      return;
    }
    default:
      throw check.fail("state.kind", `is unknown: ${show((state as { kind: unknown }).kind)}`);
  }
}
