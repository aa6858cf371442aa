/**
 * A Web Worker that writes benchmark shards for {@linkcode generateBenchDataset}: each message
 * {@linkcode ShardJob} is answered by a {@linkcode ShardDone} once the shard is on disk (or
 * with the error that stopped it).
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { type BenchSampleSpec, writeShard } from "./shard.ts";

/** One shard to write. */
export interface ShardJob {
  /** Where. */
  readonly path: string;
  /** The dataset's sample settings. */
  readonly spec: BenchSampleSpec;
  /** Index of the shard's first sample. */
  readonly first: number;
  /** Samples in the shard. */
  readonly count: number;
}

/** The answer to a {@linkcode ShardJob}. */
export interface ShardDone {
  /** The job's path. */
  readonly path: string;
  /** JPEG bytes written, when it succeeded. */
  readonly imageBytes?: number;
  /** What went wrong, when it failed. */
  readonly error?: string;
}

self.onmessage = async (event: MessageEvent<ShardJob>) => {
  const { path, spec, first, count } = event.data;
  let reply: ShardDone;
  try {
    reply = { path, imageBytes: await writeShard(path, spec, first, count) };
  } catch (error) {
    reply = { path, error: (error as Error).stack ?? String(error) };
  }
  self.postMessage(reply);
};
