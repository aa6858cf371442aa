import assert from "node:assert/strict";
import { openWebDataset, type WebDataset } from "../../src/dataset/wds.ts";
import { labelField } from "../../src/dataset/webdataset.ts";
import { DatasetError, UsageError } from "../../src/errors.ts";
import { ClipModel } from "../../src/model/model.ts";
import type { EvaluationProgress } from "../../src/run/sample_tally.ts";
import type { PredictionSink } from "../../src/results/predictions/predictions_writer.ts";
import {
  type BatchScorer,
  evaluateImageTask,
  evaluateImageTaskShard,
  type ImageTask,
  type ImageTaskOptions,
} from "../../tasks/task.ts";

const DEMO = new URL("../../examples/demo/", import.meta.url).pathname;
const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
const dataset = await openWebDataset(`${DEMO}data/fashion_mnist_1k`);

/** A toy task: counts the samples whose label is even, skips the odd ones. */
interface CountingScorer extends BatchScorer<number> {
  /** The batch sizes, in order. */
  readonly batches: number[];
}

function countingTask(calls: string[]): ImageTask<
  WebDataset,
  ImageTaskOptions,
  number,
  CountingScorer,
  ReturnType<typeof toyResult>
> {
  return {
    name: "zeroshot_classification",
    datasetOf: (run) => run.dataset as WebDataset,
    optionsOf: (run) => run.common,
    validate: () => void calls.push("validate"),
    prepare: () => {
      calls.push("prepare");
      const batches: number[] = [];
      return Promise.resolve({
        batches,
        payload(sample) {
          const label = labelField(sample)!;
          if (label % 2 === 1) throw new Error(`odd label ${label}`);
          return label;
        },
        score(batch, rows) {
          assert.equal(batch.items.length, batch.count);
          assert.ok(batch.items.every((label) => label % 2 === 0));
          batches.push(batch.count);
          return rows && batch.items.map((label) => ({ label, batch: batches.length }));
        },
        scored: () => batches.reduce((sum, n) => sum + n, 0),
      });
    },
    predictionsHeader: () => ({ kind: "classification", classnames: ["even"] }),
    result: (scorer, { options }, skips) => toyResult(options.datasetName, scorer, skips),
    shardState: (_scorer, { options }, positions) => ({
      resultFields: { dataset: options.datasetName, task: "zeroshot_classification" },
      taskFingerprint: { kind: "toy" },
      state: {
        kind: "retrieval",
        dim: 0,
        images: new Float32Array(0),
        captions: new Float32Array(0),
        captionCounts: new Int32Array(0),
        positions: { shards: positions.shards(), indices: positions.indices() },
      },
    }),
    merge: () => {
      throw new Error("not merged here");
    },
  };
}

function toyResult(
  dataset: string,
  scorer: CountingScorer,
  skips: { skippedCount: number; skipped: readonly { key: string; reason: string }[] },
) {
  return {
    dataset,
    model: model.name,
    task: "zeroshot_classification" as const,
    metrics: { batches: scorer.batches.length },
    n_samples: scorer.scored(),
    n_skipped: skips.skippedCount,
    skipped: skips.skipped.map((s) => ({ key: s.key, source: "", reason: s.reason })),
  };
}

Deno.test("skeleton: payloads that throw are skipped with the reason; batches scored in order", async () => {
  const calls: string[] = [];
  const progress: EvaluationProgress[] = [];
  const result = await evaluateImageTask(countingTask(calls), model, dataset, {
    datasetName: "toy",
    batchSize: 7,
    limit: 40,
    maxSkippedFraction: 1,
    onProgress: (p) => progress.push(p),
  });
  assert.deepEqual(calls, ["validate", "prepare"]);
  assert.equal(result.n_samples + result.n_skipped, 40);
  assert.equal(progress.length, 40);
  assert.equal(progress.at(-1)!.samples, 40);
  assert.ok(result.skipped.every((s) => /^odd label \d$/.test(s.reason)));
  assert.equal(result.metrics.batches, Math.ceil(result.n_samples / 7));
});

Deno.test("skeleton: the tally's threshold applies before the task's result", async () => {
  const calls: string[] = [];
  await assert.rejects(
    evaluateImageTask(countingTask(calls), model, dataset, { datasetName: "toy", limit: 20 }),
    (error: unknown) => error instanceof DatasetError && /were skipped/.test(error.message),
  );
});

Deno.test("skeleton: a shard refuses a limit before anything else, and records positions", async () => {
  const calls: string[] = [];
  const task = countingTask(calls);
  const options = { datasetName: "toy", batchSize: 16, maxSkippedFraction: 1 };
  await assert.rejects(
    evaluateImageTaskShard(task, model, dataset, { ...options, limit: 5 }, { index: 0, count: 2 }),
    UsageError,
  );
  assert.deepEqual(calls, []);
  const outcome = await evaluateImageTaskShard(task, model, dataset, options, {
    index: 1,
    count: 2,
  });
  assert.deepEqual(calls, ["validate", "prepare"]);
  assert.deepEqual(outcome.shard, { index: 1, count: 2 });
  assert.equal(outcome.datasetRoot, dataset.root);
  assert.equal(outcome.read, outcome.scored + outcome.skippedCount);
  assert.ok(outcome.scored > 0 && outcome.skippedCount > 0);
  assert.deepEqual(outcome.taskFingerprint, { kind: "toy" });
  assert.equal(
    outcome.state.kind === "retrieval" && outcome.state.positions.shards.length,
    outcome.scored,
  );
  assert.ok(outcome.skipped.every((s) => s.shard === 0 && s.index >= 0));
});

/** A sink that keeps what it is given, in order. */
function collectingSink() {
  const header: object[] = [];
  const rows: Record<string, unknown>[] = [];
  const sink: PredictionSink = {
    start: (h) => Promise.resolve(void header.push(h)),
    write: (batch) => Promise.resolve(void rows.push(...(batch as Record<string, unknown>[]))),
  };
  return { sink, header, rows };
}

Deno.test("skeleton: prediction rows get each scored sample's key (and a shard's position)", async () => {
  const whole = collectingSink();
  const result = await evaluateImageTask(countingTask([]), model, dataset, {
    datasetName: "toy",
    batchSize: 7,
    limit: 40,
    maxSkippedFraction: 1,
    predictions: whole.sink,
  });
  assert.deepEqual(whole.header, [{ kind: "classification", classnames: ["even"] }]);
  assert.equal(whole.rows.length, result.n_samples);
  const skippedKeys = new Set(result.skipped.map((s) => s.key));
  assert.ok(whole.rows.every((row) => typeof row.key === "string" && !skippedKeys.has(row.key)));
  assert.equal(new Set(whole.rows.map((row) => row.key)).size, whole.rows.length);
  assert.ok(
    whole.rows.every((row) => row.position === undefined && (row.label as number) % 2 === 0),
  );
  // Rows follow the batches in stream order.
  const batchNumbers = whole.rows.map((row) => row.batch as number);
  assert.deepEqual(batchNumbers, [...batchNumbers].sort((a, b) => a - b));

  const shard = collectingSink();
  const outcome = await evaluateImageTaskShard(
    countingTask([]),
    model,
    dataset,
    { datasetName: "toy", batchSize: 16, maxSkippedFraction: 1, predictions: shard.sink },
    { index: 1, count: 2 },
  );
  assert.equal(shard.rows.length, outcome.scored);
  const positions = outcome.state.kind === "retrieval" ? outcome.state.positions : undefined;
  assert.deepEqual(
    shard.rows.map((row) => row.position),
    Array.from(positions!.shards, (s, i) => [s, positions!.indices[i]]),
  );
});

Deno.test({
  name: "release the demo model",
  fn: () => model.release(),
  sanitizeResources: false,
});
