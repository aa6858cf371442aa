import assert from "node:assert/strict";
import { coreCount, defaultNumWorkers } from "../../src/pipeline/core_split.ts";

Deno.test("defaultNumWorkers: one per core, at most 4 beside CPU inference, every core beside a GPU", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 8, 64].map((cores) => defaultNumWorkers(cores)), [
    1,
    1,
    2,
    3,
    4,
    4,
    4,
  ]);
  assert.deepEqual([1, 2, 8, 64].map((cores) => defaultNumWorkers(cores, "cuda")), [1, 2, 8, 64]);
  assert.equal(defaultNumWorkers(8, "cpu"), 4);
  assert.ok(coreCount() >= 1);
});
