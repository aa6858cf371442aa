/**
 * Image inference in a Web Worker (`inference_worker.ts`) that reads its batches from the shared
 * pixel slots the decoding workers write. onnxruntime-node runs a session synchronously on the
 * thread that calls it, so running it here keeps the main thread free to read the dataset and
 * keep the decoders busy while a batch is encoded.
 *
 * The worker opens its own session over the model's image graph, with the model's session
 * settings; the model's own session is not used (nor released) by it.
 *
 * @module
 */

import { ModelError } from "../errors.ts";
import type { InferenceJob, InferenceReply, InferenceWorkerInit } from "./inference_messages.ts";

/**
 * What {@linkcode WorkerImageEncoder.open} needs to know about the image graph: the worker's
 * `init` message without its kind.
 */
export type WorkerImageEncoderOptions = Omit<InferenceWorkerInit, "kind">;

/** One batch handed to {@linkcode WorkerImageEncoder.encode}. */
export interface WorkerEncoding {
  /** Resolves once the batch's slots were copied out and may be reused. */
  readonly gathered: Promise<void>;
  /** The L2-normalised embeddings, `count × dim`. */
  readonly encoded: Promise<{ embeddings: Float32Array; dim: number }>;
}

/** Inference workers started and not yet terminated. */
let liveWorkers = 0;

/** The number of inference workers running now (for checks that none leaks). */
export function liveInferenceWorkers(): number {
  return liveWorkers;
}

interface Job {
  gathered: () => void;
  resolve: (value: { embeddings: Float32Array; dim: number }) => void;
  reject: (error: Error) => void;
}

/** An image encoder whose session lives in a worker. */
export class WorkerImageEncoder {
  readonly #worker: Worker;
  readonly #path: string;
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;
  #failure: Error | undefined;
  #released: (() => void) | undefined;
  #terminated = false;

  private constructor(worker: Worker, path: string) {
    this.#worker = worker;
    this.#path = path;
  }

  /**
   * Starts the worker and opens the session in it.
   *
   * @throws {ModelError} when the worker cannot open the graph.
   */
  static open(options: WorkerImageEncoderOptions): Promise<WorkerImageEncoder> {
    const worker = new Worker(new URL("./inference_worker.ts", import.meta.url), {
      type: "module",
      name: "clipbench-inference",
    });
    liveWorkers++;
    const encoder = new WorkerImageEncoder(worker, options.path);
    return new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<InferenceReply>) => {
        const reply = event.data;
        if (reply.kind === "ready") {
          worker.onmessage = (next: MessageEvent<InferenceReply>) => encoder.#receive(next.data);
          resolve(encoder);
        } else if (reply.kind === "failed") {
          encoder.terminate();
          reject(new ModelError(reply.message, { path: reply.path ?? options.path }));
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const error = new ModelError(
          `the inference worker for ${options.path} failed: ${event.message}`,
          { path: options.path, cause: event.error },
        );
        encoder.#fail(error);
        reject(error);
      };
      const init: InferenceWorkerInit = { kind: "init", ...options };
      worker.postMessage(init);
    });
  }

  #receive(reply: InferenceReply): void {
    if (reply.kind === "released") {
      this.#released?.();
      return;
    }
    if (reply.kind === "ready" || reply.kind === "failed") return;
    const job = this.#jobs.get(reply.id);
    if (job === undefined) return;
    if (reply.kind === "gathered") {
      job.gathered();
      return;
    }
    this.#jobs.delete(reply.id);
    if (reply.kind === "encoded") job.resolve({ embeddings: reply.embeddings, dim: reply.dim });
    else job.reject(new ModelError(reply.message, { path: this.#path }));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const job of this.#jobs.values()) {
      job.gathered();
      job.reject(error);
    }
    this.#jobs.clear();
    this.terminate();
  }

  /**
   * Encodes the images in `slots`, in order, as one batch. Batches are encoded in the order they
   * are given.
   */
  encode(slots: readonly number[]): WorkerEncoding {
    if (this.#failure || this.#terminated) {
      const error = this.#failure ?? new ModelError("the inference worker was closed");
      return { gathered: Promise.resolve(), encoded: Promise.reject(error) };
    }
    const id = this.#nextId++;
    let gathered!: () => void;
    const gatheredPromise = new Promise<void>((resolve) => (gathered = resolve));
    const encoded = new Promise<{ embeddings: Float32Array; dim: number }>((resolve, reject) => {
      this.#jobs.set(id, { gathered, resolve, reject });
    });
    const job: InferenceJob = { kind: "encode", id, slots: [...slots] };
    this.#worker.postMessage(job);
    return { gathered: gatheredPromise, encoded };
  }

  /** Closes the session (after the batches already given) and terminates the worker. */
  async close(): Promise<void> {
    if (this.#terminated) return;
    if (this.#failure === undefined) {
      const released = new Promise<void>((resolve) => (this.#released = resolve));
      this.#worker.postMessage({ kind: "release" });
      await released;
    }
    this.terminate();
  }

  /** Terminates the worker at once (jobs in progress are abandoned). Idempotent. */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#worker.terminate();
    liveWorkers--;
    const error = this.#failure ?? new ModelError("the inference worker was closed");
    for (const job of this.#jobs.values()) {
      job.gathered();
      job.reject(error);
    }
    this.#jobs.clear();
  }
}
