/**
 * One evaluation in a child process, for the measures that need a fresh process: the peak
 * resident memory of a run over N samples, and the time from process start to the first
 * scored batch.
 *
 * The child (this file run as a program, with a {@linkcode ChildRequest} as its JSON argument)
 * loads the model, opens the dataset, runs `evaluateZeroShotClassification` with the limit, and
 * prints one {@linkcode ChildReport} as JSON: its peak resident set (`VmHWM` of
 * /proc/self/status: the high-water mark of the whole process, workers and onnxruntime included)
 * and `performance.now()` when the evaluation returned — milliseconds since the runtime started
 * (its time origin), module loading included; the parent adds the executable's start-up before
 * that from the wall clock. With `limit` equal to the batch size that is the time to the
 * first scored batch.
 *
 * {@linkcode runEvaluationChild} starts the child with the running Deno (`Deno.execPath()`).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { openWebDataset } from "../src/dataset/wds.ts";
import { ClipModel } from "../src/model/model.ts";
import {
  evaluateZeroShotClassification,
  type ZeroShotClassificationOptions,
} from "../tasks/zeroshot_classification/mod.ts";

/** What the child evaluates. */
export interface ChildRequest {
  /** Model folder. */
  readonly model: string;
  /** Dataset root. */
  readonly dataset: string;
  /** Samples to score. */
  readonly limit: number;
  /** onnxruntime intra-op threads (0: its default). */
  readonly threads?: number;
  /** Task options passed through (batch size, decoding workers, …). */
  readonly options?: Omit<ZeroShotClassificationOptions, "datasetName" | "limit" | "onProgress">;
}

/** What the child reports. */
export interface ChildReport {
  /** Samples scored. */
  readonly samples: number;
  /** `performance.now()` when the evaluation returned: ms since the runtime started. */
  readonly msSinceStart: number;
  /** The same instant as Unix epoch milliseconds (`performance.timeOrigin` + `now()`). */
  readonly epochMs: number;
  /** Peak resident set size in bytes (`VmHWM`), or null where /proc is not available. */
  readonly peakRssBytes: number | null;
}

/** A {@linkcode ChildReport} and the parent's view of the run. */
export interface ChildRun extends ChildReport {
  /** Seconds from spawning the child to its exit, as the parent saw it. */
  readonly wallSeconds: number;
  /**
   * Milliseconds from spawning the child to the end of its evaluation: `msSinceStart` plus the
   * executable's own start-up before the runtime's time origin.
   */
  readonly msSinceSpawn: number;
}

/** `VmHWM` of /proc/self/status in bytes, or null when it cannot be read. */
export function peakResidentBytes(): number | null {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

const CHILD = fileURLToPath(import.meta.url);
const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * Runs one child evaluation and returns its report.
 *
 * @throws {Error} with the child's stderr when it fails.
 */
export async function runEvaluationChild(request: ChildRequest): Promise<ChildRun> {
  const started = performance.now();
  const spawnedAt = Date.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, JSON.stringify(request)],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const wallSeconds = (performance.now() - started) / 1000;
  const text = new TextDecoder();
  if (!output.success) {
    throw new Error(
      `child evaluation of ${request.model} on ${request.dataset} (limit ${request.limit}) ` +
        `failed with status ${output.code}: ${text.decode(output.stderr).trim()}`,
    );
  }
  const lines = text.decode(output.stdout).trim().split("\n");
  const report = JSON.parse(lines[lines.length - 1]) as ChildReport;
  return { ...report, wallSeconds, msSinceSpawn: report.epochMs - spawnedAt };
}

if (import.meta.main) {
  const request = JSON.parse(Deno.args[0]) as ChildRequest;
  const model = await ClipModel.load(request.model, { threads: request.threads });
  try {
    const dataset = await openWebDataset(request.dataset);
    const result = await evaluateZeroShotClassification(model, dataset, {
      ...request.options,
      datasetName: "bench",
      limit: request.limit,
    });
    const msSinceStart = performance.now();
    const report: ChildReport = {
      samples: result.n_samples,
      msSinceStart,
      epochMs: performance.timeOrigin + msSinceStart,
      peakRssBytes: peakResidentBytes(),
    };
    console.log(JSON.stringify(report));
  } finally {
    await model.release();
  }
}
