/**
 * The command line of `deno task bench` (bench/bench.ts).
 *
 * | flag                | meaning                                                      | default                          |
 * | ------------------- | ------------------------------------------------------------ | -------------------------------- |
 * | `--model DIR`       | the model measured                                           | generated ViT-B/32 (`tiny` with `--quick`) |
 * | `--dataset DIR`     | the classification WebDataset measured                      | generated 640×480 JPEG photos    |
 * | `--samples N`       | samples of the end-to-end run                                | 1024 (`--quick`: 64)             |
 * | `--batch-size N`    | images and prompts per batch                                 | 128 (the task's default; `--quick`: 16) |
 * | `--threads N`       | onnxruntime intra-op threads, 0 = its default                | 0                                |
 * | `--num-workers N`   | decoding workers, passed to the task                         | the task's default               |
 * | `--rss-samples A,B` | samples of the two peak-memory runs                          | 1000,10000 (`--quick`: 40,120)   |
 * | `--rss-model DIR`   | model of the peak-memory runs                                | generated `tiny`                 |
 * | `--decode-images N` | images of the one-core decode and Pillow measures            | 300 (`--quick`: 24)              |
 * | `--cache-dir DIR`   | where generated models and datasets are kept                 | `.cache/bench`                   |
 * | `--json PATH`       | the JSON record                                              | `outputs/bench/<timestamp>.json` |
 * | `--no-convert-bench` | skip converting the generated Chinese-CLIP checkpoint       | on                               |
 * | `--convert-checkpoint DIR` | checkpoint folder converted instead of the generated one | generated ViT-L/14-336 Chinese-CLIP (`tiny` with `--quick`) |
 * | `--no-export-bench` | skip the comparison with `torch.onnx.export`'s vision graph  | on                               |
 * | `--export-batch N`  | batch of that comparison                                     | 32 (`--quick`: 4)                |
 * | `--export-reps N`   | timed runs of each graph in it                               | 7 (`--quick`: 2)                 |
 * | `--rounds N`        | interleaved rounds of the image measures (min/median/max)   | 3 (`--quick`: 1)                 |
 * | `--peer torch`      | add the PyTorch pipeline (bench/torch_peer.py) to each round | off                              |
 * | `--quick`           | small sizes everywhere (CI smoke run)                        | off                              |
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The parsed command line, defaults applied. */
export interface BenchFlags {
  /** Model folder, or undefined for the generated one. */
  readonly model?: string;
  /** Dataset root, or undefined for the generated one. */
  readonly dataset?: string;
  /** End-to-end samples. */
  readonly samples: number;
  /** Images and prompts per batch. */
  readonly batchSize: number;
  /** onnxruntime intra-op threads (0: its default). */
  readonly threads: number;
  /** Decoding workers for the task, or undefined for the task's default. */
  readonly numWorkers?: number;
  /** Samples of the two peak-memory runs. */
  readonly rssSamples: readonly [number, number];
  /** Model of the peak-memory runs, or undefined for the generated tiny one. */
  readonly rssModel?: string;
  /** Images of the decode measures. */
  readonly decodeImages: number;
  /** Cache of generated inputs. */
  readonly cacheDir: string;
  /** Where the JSON record goes. */
  readonly json: string;
  /** Whether to measure converting a checkpoint (`--no-convert-bench` turns it off). */
  readonly convertBench: boolean;
  /** Checkpoint converted by that measure, or undefined for the generated one. */
  readonly convertCheckpoint?: string;
  /** Whether to compare with `torch.onnx.export` (`--no-export-bench` turns it off). */
  readonly exportBench: boolean;
  /** Batch of that comparison. */
  readonly exportBatch: number;
  /** Timed runs of each graph in it. */
  readonly exportReps: number;
  /** Interleaved rounds of the image measures. */
  readonly rounds: number;
  /** A peer pipeline measured in each round (`torch`), or undefined for none. */
  readonly peer?: "torch";
  /** Small sizes everywhere. */
  readonly quick: boolean;
}

/** `--peer`'s value, checked. */
function peerOf(value: string | undefined): "torch" | undefined {
  if (value === undefined) return undefined;
  if (value !== "torch") throw new RangeError(`--peer takes torch, got ${value}`);
  return value;
}

/** Usage text. */
export const BENCH_USAGE = `usage: deno task bench [--model DIR] [--dataset DIR] [--samples N]
  [--batch-size N] [--threads N] [--num-workers N] [--rss-samples A,B] [--rss-model DIR]
  [--decode-images N] [--cache-dir DIR] [--json PATH] [--no-convert-bench]
  [--convert-checkpoint DIR] [--no-export-bench] [--export-batch N] [--export-reps N]
  [--rounds N] [--peer torch] [--quick]`;

function integer(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`--${flag} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** A file-name-safe timestamp, e.g. `2026-11-29T03-12-45Z`. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
}

/**
 * Parses the bench's command line.
 *
 * @throws {RangeError} for an unknown flag or a value out of range.
 */
export function parseBenchFlags(args: readonly string[], now = new Date()): BenchFlags {
  const { values } = parseArgs({
    args: [...args],
    options: {
      model: { type: "string" },
      dataset: { type: "string" },
      samples: { type: "string" },
      "batch-size": { type: "string" },
      threads: { type: "string" },
      "num-workers": { type: "string" },
      "rss-samples": { type: "string" },
      "rss-model": { type: "string" },
      "decode-images": { type: "string" },
      "cache-dir": { type: "string" },
      json: { type: "string" },
      "no-convert-bench": { type: "boolean", default: false },
      "convert-checkpoint": { type: "string" },
      "no-export-bench": { type: "boolean", default: false },
      "export-batch": { type: "string" },
      "export-reps": { type: "string" },
      rounds: { type: "string" },
      peer: { type: "string" },
      quick: { type: "boolean", default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  let rssSamples: [number, number] = quick ? [40, 120] : [1000, 10000];
  if (values["rss-samples"] !== undefined) {
    const parts = values["rss-samples"].split(",");
    if (parts.length !== 2) {
      throw new RangeError(`--rss-samples takes two counts, A,B; got ${values["rss-samples"]}`);
    }
    rssSamples = [
      integer("rss-samples", parts[0], 1)!,
      integer("rss-samples", parts[1], 1)!,
    ];
  }
  return {
    model: values.model,
    dataset: values.dataset,
    samples: integer("samples", values.samples, 1) ?? (quick ? 64 : 1024),
    batchSize: integer("batch-size", values["batch-size"], 1) ?? (quick ? 16 : 128),
    threads: integer("threads", values.threads, 0) ?? 0,
    numWorkers: integer("num-workers", values["num-workers"], 0),
    rssSamples,
    rssModel: values["rss-model"],
    decodeImages: integer("decode-images", values["decode-images"], 1) ?? (quick ? 24 : 300),
    cacheDir: values["cache-dir"] ?? ".cache/bench",
    json: values.json ?? `outputs/bench/${timestamp(now)}.json`,
    convertBench: !values["no-convert-bench"],
    convertCheckpoint: values["convert-checkpoint"],
    exportBench: !values["no-export-bench"],
    exportBatch: integer("export-batch", values["export-batch"], 1) ?? (quick ? 4 : 32),
    exportReps: integer("export-reps", values["export-reps"], 1) ?? (quick ? 2 : 7),
    rounds: integer("rounds", values.rounds, 1) ?? (quick ? 1 : 3),
    peer: peerOf(values.peer),
    quick,
  };
}
