/**
 * The converter's vision graph against `torch.onnx.export`'s, side by side in onnxruntime.
 *
 * bench/torch_export_clip_vision.py (run with `/usr/bin/python3`, when it has torch) builds a
 * transformers-style CLIP model in plain PyTorch — an OpenAI ViT-B/32 vision tower by default —
 * with seeded random weights, saves it as a transformers checkpoint (`pytorch_model.bin`) and
 * exports its vision tower with `torch.onnx.export`. Both are kept in the bench cache. This
 * measure converts the checkpoint with clipbench's converter, opens both vision graphs in this
 * process with the same session options (the product's, at the bench's threads), checks that
 * they give the same `image_embeds` for the same pixels (max abs difference ≤ 1e-4 × max |torch's|,
 * else it throws: the timing would compare different functions), then times them on the same
 * batch, interleaved — each repetition runs both, the order alternating — and reports the
 * median images/s of each and the ratio clipbench ÷ torch (target ≥ 1).
 *
 * Without `/usr/bin/python3` or its torch the measure is skipped with the reason.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertCheckpoint } from "../src/convert/convert.ts";
import { GraphSession } from "../src/model/onnx_session.ts";
import { SeededRandom } from "../tools/seeded_random.ts";
import { type CachedFolder, cachedFolder } from "./cache.ts";
import { runPythonScript } from "./python_script.ts";

const SCRIPT = fileURLToPath(new URL("./torch_export_clip_vision.py", import.meta.url));

/** The script's model presets. */
export type TorchExportPreset = "vit-b-32" | "tiny";

/** Largest max-abs difference allowed between the two graphs, relative to max |torch's|. */
export const AGREEMENT_TOLERANCE = 1e-4;

/** Options of {@linkcode measureTorchExport}. */
export interface TorchExportOptions {
  /** The bench cache root (the exported model is kept there). */
  readonly cacheRoot: string;
  /** The model's sizes. */
  readonly preset: TorchExportPreset;
  /** Images per run. */
  readonly batchSize: number;
  /** onnxruntime intra-op threads (0: its default). */
  readonly threads: number;
  /** Timed runs of each graph (after one untimed run of each). */
  readonly repetitions: number;
}

/** One graph's timing. */
export interface GraphTiming {
  /** Size of the graph's files in bytes. */
  readonly fileBytes: number;
  /** Median seconds of one run. */
  readonly medianSeconds: number;
  /** Images per second at the median. */
  readonly imagesPerSecond: number;
}

/** What {@linkcode measureTorchExport} measured. */
export interface TorchExportMeasure {
  /** The model's preset. */
  readonly preset: TorchExportPreset;
  /** PyTorch's version. */
  readonly torch: string;
  /** Images per run. */
  readonly batchSize: number;
  /** onnxruntime intra-op threads (0: its default). */
  readonly threads: number;
  /** Timed runs of each graph. */
  readonly repetitions: number;
  /** Seconds clipbench took to convert the checkpoint (in this process). */
  readonly convertSeconds: number;
  /** clipbench's converted vision graph. */
  readonly clipbench: GraphTiming;
  /** `torch.onnx.export`'s graph. */
  readonly torchExport: GraphTiming;
  /** clipbench's images/s ÷ torch's (target ≥ 1). */
  readonly ratio: number;
  /** Max abs difference of the two graphs' `image_embeds` ÷ max |torch's|. */
  readonly relativeDifference: number;
}

/** A measure that could not be made, and why. */
export interface SkippedMeasure {
  /** Why. */
  readonly skipped: string;
}

/** A generator failure that skips the measure rather than failing the bench. */
class SkipMeasure extends Error {}

/** The exported model of `preset`, from the bench cache or made by the Python script. */
async function exportedModel(
  cacheRoot: string,
  preset: TorchExportPreset,
): Promise<{ folder: CachedFolder; torch: string }> {
  const scriptText = await Deno.readTextFile(SCRIPT);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scriptText)),
  );
  const script = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  let torch = "";
  const folder = await cachedFolder(
    cacheRoot,
    "torch-export",
    `clip-vision-${preset}-seed0`,
    { preset, seed: 0, script },
    async (dir) => {
      const run = await runPythonScript(SCRIPT, [dir, "--preset", preset, "--seed", "0"], {
        torch: { name: "PyTorch", package: "python3-torch" },
      });
      if ("skipped" in run) throw new SkipMeasure(run.skipped);
      const lines = run.stdout.trim().split("\n");
      torch = (JSON.parse(lines[lines.length - 1]) as { torch: string }).torch;
      await Deno.writeTextFile(join(dir, "torch_version.txt"), torch + "\n");
    },
  );
  if (!folder.built) {
    torch = (await Deno.readTextFile(join(folder.dir, "torch_version.txt"))).trim();
  }
  return { folder, torch };
}

/** Max |a − b| ÷ max |b|. */
export function relativeDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? (diff === 0 ? 0 : Infinity) : diff / scale;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("the median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function fileBytes(...paths: string[]): Promise<number> {
  let total = 0;
  for (const path of paths) {
    try {
      total += (await Deno.stat(path)).size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return total;
}

/**
 * Converts the exported model's checkpoint and times both vision graphs (see the module note).
 *
 * @throws {Error} when the two graphs' outputs differ by more than
 *   {@linkcode AGREEMENT_TOLERANCE}.
 */
export async function measureTorchExport(
  options: TorchExportOptions,
): Promise<TorchExportMeasure | SkippedMeasure> {
  let exported: Awaited<ReturnType<typeof exportedModel>>;
  try {
    exported = await exportedModel(options.cacheRoot, options.preset);
  } catch (error) {
    if (error instanceof SkipMeasure) return { skipped: error.message };
    throw error;
  }
  const { folder, torch } = exported;
  const temp = await Deno.makeTempDir({ prefix: "clipbench-bench-torch-export-" });
  const sessions: GraphSession[] = [];
  try {
    const converted = join(temp, "converted");
    const convertStarted = performance.now();
    await convertCheckpoint(join(folder.dir, "checkpoint"), converted);
    const convertSeconds = (performance.now() - convertStarted) / 1000;
    const clipbenchPath = join(converted, "onnx", "vision_model.onnx");
    const torchPath = join(folder.dir, "torch_vision.onnx");
    const ours = await GraphSession.open(clipbenchPath, { threads: options.threads });
    sessions.push(ours);
    const theirs = await GraphSession.open(torchPath, { threads: options.threads });
    sessions.push(theirs);

    const config = JSON.parse(
      await Deno.readTextFile(join(folder.dir, "checkpoint", "config.json")),
    ) as { vision_config: { image_size: number } };
    const size = config.vision_config.image_size;
    const { batchSize } = options;
    const dims = [batchSize, 3, size, size];
    const pixels = new SeededRandom(7).fillUniform(
      new Float32Array(batchSize * 3 * size * size),
      2,
    );
    const run = async (session: GraphSession) =>
      (await session.runFloat(
        { pixel_values: session.floatTensor("pixel_values", pixels, dims) },
        "image_embeds",
      )).data;
    // The untimed first runs (allocations, first-run kernels) are the agreement check.
    const difference = relativeDifference(await run(ours), await run(theirs));
    if (!(difference <= AGREEMENT_TOLERANCE)) {
      throw new Error(
        `clipbench's vision graph (${clipbenchPath}) and torch.onnx.export's (${torchPath}) ` +
          `disagree: max |difference| = ${difference.toExponential(2)} × max |torch's| ` +
          `(allowed ${AGREEMENT_TOLERANCE})`,
      );
    }
    const times = { ours: [] as number[], theirs: [] as number[] };
    for (let rep = 0; rep < options.repetitions; rep++) {
      const order = rep % 2 === 0 ? (["ours", "theirs"] as const) : (["theirs", "ours"] as const);
      for (const which of order) {
        const started = performance.now();
        await run(which === "ours" ? ours : theirs);
        times[which].push((performance.now() - started) / 1000);
      }
    }
    const timing = async (seconds: number[], ...paths: string[]): Promise<GraphTiming> => {
      const medianSeconds = median(seconds);
      return {
        fileBytes: await fileBytes(...paths),
        medianSeconds,
        imagesPerSecond: batchSize / medianSeconds,
      };
    };
    const clipbench = await timing(times.ours, clipbenchPath, `${clipbenchPath}_data`);
    const torchExport = await timing(times.theirs, torchPath);
    return {
      preset: options.preset,
      torch,
      batchSize,
      threads: options.threads,
      repetitions: options.repetitions,
      convertSeconds,
      clipbench,
      torchExport,
      ratio: clipbench.imagesPerSecond / torchExport.imagesPerSecond,
      relativeDifference: difference,
    };
  } finally {
    for (const session of sessions) await session.release();
    await Deno.remove(temp, { recursive: true });
  }
}
