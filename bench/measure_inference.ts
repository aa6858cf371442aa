/**
 * The inference ceiling: images per second of the vision tower alone, fed pre-made pixel tensors
 * (no reading, decoding or preprocessing), through the same `ClipModel.encodeImages` call the
 * tasks use. Nothing end to end can go faster at the same batch size and threads.
 *
 * As a program it sweeps batch sizes and thread counts:
 *
 * ```sh
 * deno run -A bench/measure_inference.ts --model DIR --batch-sizes 1,8,32 --threads 1,2
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ClipModel } from "../src/model/model.ts";
import { SeededRandom } from "../tools/seeded_random.ts";

/** Options of {@linkcode measureInference}. */
export interface InferenceMeasureOptions {
  /** Images per run. */
  readonly batchSize: number;
  /** Keep running until at least this many seconds have been timed… */
  readonly minSeconds: number;
  /** …and at least this many batches. */
  readonly minBatches: number;
}

/** What {@linkcode measureInference} measured. */
export interface InferenceMeasure {
  /** Images per run. */
  readonly batchSize: number;
  /** Batches timed (after one untimed warm-up batch). */
  readonly batches: number;
  /** Seconds they took. */
  readonly seconds: number;
  /** Images per second. */
  readonly imagesPerSecond: number;
}

/** Times the vision tower on pre-made tensors (see the module note). */
export async function measureInference(
  model: ClipModel,
  options: InferenceMeasureOptions,
): Promise<InferenceMeasure> {
  const { batchSize } = options;
  const pixels = new SeededRandom(1).fillUniform(
    new Float32Array(batchSize * model.preprocessor.outputLength),
    2,
  );
  await model.encodeImages(pixels, batchSize); // warm-up: allocations, first-run kernels
  let batches = 0;
  const started = performance.now();
  let seconds = 0;
  while (batches < options.minBatches || seconds < options.minSeconds) {
    await model.encodeImages(pixels, batchSize);
    batches++;
    seconds = (performance.now() - started) / 1000;
  }
  return { batchSize, batches, seconds, imagesPerSecond: (batches * batchSize) / seconds };
}

function integerList(flag: string, text: string): number[] {
  return text.split(",").map((part) => {
    const value = Number(part);
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`--${flag} takes integers ≥ 0 separated by commas, got ${text}`);
    }
    return value;
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      "batch-sizes": { type: "string", default: "1,8,32" },
      threads: { type: "string", default: "1,2" },
      seconds: { type: "string", default: "5" },
    },
    strict: true,
  });
  if (!values.model) {
    console.error(
      "usage: deno run -A bench/measure_inference.ts --model DIR [--batch-sizes 1,8,32] " +
        "[--threads 1,2] [--seconds 5]",
    );
    Deno.exit(2);
  }
  console.log("threads  batch  images/s");
  for (const threads of integerList("threads", values.threads)) {
    const model = await ClipModel.load(values.model, { threads });
    try {
      for (const batchSize of integerList("batch-sizes", values["batch-sizes"])) {
        const measure = await measureInference(model, {
          batchSize,
          minSeconds: Number(values.seconds),
          minBatches: 2,
        });
        console.log(
          `${String(threads).padStart(7)}  ${String(batchSize).padStart(5)}  ${
            measure.imagesPerSecond.toFixed(1).padStart(8)
          }`,
        );
      }
    } finally {
      await model.release();
    }
  }
}
