import assert from "node:assert/strict";
import { mainMetrics, metricLabel, recoverCount } from "../../src/report/main_metrics.ts";
import type { ReportedResult } from "../../src/report/result_files.ts";

Deno.test("counts come back from double and float32 quotients only", () => {
  assert.equal(recoverCount(750 / 1000, 1000), 750);
  assert.equal(recoverCount(Math.fround(2467 / 5000), 5000), 2467);
  assert.equal(recoverCount(0.3333, 10), null);
  assert.equal(recoverCount(0.5, 0), null);
});

Deno.test("retrieval shows image then text recall@1/5/10 with counts over captions and images", () => {
  const result: ReportedResult = {
    path: "x",
    dataset: "d",
    model: "m",
    task: "zeroshot_retrieval",
    metrics: {
      "image_retrieval_recall@1": 0.25,
      "text_retrieval_recall@1": 0.5,
      "image_retrieval_recall@2": 0.5,
    },
    nImages: 4,
    nCaptions: 8,
  };
  const metrics = mainMetrics(result);
  assert.deepEqual(metrics.map((m) => m.label), ["image R@1", "text R@1"]);
  assert.deepEqual([metrics[0].interval!.successes, metrics[0].interval!.trials], [2, 8]);
  assert.deepEqual([metrics[1].interval!.successes, metrics[1].interval!.trials], [2, 4]);
  assert.equal(metricLabel("mean_average_precision"), "mAP");
});

Deno.test("evalscope's files without counts get values but no interval", () => {
  const [metric] = mainMetrics({
    path: "x",
    dataset: "d",
    model: "m",
    task: "zeroshot_classification",
    metrics: { acc1: 0.5 },
  });
  assert.equal(metric.value, 0.5);
  assert.equal(metric.interval, null);
  assert.match(metric.noIntervalReason!, /no n_samples/);
});
