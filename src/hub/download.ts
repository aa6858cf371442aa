/**
 * Downloading one file into a cache so that the cache never holds a wrong or partial file:
 *
 * 1. Take the file's lock (src/hub/file_lock.ts); if another process completed the file while
 *    this one waited, use theirs.
 * 2. Append to the partial file left by an interrupted run, asking for the rest with `Range`
 *    (a cut connection within the run is resumed by src/io/http/resumable_body.ts).
 * 3. Check the size and the hash the hub publishes (SHA-256 or Git blob id). On a mismatch the
 *    partial file is discarded and the download made once more from the start; a second
 *    mismatch is an error naming the file, the URL and both values.
 * 4. Only then move the file to its final name (`commit`), and release the lock.
 *
 * @module
 */

import { dirname } from "node:path";
import { openByteStream } from "../io/byte_source.ts";
import type { HttpOptions } from "../io/http/client.ts";
import { DatasetError } from "../errors.ts";
import { type DownloadProgress, SILENT_PROGRESS } from "./download_progress.ts";
import { type ContentHash, hashFile } from "./file_hash.ts";
import { acquireFileLock, type FileLockOptions } from "./file_lock.ts";

/** What the downloaded file must be. */
export interface ExpectedContent {
  /** Size in bytes, when the hub tells it. */
  readonly size?: number;
  /** Content hash, when the hub tells it. */
  readonly hash?: ContentHash;
}

/** Where a download comes from and goes. */
export interface DownloadPlan {
  /** The file's path in its repository (for progress and messages). */
  readonly label: string;
  /** The URL to fetch. */
  readonly url: string;
  /** Where the partial download is kept (and resumed from by a later run). */
  readonly partialPath: string;
  /** The lock file. */
  readonly lockPath: string;
  /** Whether the final file is already in place (asked again once the lock is held). */
  readonly isComplete: () => Promise<boolean>;
  /** Moves the verified partial file to its final place. */
  readonly commit: (verifiedPath: string) => Promise<void>;
}

/** Options of {@linkcode downloadVerified}. */
export interface DownloadOptions {
  /** HTTP settings (credentials, retries, timeouts). */
  readonly http?: HttpOptions;
  /** Cancels the download (the partial file is kept for a later resume). */
  readonly signal?: AbortSignal;
  /** Progress reporting. */
  readonly progress?: DownloadProgress;
  /** Lock settings. */
  readonly lock?: Omit<FileLockOptions, "signal">;
}

/**
 * Downloads `plan.url` as described in the module documentation.
 *
 * @returns `downloaded`, or `present` when the file was complete already (another process).
 * @throws {DatasetError} when the transfer fails after its retries or the content does not
 *   match `expected` twice.
 */
export async function downloadVerified(
  plan: DownloadPlan,
  expected: ExpectedContent,
  options: DownloadOptions = {},
): Promise<"downloaded" | "present"> {
  const lock = await acquireFileLock(plan.lockPath, { ...options.lock, signal: options.signal });
  try {
    if (await plan.isComplete()) return "present";
    await Deno.mkdir(dirname(plan.partialPath), { recursive: true });
    for (let round = 1;; round++) {
      await fetchRest(plan, expected, options);
      const problem = await verify(plan.partialPath, expected);
      if (problem === undefined) break;
      await Deno.remove(plan.partialPath).catch(() => {});
      if (round === 2) {
        throw new DatasetError(`${plan.label}: downloaded from ${plan.url}, but ${problem}`, {
          path: plan.url,
        });
      }
    }
    await plan.commit(plan.partialPath);
    return "downloaded";
  } finally {
    await lock.release();
  }
}

/** Appends the missing part of the file to the partial file. */
async function fetchRest(
  plan: DownloadPlan,
  expected: ExpectedContent,
  options: DownloadOptions,
): Promise<void> {
  let have = await sizeOf(plan.partialPath);
  if (expected.size !== undefined && have > expected.size) {
    await Deno.remove(plan.partialPath);
    have = 0;
  }
  if (expected.size !== undefined && have === expected.size) return;
  const stream = await openByteStream(plan.url, {
    http: options.http,
    signal: options.signal,
    offset: have,
  });
  let file: Deno.FsFile;
  try {
    file = await Deno.open(plan.partialPath, { create: true, append: true });
  } catch (error) {
    await stream.cancel().catch(() => {});
    throw error;
  }
  const tracker = (options.progress ?? SILENT_PROGRESS).begin(plan.label, expected.size, have);
  try {
    // Each chunk goes to the file as it arrives (FsFile.writable would hold it until closing),
    // so a process killed mid-way leaves every byte it received for the next one to resume from.
    for await (const chunk of stream) {
      for (let written = 0; written < chunk.length;) {
        written += await file.write(chunk.subarray(written));
      }
      tracker.advance(chunk.length);
    }
  } finally {
    file.close();
    tracker.finish();
  }
}

/** What is wrong with the downloaded file, or `undefined` when it is as expected. */
async function verify(path: string, expected: ExpectedContent): Promise<string | undefined> {
  const size = await sizeOf(path);
  if (expected.size !== undefined && size !== expected.size) {
    return `it has ${size} bytes instead of ${expected.size}`;
  }
  if (expected.hash !== undefined) {
    const actual = await hashFile(path, expected.hash.algorithm);
    if (actual !== expected.hash.hex) {
      return `its ${expected.hash.algorithm} is ${actual} instead of ${expected.hash.hex}`;
    }
  }
  return undefined;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}
