/**
 * The rows of several shards' partials in the dataset's global order — by tar shard, then by
 * index within it — which is the order an unsharded run scores them in; the task merges
 * (tasks/*) put their per-sample rows back in this order.
 *
 * @module
 */

import { PartialError } from "./partial_file.ts";
import type { ShardPositions } from "./shard_outcome.ts";

/** One row of a shard, located by its sample's position. */
export interface Located {
  readonly shard: number;
  readonly index: number;
  /** Which partial. */
  readonly part: number;
  /** Which row of that partial. */
  readonly row: number;
}

/** Every row of every partial, in the dataset's global order; duplicates refused. */
export function globalOrder(
  positions: readonly ShardPositions[],
  sources: readonly string[],
): Located[] {
  const rows: Located[] = [];
  positions.forEach((p, part) => {
    for (let row = 0; row < p.shards.length; row++) {
      rows.push({ shard: p.shards[row], index: p.indices[row], part, row });
    }
  });
  rows.sort((a, b) => a.shard - b.shard || a.index - b.index);
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1];
    const b = rows[i];
    if (a.shard === b.shard && a.index === b.index) {
      throw new PartialError(
        `sample ${b.index} of tar shard ${b.shard} is in both ${sources[a.part]} and ` +
          `${sources[b.part]}: the partials overlap`,
      );
    }
  }
  return rows;
}
