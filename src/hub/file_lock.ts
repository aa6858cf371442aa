/**
 * A lock file, so that two processes sharing a cache never write the same file at once.
 *
 * The lock is a file created with `createNew` (`O_CREAT | O_EXCL`: exactly one creator wins,
 * also on most network file systems), holding the owner's pid, host name and a random token.
 * The owner refreshes its modification time while it holds the lock (a heartbeat). A waiter
 * polls until the file is gone, and takes the lock over when it is stale:
 *
 * - its owner runs on this host and its pid no longer exists (Linux: no `/proc/<pid>`), or
 * - it has not been refreshed for `staleMs` (an owner that crashed on another host, or a lock
 *   file that is not ours).
 *
 * Taking over renames the stale file aside first, so that of several waiters only one breaks
 * it; should the renamed file turn out to be fresh (its owner re-created it in between), it is
 * put back.
 *
 * @module
 */

import { hostname } from "node:os";
import { dirname } from "node:path";
import { ClipbenchError } from "../errors.ts";
import { abortableSleep } from "../io/http/retry.ts";

/** Options of {@linkcode acquireFileLock}. */
export interface FileLockOptions {
  /** A lock not refreshed for this long is stale (default 60 s). */
  readonly staleMs?: number;
  /** How often the owner refreshes its lock (default a quarter of `staleMs`). */
  readonly heartbeatMs?: number;
  /** How often a waiter looks again (default 250 ms). */
  readonly pollMs?: number;
  /** Longest wait before giving up (default 1 hour). */
  readonly timeoutMs?: number;
  /** Called once when the lock is held by someone else and the caller starts waiting. */
  readonly onWait?: (holder: LockHolder | undefined) => void;
  /** Stops waiting; the abort reason is thrown. */
  readonly signal?: AbortSignal;
}

/** Who holds a lock, as its file says. */
export interface LockHolder {
  /** Process id. */
  readonly pid: number;
  /** Host name. */
  readonly host: string;
  /** Random token of this acquisition. */
  readonly token: string;
  /** When it was acquired (ms since the epoch). */
  readonly since: number;
}

/** A held lock. */
export interface FileLock {
  /** The lock file. */
  readonly path: string;
  /** Releases the lock (removes the file if it is still ours). */
  release(): Promise<void>;
}

/** Default {@linkcode FileLockOptions.staleMs}. */
const DEFAULT_STALE_MS = 60_000;

/**
 * Waits for and takes the lock at `path` (its folder is created).
 *
 * @throws {ClipbenchError} when the lock is still held after `timeoutMs`, naming its holder.
 */
export async function acquireFileLock(
  path: string,
  options: FileLockOptions = {},
): Promise<FileLock> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const pollMs = options.pollMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 3_600_000;
  const started = Date.now();
  await Deno.mkdir(dirname(path), { recursive: true });
  const me: LockHolder = {
    pid: Deno.pid,
    host: hostname(),
    token: crypto.randomUUID(),
    since: Date.now(),
  };
  let waiting = false;
  while (true) {
    options.signal?.throwIfAborted();
    if (await tryCreate(path, me)) {
      return heldLock(path, me, options.heartbeatMs ?? Math.max(10, staleMs / 4));
    }
    const holder = await readHolder(path);
    if (await isStale(path, holder, staleMs)) {
      await breakLock(path, holder);
      continue;
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(holder);
    }
    if (Date.now() - started > timeoutMs) {
      throw new ClipbenchError(
        `${path}: still locked after ${Math.round(timeoutMs / 1000)} s by ${describe(holder)}; ` +
          `remove the file if that process is gone`,
      );
    }
    await abortableSleep(pollMs, options.signal);
  }
}

function describe(holder: LockHolder | undefined): string {
  return holder === undefined
    ? "an unknown process"
    : `process ${holder.pid} on ${holder.host} (since ${new Date(holder.since).toISOString()})`;
}

async function tryCreate(path: string, me: LockHolder): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new ClipbenchError(`${path}: cannot create lock file: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    await file.write(new TextEncoder().encode(JSON.stringify(me)));
  } finally {
    file.close();
  }
  return true;
}

/** The holder a lock file names; `undefined` when it is gone, empty or not ours. */
async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    if (
      typeof value?.pid === "number" && typeof value.host === "string" &&
      typeof value.token === "string" && typeof value.since === "number"
    ) {
      return value;
    }
  } catch {
    // Missing, half-written or foreign: judged by age alone.
  }
  return undefined;
}

async function isStale(
  path: string,
  holder: LockHolder | undefined,
  staleMs: number,
): Promise<boolean> {
  if (holder !== undefined && holder.host === hostname() && !processExists(holder.pid)) {
    return true;
  }
  try {
    const modified = (await Deno.stat(path)).mtime?.getTime();
    return modified !== undefined && Date.now() - modified > staleMs;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false; // released meanwhile
    throw error;
  }
}

/** Whether a process of this id runs here; `true` where that cannot be told (not Linux). */
function processExists(pid: number): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Moves a stale lock aside and removes it, restoring it if it turns out to be fresh. */
async function breakLock(path: string, stale: LockHolder | undefined): Promise<void> {
  const aside = `${path}.stale-${crypto.randomUUID()}`;
  try {
    await Deno.rename(path, aside);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return; // another waiter broke it first
    throw error;
  }
  const moved = await readHolder(aside);
  if (moved !== undefined && moved.token !== stale?.token) {
    // Re-created between our look and the rename: give it back unless a new one exists.
    try {
      await Deno.link(aside, path);
    } catch {
      // A newer lock file is in place; the one we moved is superseded.
    }
  }
  await Deno.remove(aside).catch(() => {});
}

function heldLock(path: string, me: LockHolder, heartbeatMs: number): FileLock {
  const heartbeat = setInterval(() => {
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }, heartbeatMs);
  Deno.unrefTimer(heartbeat);
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      const holder = await readHolder(path);
      if (holder?.token === me.token) await Deno.remove(path).catch(() => {});
    },
  };
}
