/**
 * Loaded models kept across requests, so that a long-lived handler (a server, or a serverless
 * instance that serves several calls) pays the model load — reading the graphs, creating the
 * onnxruntime sessions — once per model, not once per request.
 *
 * An entry is keyed by the model folder's real path and the load options (precision,
 * preprocessing, text cleaning, session settings): the same folder loaded with other options is
 * another entry. Requests that ask for an entry while it is loading wait for that one load. A
 * failed load is not kept (the next request tries again). Entries in use are never released;
 * when more than `capacity` models are loaded, the least recently used idle ones are released.
 *
 * @module
 */

import { ClipModel, type LoadModelOptions } from "../model/model.ts";
import { canonicalJson } from "../results/partial/fingerprint.ts";

/** Options of {@linkcode ModelCache}. */
export interface ModelCacheOptions {
  /** Models kept loaded when idle (default 2; at least 1). */
  readonly capacity?: number;
  /** Loads a model (default {@linkcode ClipModel.load}). */
  readonly load?: (dir: string, options: LoadModelOptions) => Promise<ClipModel>;
}

/** A model handed out by {@linkcode ModelCache.acquire}; give it back with `release`. */
export interface ModelLease {
  /** The loaded model (shared with other requests: do not release it yourself). */
  readonly model: ClipModel;
  /** Whether the model was already loaded or loading when it was asked for. */
  readonly shared: boolean;
  /** Ends this use of the model (idempotent); idle models beyond the capacity are released. */
  release(): Promise<void>;
}

interface Entry {
  readonly loading: Promise<ClipModel>;
  model?: ClipModel;
  users: number;
  lastUsed: number;
}

/** A small cache of loaded models (see the module documentation). */
export class ModelCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #load: (dir: string, options: LoadModelOptions) => Promise<ClipModel>;
  #loads = 0;
  #clock = 0;
  #closed = false;

  /**
   * Creates an empty cache.
   *
   * @throws {RangeError} when `capacity` is not a positive integer.
   */
  constructor(options: ModelCacheOptions = {}) {
    const capacity = options.capacity ?? 2;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`the model cache capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
    this.#load = options.load ?? ((dir, loadOptions) => ClipModel.load(dir, loadOptions));
  }

  /** Model loads started so far (each a cache miss). */
  get loads(): number {
    return this.#loads;
  }

  /** Models loaded or loading now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The model of folder `dir` loaded with `options`: the cached one, the one being loaded, or a
   * new load.
   *
   * @throws whatever the load throws ({@linkcode ModelError} for a broken folder).
   */
  async acquire(dir: string, options: LoadModelOptions): Promise<ModelLease> {
    if (this.#closed) throw new Error("the model cache is closed");
    let real = dir;
    try {
      real = await Deno.realPath(dir);
    } catch {
      // Missing: the load reports it.
    }
    const key = canonicalJson([real, options]);
    let entry = this.#entries.get(key);
    const shared = entry !== undefined;
    if (entry === undefined) {
      this.#loads++;
      const loading = this.#load(real, options);
      const created: Entry = { loading, users: 0, lastUsed: 0 };
      entry = created;
      this.#entries.set(key, created);
      loading.then(
        (model) => {
          created.model = model;
        },
        () => {
          if (this.#entries.get(key) === created) this.#entries.delete(key);
        },
      );
    }
    entry.users++;
    let model: ClipModel;
    try {
      model = await entry.loading;
    } catch (error) {
      entry.users--;
      throw error;
    }
    let released = false;
    const used = entry;
    await this.#evict();
    return {
      model,
      shared,
      release: async () => {
        if (released) return;
        released = true;
        used.users--;
        used.lastUsed = ++this.#clock;
        await this.#evict();
      },
    };
  }

  /** Releases idle models beyond the capacity, least recently used first. */
  async #evict(): Promise<void> {
    const idle = [...this.#entries].filter(([, e]) => e.users === 0 && e.model !== undefined);
    let excess = this.#entries.size - this.#capacity;
    idle.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of idle) {
      if (excess <= 0) break;
      this.#entries.delete(key);
      excess--;
      await entry.model!.release();
    }
  }

  /**
   * Releases every model (waiting for loads in progress); the cache cannot be used after. Call it
   * once the requests using the models have finished.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) {
      try {
        await (await entry.loading).release();
      } catch {
        // A failed load holds nothing.
      }
    }
  }
}
