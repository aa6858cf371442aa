import assert from "node:assert/strict";
import { PixelScratch } from "../../src/pipeline/slot_decoder.ts";

Deno.test("PixelScratch lends one growing buffer to one decode at a time", () => {
  const scratch = new PixelScratch();
  const first = scratch.take();
  const a = first.buffer(100);
  assert.ok(a.length >= 100);
  assert.equal(first.buffer(50), a, "a smaller request reuses the buffer");
  // Lent: an overlapping decode gets fresh buffers, never the lent one.
  const overlapping = scratch.take();
  const fresh = overlapping.buffer(100);
  assert.notEqual(fresh, a);
  overlapping.release();
  first.release();
  const again = scratch.take();
  assert.equal(again.buffer(100), a, "returned, the buffer is lent again");
  const grown = again.buffer(1000);
  assert.ok(grown.length >= 1000 && grown !== a);
  again.release();
  const later = scratch.take();
  assert.equal(later.buffer(10), grown, "the grown buffer is kept");
  later.release();
});
