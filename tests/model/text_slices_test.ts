/**
 * Issue 9, item 4: the text tower runs in slices of one batch, giving the event loop a turn
 * before each, so a deadline (a timer) or an abort stops it between batches instead of after
 * the whole job.
 */
import assert from "node:assert/strict";
import { yieldToEventLoop } from "../../src/event_loop.ts";
import { ClipModel } from "../../src/model/model.ts";
import { DEMO_MODEL } from "../_shard_fixtures.ts";

const model = await ClipModel.load(DEMO_MODEL);
const texts = Array.from({ length: 40 }, (_, i) => `a photo of thing number ${i}.`);

Deno.test("event loop: a timer that is due runs before the yield resolves", async () => {
  const seen: string[] = [];
  setTimeout(() => seen.push("timer"), 0);
  await yieldToEventLoop();
  assert.deepEqual(seen, ["timer"]);
  const controller = new AbortController();
  controller.abort(new Error("gone"));
  await assert.rejects(yieldToEventLoop(controller.signal), /gone/);
});

Deno.test("text tower: a deadline that falls due stops it before the next batch", async () => {
  const controller = new AbortController();
  // Due at once: it can fire only when the text tower gives the event loop a turn.
  const timer = setTimeout(() => controller.abort(new Error("deadline")), 0);
  try {
    await assert.rejects(
      model.encodeTexts(texts, 4, { signal: controller.signal }),
      /deadline/,
    );
  } finally {
    clearTimeout(timer);
  }
});

Deno.test("text tower: the slices give the same embeddings as one pass", async () => {
  const whole = await model.encodeTexts(texts, 40);
  const sliced = await model.encodeTexts(texts, 3, { signal: new AbortController().signal });
  assert.equal(sliced.dim, whole.dim);
  assert.deepEqual(sliced.embeddings, whole.embeddings);
});

Deno.test({
  name: "release the demo model",
  fn: () => model.release(),
});
