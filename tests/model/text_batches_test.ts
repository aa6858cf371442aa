/**
 * src/model/text_batches.ts: how far a batch of padded rows is trimmed (the longest real row,
 * one pad position more when a longest row lacks the pad id), the trimmed rows, the length order;
 * and which families and configs allow trimming (src/model/family.ts).
 */
import assert from "node:assert/strict";
import { modelFamily } from "../../src/model/family.ts";
import { lengthOrder, trimBatch, trimmedRowLength } from "../../src/model/text_batches.ts";
import type { TokenizedBatch } from "../../src/model/tokenizer.ts";

/** A batch of `rows` padded with `padId` to `width`. */
function padded(
  rows: readonly (readonly number[])[],
  width: number,
  padId: number,
): TokenizedBatch {
  const ids = new Int32Array(rows.length * width).fill(padId);
  const attentionMask = new Int32Array(rows.length * width);
  rows.forEach((row, i) => {
    ids.set(row, i * width);
    attentionMask.fill(1, i * width, i * width + row.length);
  });
  return { count: rows.length, contextLength: width, ids, attentionMask };
}

Deno.test("trimmedRowLength: the longest real row when it holds the pad id (CLIP pads with its end token)", () => {
  const end = 99;
  const batch = padded([[98, 5, end], [98, 5, 6, 7, end], [98, end]], 10, end);
  assert.equal(trimmedRowLength(batch), 5);
});

Deno.test("trimmedRowLength: one pad position more when a longest row lacks the pad id", () => {
  // Pad id 100 above every real id: a first-highest-id pooling lands on the first pad.
  assert.equal(trimmedRowLength(padded([[98, 5, 99], [98, 5, 6, 7, 99]], 10, 100)), 6);
  // Pad id 0 (open_clip's): absent from the real rows, so one position stays as well.
  assert.equal(trimmedRowLength(padded([[98, 5, 99], [98, 5, 6, 7, 99]], 10, 0)), 6);
  // Only the longest rows count: the shorter row keeps pads anyway.
  assert.equal(trimmedRowLength(padded([[98, 99], [98, 5, 6, 0, 99]], 10, 0)), 5);
});

Deno.test("trimmedRowLength: a full row, or an empty batch, keeps the whole width", () => {
  assert.equal(trimmedRowLength(padded([[1, 2, 3, 4], [1, 4]], 4, 4)), 4);
  assert.equal(trimmedRowLength(padded([[1, 2, 3], [1, 3]], 4, 0)), 4);
  assert.equal(trimmedRowLength(padded([], 77, 0)), 77);
});

Deno.test("trimBatch: keeps each row's first positions, ids and mask; no copy when not shorter", () => {
  const batch = padded([[98, 5, 99], [98, 5, 6, 7, 99]], 8, 99);
  const trimmed = trimBatch(batch, 5);
  assert.equal(trimmed.count, 2);
  assert.equal(trimmed.contextLength, 5);
  assert.deepEqual([...trimmed.ids], [98, 5, 99, 99, 99, 98, 5, 6, 7, 99]);
  assert.deepEqual([...trimmed.attentionMask], [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  assert.equal(trimBatch(batch, 8), batch);
  assert.throws(() => trimBatch(batch, 0), RangeError);
});

Deno.test("lengthOrder: longest first, equal lengths in their own order", () => {
  assert.deepEqual(lengthOrder([3, 7, 3, 9, 7, 1]), [3, 1, 4, 0, 2, 5]);
  assert.deepEqual(lengthOrder([]), []);
});

Deno.test("families: only CLIP trims, and not an open_clip tower marked bidirectional or last-pooled", () => {
  const trims = (config: Record<string, unknown>) => modelFamily(config).trimsTextPadding;
  assert.equal(trims({ model_type: "clip" }), true);
  for (const modelType of ["mobileclip", "siglip", "chinese_clip", "jina_clip", "other"]) {
    assert.equal(trims({ model_type: modelType }), false, modelType);
  }
  assert.equal(trims({}), false);
  const openClip = (textCfg: Record<string, unknown>) => ({
    model_type: "clip",
    open_clip_model_cfg: { text_cfg: textCfg },
  });
  assert.equal(trims(openClip({ pool_type: "argmax" })), true);
  assert.equal(trims(openClip({ pool_type: "eos", eos_id: 2 })), true);
  assert.equal(trims(openClip({ pool_type: "first" })), true);
  assert.equal(trims(openClip({ no_causal_mask: true })), false);
  assert.equal(trims(openClip({ pool_type: "last" })), false);
});
