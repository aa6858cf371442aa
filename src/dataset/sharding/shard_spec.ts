/**
 * Which part of a dataset one worker evaluates: shard `index` of `count` (`--shard i/n`, 0-based,
 * `0 ≤ i < n`), and where that pair comes from when an orchestrator starts the worker.
 *
 * - **Explicitly**: `--shard i/n` on the command line, `shard: "i/n"` in a task_cfg or a
 *   request — what a CI matrix passes.
 * - **From the environment**: the index from `CLIPBENCH_SHARD_INDEX`, else from
 *   `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs set it in every pod), and the count from
 *   `--shard-count`, `shard_count` in a task_cfg, or `CLIPBENCH_SHARD_COUNT` (Kubernetes does not
 *   pass the job's `completions` to the pod). Sharding from the environment starts only when a
 *   count is given: an index alone (a pod of an Indexed Job that uses its index for something
 *   else) changes nothing.
 *
 * How a shard selects samples is src/dataset/sharding/shard_reading.ts.
 *
 * @module
 */

import { UsageError } from "../../errors.ts";

/** Shard `index` of `count`, 0-based. */
export interface ShardSpec {
  /** This worker's index, `0 ≤ index < count`. */
  readonly index: number;
  /** Number of workers the dataset is split between (≥ 1). */
  readonly count: number;
}

/** The environment variable naming the shard index (takes precedence over `JOB_COMPLETION_INDEX`). */
export const SHARD_INDEX_ENV = "CLIPBENCH_SHARD_INDEX";
/** The environment variable naming the shard count. */
export const SHARD_COUNT_ENV = "CLIPBENCH_SHARD_COUNT";
/** The index Kubernetes gives each pod of an Indexed Job. */
export const KUBERNETES_INDEX_ENV = "JOB_COMPLETION_INDEX";

/** The largest shard count accepted (a sanity bound, far above any real fan-out). */
export const MAX_SHARD_COUNT = 100_000;

function integerText(text: string): number | undefined {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

/**
 * Checks a shard index and count.
 *
 * @param where Names the flag, key or variable in the message.
 * @throws {UsageError} unless `count` is an integer in [1, {@linkcode MAX_SHARD_COUNT}] and
 * `index` an integer in [0, count).
 */
export function checkShardSpec(index: unknown, count: unknown, where: string): ShardSpec {
  if (
    typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_SHARD_COUNT
  ) {
    throw new UsageError(
      `${where}: the shard count must be an integer from 1 to ${MAX_SHARD_COUNT}, got ${
        JSON.stringify(count)
      }`,
    );
  }
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new UsageError(
      `${where}: the shard index must be an integer from 0 to ${count - 1} (0-based), got ${
        JSON.stringify(index)
      }`,
    );
  }
  return { index, count };
}

/**
 * Parses `i/n` (0-based index `i` of `n` shards), as `--shard` takes it.
 *
 * @param where Names the flag or key in the message.
 * @throws {UsageError} naming `where` for anything else, or an index outside [0, n).
 */
export function parseShardSpec(text: string, where: string): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (match === null) {
    throw new UsageError(
      `${where} must be INDEX/COUNT with a 0-based index (e.g. 0/4 … 3/4), got ${
        JSON.stringify(text)
      }`,
    );
  }
  return checkShardSpec(Number(match[1]), Number(match[2]), where);
}

/** `i/n`, as {@linkcode parseShardSpec} reads it. */
export function formatShardSpec(spec: ShardSpec): string {
  return `${spec.index}/${spec.count}`;
}

/** Where {@linkcode shardFromEnvironment} looks. */
export interface ShardSources {
  /** An explicit `i/n` (`--shard`), which wins over everything else. */
  readonly explicit?: ShardSpec;
  /** A count given explicitly (`--shard-count`, `shard_count`), with the index from the environment. */
  readonly count?: number;
  /** Reads an environment variable (default: `Deno.env.get`, undefined without permission). */
  readonly env?: (name: string) => string | undefined;
}

function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The shard this worker evaluates, or `undefined` for the whole dataset (see the module
 * documentation for the order of the sources).
 *
 * @throws {UsageError} when an explicit shard and an explicit count disagree, when a count is
 * given but no index variable is set, or when a variable is not a valid number.
 */
export function shardFromEnvironment(sources: ShardSources = {}): ShardSpec | undefined {
  const env = sources.env ?? processEnv;
  if (sources.explicit !== undefined) {
    if (sources.count !== undefined && sources.count !== sources.explicit.count) {
      throw new UsageError(
        `--shard ${formatShardSpec(sources.explicit)} and a shard count of ${sources.count} ` +
          `disagree; give one of them`,
      );
    }
    return sources.explicit;
  }
  let count = sources.count;
  let countSource = "--shard-count";
  if (count === undefined) {
    const text = env(SHARD_COUNT_ENV);
    if (text === undefined || text.trim() === "") return undefined;
    count = integerText(text);
    countSource = SHARD_COUNT_ENV;
    if (count === undefined) {
      throw new UsageError(
        `${SHARD_COUNT_ENV} must be a positive integer, got ${JSON.stringify(text)}`,
      );
    }
  }
  for (const name of [SHARD_INDEX_ENV, KUBERNETES_INDEX_ENV]) {
    const text = env(name);
    if (text === undefined || text.trim() === "") continue;
    const index = integerText(text);
    if (index === undefined) {
      throw new UsageError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    }
    return checkShardSpec(index, count, `${name} with ${countSource} ${count}`);
  }
  throw new UsageError(
    `${countSource} ${count} needs the shard index from ${SHARD_INDEX_ENV} or ` +
      `${KUBERNETES_INDEX_ENV} (a Kubernetes Indexed Job sets it); or give --shard INDEX/COUNT`,
  );
}
