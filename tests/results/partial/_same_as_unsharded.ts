/**
 * The check every merge test makes: a merged result equals the unsharded run's in every field and
 * number outside the `clipbench` block, bit for bit as written; and its block records the same
 * settings, task settings, samples, model fingerprint and per-class recall, with the shard layout
 * and no timing or runtime (the shards ran apart).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ClipbenchBlock } from "../../../src/results/provenance.ts";
import type { TaskResult } from "../../../src/results/result.ts";

/** `result` without its `clipbench` block. */
export function withoutBlock(result: TaskResult): Omit<TaskResult, "clipbench"> {
  const { clipbench: _block, ...rest } = result;
  return rest;
}

/** Asserts that `merged` (of `count` shards) is the unsharded `expected` (see the module doc). */
export function assertSameAsUnsharded(
  merged: TaskResult,
  expected: TaskResult,
  count: number,
  message: string,
): void {
  assert.deepEqual(withoutBlock(merged), withoutBlock(expected), message);
  assert.equal(
    JSON.stringify(withoutBlock(merged)),
    JSON.stringify(withoutBlock(expected)),
    message,
  );
  const block = merged.clipbench as ClipbenchBlock;
  const single = expected.clipbench as ClipbenchBlock;
  assert.deepEqual(block.settings, single.settings, message);
  assert.deepEqual(block.task_settings, single.task_settings, message);
  assert.deepEqual(block.per_class_recall, single.per_class_recall, message);
  assert.deepEqual(block.samples, single.samples, message);
  assert.deepEqual({ ...block.model, given: "x" }, { ...single.model, given: "x" }, message);
  assert.equal(block.model.given, null, message);
  assert.equal(block.shards?.count, count, message);
  assert.equal(single.shards, null, message);
  assert.equal(block.time, null, message);
  assert.equal(block.runtime, null, message);
  assert.equal(block.version, single.version, message);
}
