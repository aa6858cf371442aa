/**
 * The prediction rows of a retrieval run (src/results/predictions/predictions_file.ts): per image,
 * in image order, its text-retrieval rank and the image-retrieval rank of each of its captions,
 * from the accumulator's ranks (src/metrics/retrieval.ts), so recall@k counted from the rows is
 * the result's recall@k exactly.
 *
 * @module
 */

import type { RetrievalAccumulator } from "../../src/metrics/retrieval.ts";

/** One image's ranks, as a row holds them (without the key). */
export interface RetrievalRanksRow {
  /** Captions ranking before the image's best own caption. */
  readonly text_rank: number;
  /** Per own caption, in order: images ranking before the caption's image. */
  readonly image_ranks: number[];
}

/** The rows of every image the accumulator holds, in image order. */
export function retrievalRows(accumulator: RetrievalAccumulator): RetrievalRanksRow[] {
  const { captionRanks, imageRanks } = accumulator.ranks();
  const rows: RetrievalRanksRow[] = Array.from(imageRanks, (rank) => ({
    text_rank: rank,
    image_ranks: [],
  }));
  accumulator.captionImageIndices().forEach((image, caption) => {
    rows[image].image_ranks.push(captionRanks[caption]);
  });
  return rows;
}
