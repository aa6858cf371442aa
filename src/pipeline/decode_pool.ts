/**
 * A pool of Web Workers that decode and preprocess images into the slots of one shared pixel
 * buffer (`decode_worker.ts`): the {@linkcode SlotDecoder} stage of `numWorkers ≥ 1`. The caller owns the slots: it says which slot each image goes to
 * and when a slot may be reused; the pool only runs jobs.
 *
 * A job goes to the worker with the fewest unanswered jobs (the lowest index on a tie); which
 * worker decodes an image never changes its pixels, so results do not depend on the number of
 * workers or on their timing. The encoded bytes are copied once and the copy transferred, so
 * the caller's sample is left intact.
 *
 * A worker that fails (its script cannot load, or it crashes) fails every job it holds and every
 * later job with a {@linkcode DecodePoolError}; {@linkcode DecodePool.close} terminates all
 * workers and must be called on every exit path (it is idempotent).
 *
 * @module
 */

import type { PreprocessorSettings } from "../image/preprocess/config.ts";
import type { DecodeJob, DecodeReply, DecodeWorkerInit } from "./decode_messages.ts";
import type { SlotDecoder } from "./slot_decoder.ts";

/** A worker of the pool failed: the pool cannot decode any more. */
export class DecodePoolError extends Error {
  /**
   * Creates an instance.
   *
   * @param message What failed.
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "DecodePoolError";
  }
}

/** Options of {@linkcode DecodePool.create}. */
export interface DecodePoolOptions {
  /** Number of workers (≥ 1). */
  readonly numWorkers: number;
  /** The preprocessing every worker applies. */
  readonly settings: PreprocessorSettings;
  /** The shared slots the workers write into (see {@linkcode DecodeWorkerInit}). */
  readonly slots: SharedArrayBuffer;
}

/** Workers started by decode pools and not yet terminated, over all pools. */
let liveWorkers = 0;

/** The number of decoding workers running now, over all pools (for checks that none leaks). */
export function liveDecodeWorkers(): number {
  return liveWorkers;
}

interface PendingJob {
  readonly resolve: (reason: string | undefined) => void;
  readonly reject: (error: Error) => void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, PendingJob>;
}

/** Decoding workers writing preprocessed images into shared slots. */
export class DecodePool implements SlotDecoder {
  /** Number of workers. */
  readonly size: number;
  readonly #workers: PoolWorker[] = [];
  #nextId = 0;
  #failure: DecodePoolError | undefined;
  #closed = false;

  private constructor(options: DecodePoolOptions) {
    const { numWorkers } = options;
    if (!Number.isInteger(numWorkers) || numWorkers < 1) {
      throw new RangeError(`a decode pool needs a positive integer of workers, got ${numWorkers}`);
    }
    this.size = numWorkers;
    const init: DecodeWorkerInit = {
      kind: "init",
      settings: options.settings,
      slots: options.slots,
    };
    try {
      for (let i = 0; i < numWorkers; i++) {
        const worker = new Worker(new URL("./decode_worker.ts", import.meta.url), {
          type: "module",
          name: `clipbench-decode-${i}`,
        });
        liveWorkers++;
        const entry: PoolWorker = { worker, pending: new Map() };
        worker.onmessage = (event: MessageEvent<DecodeReply>) => {
          const job = entry.pending.get(event.data.id);
          if (job === undefined) return;
          entry.pending.delete(event.data.id);
          job.resolve(event.data.error);
        };
        worker.onerror = (event: ErrorEvent) => {
          event.preventDefault();
          this.#fail(`decoding worker ${i} failed: ${event.message}`, event.error);
        };
        worker.onmessageerror = () => this.#fail(`decoding worker ${i} sent an unreadable message`);
        this.#workers.push(entry);
        worker.postMessage(init);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Starts `numWorkers` workers (they load their modules in the background; jobs sent meanwhile
   * wait in their queues).
   *
   * @throws {RangeError} when `numWorkers` is not a positive integer.
   */
  static create(options: DecodePoolOptions): DecodePool {
    return new DecodePool(options);
  }

  /** Jobs sent and not yet answered, over all workers. */
  get pending(): number {
    let count = 0;
    for (const entry of this.#workers) count += entry.pending.size;
    return count;
  }

  /**
   * Decodes `bytes` and preprocesses the image into `slot`.
   *
   * @param ext The sample field, named in error messages.
   * @returns `undefined` once the slot holds the image, or the reason the sample cannot be used
   *   (the message of the decoder's or preprocessor's error).
   * @throws {DecodePoolError} (the promise rejects) when a worker failed or the pool is closed.
   */
  decode(bytes: Uint8Array, ext: string, slot: number): Promise<string | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new DecodePoolError("the decode pool is closed"));
    let target = this.#workers[0];
    for (const entry of this.#workers) {
      if (entry.pending.size < target.pending.size) target = entry;
    }
    const id = this.#nextId++;
    const copy = bytes.slice();
    const job: DecodeJob = { kind: "decode", id, bytes: copy, ext, slot };
    return new Promise((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.postMessage(job, [copy.buffer]);
    });
  }

  #fail(message: string, cause?: unknown): void {
    this.#failure ??= new DecodePoolError(message, { cause });
    this.close();
  }

  /** Terminates every worker; jobs not yet answered are rejected. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = this.#failure ?? new DecodePoolError("the decode pool was closed");
    for (const entry of this.#workers) {
      entry.worker.terminate();
      liveWorkers--;
      for (const job of entry.pending.values()) job.reject(error);
      entry.pending.clear();
    }
  }
}
