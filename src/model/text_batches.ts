/**
 * Shortening and ordering the text tower's batches so that it runs fewer positions, without
 * changing what each text's embedding is.
 *
 * - {@linkcode trimmedRowLength}: the fewest positions a batch of padded rows can be cut to
 *   when the tower's pooled state depends only on positions up to its end token (a causal tower
 *   pooled at the first highest id, or at the first id equal to its end token): the longest real
 *   row, plus one padding position when a longest row does not contain the pad id (then a
 *   first-highest-id or first-end-token pooling could land on that row's first pad — its real
 *   tokens are all below the pad id, or the pad id is the end token sought — and the position
 *   must stay).
 * - {@linkcode trimBatch}: the batch cut to that many positions per row.
 * - {@linkcode lengthOrder}: the texts in order of their real length, so that each batch holds
 *   texts of about the same length and is padded (or trimmed) to little more than its own.
 *
 * @module
 */

import type { TokenizedBatch } from "./tokenizer.ts";

/** Number of real (attention mask 1) positions of row `row`: the mask is 1s, then 0s. */
function realLength(batch: TokenizedBatch, row: number): number {
  const start = row * batch.contextLength;
  let length = batch.contextLength;
  while (length > 0 && batch.attentionMask[start + length - 1] === 0) length--;
  return length;
}

/** Whether the real positions of `row` (of `length`) contain `id`. */
function realRowHolds(batch: TokenizedBatch, row: number, length: number, id: number): boolean {
  const start = row * batch.contextLength;
  for (let i = start; i < start + length; i++) if (batch.ids[i] === id) return true;
  return false;
}

/**
 * The positions per row that keep every row's pooled state in a causal, end-token-pooled tower
 * (see the module note): the longest real row, one more when a longest row lacks the pad id
 * among its real tokens, never more than the batch's rows hold (all of them for an empty batch).
 */
export function trimmedRowLength(batch: TokenizedBatch): number {
  const width = batch.contextLength;
  const lengths = Array.from({ length: batch.count }, (_, row) => realLength(batch, row));
  const longest = lengths.reduce((max, length) => Math.max(max, length), 0);
  if (longest >= width || longest === 0) return width;
  for (let row = 0; row < batch.count; row++) {
    if (lengths[row] !== longest) continue;
    const padId = batch.ids[row * width + longest];
    if (!realRowHolds(batch, row, longest, padId)) return longest + 1;
  }
  return longest;
}

/** The batch with each row cut to its first `length` positions (the batch itself if no shorter). */
export function trimBatch(batch: TokenizedBatch, length: number): TokenizedBatch {
  const width = batch.contextLength;
  if (!Number.isInteger(length) || length < 1) {
    throw new RangeError(`a trimmed row needs at least one position, got ${length}`);
  }
  if (length >= width) return batch;
  const ids = new Int32Array(batch.count * length);
  const attentionMask = new Int32Array(batch.count * length);
  for (let row = 0; row < batch.count; row++) {
    const from = row * width;
    ids.set(batch.ids.subarray(from, from + length), row * length);
    attentionMask.set(batch.attentionMask.subarray(from, from + length), row * length);
  }
  return { count: batch.count, contextLength: length, ids, attentionMask };
}

/**
 * The indices of `lengths` from the longest to the shortest; equal lengths keep their order, so
 * the order (and every batch cut from it) depends only on the lengths.
 */
export function lengthOrder(lengths: readonly number[]): number[] {
  return lengths.map((_, index) => index).sort((a, b) => lengths[b] - lengths[a] || a - b);
}
