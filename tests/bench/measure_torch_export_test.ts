/**
 * The comparison with `torch.onnx.export`: its median and agreement helpers, and a whole run on
 * the tiny preset (when `/usr/bin/python3` has PyTorch; otherwise it must say why it skipped),
 * whose two graphs must agree. No timing is asserted.
 */

import assert from "node:assert/strict";
import {
  AGREEMENT_TOLERANCE,
  measureTorchExport,
  median,
  relativeDifference,
} from "../../bench/measure_torch_export.ts";

Deno.test("median: odd and even counts, order-independent", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5]), 5);
  assert.throws(() => median([]), RangeError);
});

Deno.test("relativeDifference: max |a − b| over max |b|", () => {
  const b = new Float32Array([1, -4, 2]);
  assert.equal(relativeDifference(new Float32Array([1, -4, 2]), b), 0);
  assert.equal(relativeDifference(new Float32Array([1, -3, 2]), b), 0.25);
  assert.equal(relativeDifference(new Float32Array([0]), new Float32Array([0])), 0);
  assert.equal(relativeDifference(new Float32Array([1]), new Float32Array([0])), Infinity);
  assert.throws(() => relativeDifference(new Float32Array(2), b), RangeError);
});

Deno.test("measureTorchExport: the tiny model's two graphs agree and are both timed", async () => {
  const cacheRoot = await Deno.makeTempDir({ prefix: "clipbench-torch-export-" });
  try {
    const measure = await measureTorchExport({
      cacheRoot,
      preset: "tiny",
      batchSize: 3,
      threads: 1,
      repetitions: 3,
    });
    if ("skipped" in measure) {
      console.warn(`skipped: ${measure.skipped}`);
      assert.match(measure.skipped, /python3|PyTorch|torch_export_clip_vision/);
      return;
    }
    assert.equal(measure.batchSize, 3);
    assert.equal(measure.repetitions, 3);
    assert.ok(measure.relativeDifference <= AGREEMENT_TOLERANCE);
    for (const graph of [measure.clipbench, measure.torchExport]) {
      assert.ok(graph.fileBytes > 0 && graph.imagesPerSecond > 0);
    }
    assert.ok(Number.isFinite(measure.ratio) && measure.ratio > 0);
    assert.match(measure.torch, /^\d+\.\d+/);
  } finally {
    await Deno.remove(cacheRoot, { recursive: true });
  }
});
