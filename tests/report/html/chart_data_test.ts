import assert from "node:assert/strict";
import { loadReport } from "../../../src/report/report_command.ts";
import {
  barData,
  chartInterval,
  imagesPerSecond,
  speedData,
} from "../../../src/report/html/chart_data.ts";
import type { ReportedResult } from "../../../src/report/result_files.ts";
import { FIXTURE_OUTPUTS } from "./fixture_generator.ts";

const loaded = await loadReport([FIXTURE_OUTPUTS]);
const classification = loaded.report.tables.find((t) => t.task === "zeroshot_classification")!;
const retrieval = loaded.report.tables.find((t) => t.task === "zeroshot_retrieval")!;

Deno.test("barData: one bar per classification result, in %, with its interval's kind", () => {
  const bars = barData(classification, loaded.report.bootstrap);
  assert.equal(bars.length, classification.cells.length);
  const cifar = bars.find((b) => b.model === "model-a" && b.dataset === "cifar10_mini")!;
  const row = loaded.report.bootstrap!.rows.find((r) =>
    r.model === "model-a" && r.dataset === "cifar10_mini" && r.name === "acc1"
  )!;
  assert.equal(cifar.interval, "bootstrap");
  assert.equal(cifar.value, 74.5);
  assert.equal(cifar.low, 100 * row.bootstrap.low);
  assert.equal(cifar.high, 100 * row.bootstrap.high);
  // No predictions beside dtd_mini: the Wilson interval from the counts.
  const dtd = bars.find((b) => b.dataset === "dtd_mini")!;
  const wilson = classification.cells.find((c) => c.dataset === "dtd_mini")!.metrics[0].interval!;
  assert.deepEqual([dtd.interval, dtd.low, dtd.high], [
    "Wilson",
    100 * wilson.low,
    100 * wilson.high,
  ]);
  // Multi-label: mAP, labelled on the axis; its interval is the bootstrap one.
  const voc = bars.find((b) => b.dataset === "voc_mini" && b.model === "model-b")!;
  assert.deepEqual([voc.axis, voc.metric, voc.interval], ["voc_mini (mAP)", "mAP", "bootstrap"]);
});

Deno.test("barData without a bootstrap section: Wilson where counts allow, none for mAP", () => {
  const bars = barData(classification, undefined);
  const voc = bars.filter((b) => b.dataset === "voc_mini");
  assert.deepEqual(voc.map((b) => [b.interval, b.low, b.high]), [
    ["none", null, null],
    ["none", null, null],
  ]);
  assert.ok(bars.filter((b) => b.dataset !== "voc_mini").every((b) => b.interval === "Wilson"));
});

Deno.test("barData: retrieval has a bar per model and recall", () => {
  const bars = barData(retrieval, loaded.report.bootstrap);
  assert.equal(bars.length, 2 * 6);
  assert.deepEqual(
    [...new Set(bars.map((b) => b.metric))],
    ["image R@1", "image R@5", "image R@10", "text R@1", "text R@5", "text R@10"],
  );
});

Deno.test("chartInterval prefers the bootstrap row of the same result and metric", () => {
  const cell = retrieval.cells.find((c) => c.model === "model-b")!;
  const metric = cell.metrics.find((m) => m.label === "text R@5")!;
  const row = loaded.report.bootstrap!.rows.find((r) =>
    r.model === "model-b" && r.dataset === "flickr_mini" && r.name === "text_retrieval_recall@5"
  )!;
  assert.deepEqual(chartInterval(cell, metric, loaded.report.bootstrap), {
    low: row.bootstrap.low,
    high: row.bootstrap.high,
    kind: "bootstrap",
  });
  assert.deepEqual(chartInterval(cell, metric, undefined), {
    low: metric.interval!.low,
    high: metric.interval!.high,
    kind: "Wilson",
  });
});

Deno.test("speedData: every timed result's main metric against its images/s", () => {
  const { points, untimed } = speedData(loaded.report.tables);
  assert.equal(points.length, 10);
  assert.deepEqual(untimed, []);
  const flickr = points.find((p) => p.model === "model-a" && p.dataset === "flickr_mini")!;
  assert.equal(flickr.metric, "image R@1");
  assert.equal(flickr.imagesPerSecond, 412.5 * 0.6);
});

Deno.test("imagesPerSecond says why a result is not in the scatter", () => {
  const base = loaded.results[0];
  const withBlock = (clipbench?: Record<string, unknown>) => ({
    result: { ...base, clipbench } as ReportedResult,
  });
  assert.equal(imagesPerSecond(withBlock(undefined)), "the result has no clipbench block");
  assert.match(String(imagesPerSecond(withBlock({ time: null }))), /merge of shards/);
  assert.match(
    String(imagesPerSecond(withBlock({ time: { images_per_s: 0 } }))),
    /not a positive number/,
  );
  assert.equal(imagesPerSecond(withBlock({ time: { images_per_s: 12.5 } })), 12.5);
});
