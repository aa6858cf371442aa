/**
 * How the machine's cores are split between decoding workers and onnxruntime's intra-op threads
 * by default: onnxruntime keeps every core (its default intra-op thread count, one per core), and
 * {@linkcode defaultNumWorkers} decoding workers share the cores with it.
 *
 * Why, measured on the 2-core machine this was built on (ViT-B/32 shape from
 * tools/generate_clip_model.ts, 640 × 480 JPEG photos-like WebDataset, images/s after the first
 * batch, best of 2–3 interleaved rounds):
 *
 * | configuration                                   | batch 32 | batch 128 |
 * | ----------------------------------------------- | -------- | --------- |
 * | inference only, 2 threads (the ceiling)         | 35.6     | 35.9      |
 * | inference only, 1 thread                        | 18.7     | —         |
 * | `numWorkers: 0` (decode on the main thread)     | 30.2     | 31.5      |
 * | 1 worker, 2 threads, inference on main thread   | 31.2     | 32.6      |
 * | 1 worker, 2 threads, inference worker           | 31.6     | 32.4      |
 * | 2 workers, 2 threads, inference on main thread  | 32.5     | 31.5      |
 * | 2 workers, 2 threads, inference worker          | 32.9     | 32.8      |
 * | 1 worker, 1 thread                              | 18.3     | —         |
 *
 * (Another session shared the 2 cores at times; the ceiling itself varied between 32.5 and 36.6
 * across runs, so differences under ≈ 2 images/s are noise. Within one run, end to end with the
 * default split was 0.88–0.96 of that run's ceiling.)
 *
 * Decoding and preprocessing a 640 × 480 JPEG cost ≈ 6 ms of one core when this was measured
 * (3.3 ms libjpeg-turbo in WebAssembly, 2.7 ms Pillow-exact resize in TypeScript); with the
 * native libjpeg-turbo and the SIMD resize kernels it is ≈ 1.7 ms (see the README's
 * Performance section), so feeding 35 images/s takes ≈ 0.06 of the 2 cores instead of 0.2:
 * the CPU time decoding takes from inference is what keeps end to end below the ceiling. Giving a
 * core to decoding instead (1 intra-op thread) halves inference. More than one worker helps a
 * little (they fill the gaps between onnxruntime's parallel sections on both cores); workers
 * beyond the need only sit idle (bounded by the pipeline's slots), so the default is the core
 * count, at most 4. Whether inference runs in a worker or on the main thread made no difference
 * beyond the noise on local shards (see `src/pipeline/image_embeddings.ts`).
 *
 * @module
 */

/** The number of logical cores (`navigator.hardwareConcurrency`, at least 1). */
export function coreCount(): number {
  const cores = globalThis.navigator?.hardwareConcurrency;
  return Number.isInteger(cores) && cores > 0 ? cores : 1;
}

/** Most decoding workers chosen by default. */
const MAX_DEFAULT_WORKERS = 4;

/**
 * Default decoding workers for `cores` cores: one per core, at most
 * {@linkcode MAX_DEFAULT_WORKERS} when inference runs on the CPU too. With a GPU execution
 * provider (`cuda`) inference leaves the cores to decoding, and a GPU runs a ViT-B/32 tens of
 * times faster than one core decodes, so every core gets a worker (no cap).
 *
 * @param executionProvider The image session's provider (`cpu` when absent).
 */
export function defaultNumWorkers(
  cores: number = coreCount(),
  executionProvider: string = "cpu",
): number {
  const whole = Math.max(1, Math.floor(cores));
  return executionProvider === "cpu" ? Math.min(MAX_DEFAULT_WORKERS, whole) : whole;
}
