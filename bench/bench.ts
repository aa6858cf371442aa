/**
 * `deno task bench`: how fast clipbench is, and where the time goes, on this machine.
 *
 * For the main model and dataset (by default a generated OpenAI ViT-B/32 — random weights,
 * real architecture — over a generated WebDataset of 640×480 photo-like JPEGs) and for the
 * shipped demo model on the demo data, it measures:
 *
 * - the inference ceiling: images/s of the vision tower on pre-made tensors;
 * - decode + preprocess images/s on one core, and Pillow (+ torchvision)'s on the same files
 *   when `/usr/bin/python3` has them;
 * - end-to-end images/s through `evaluateZeroShotClassification`, and its ratio to the ceiling;
 * - text-tower prompts/s and the time to build the classifier (and, extrapolated, a
 *   1,000-class × 80-template one), and a second build's time through the classifier cache;
 *
 * and, in fresh processes, the peak resident memory of two runs of different lengths (1,000 and
 * 10,000 samples by default) and the time from process start to the first scored batch; then
 * the converter: the seconds and peak memory of converting a checkpoint shaped like evalscope's
 * example model (a generated Chinese-CLIP ViT-L/14 at 336 px, measure_convert.ts), and the
 * converted ViT-B/32 vision tower's images/s against `torch.onnx.export`'s graph of the same
 * PyTorch model (measure_torch_export.ts). It
 * prints the figures with ratios measured in the same run and writes them as JSON
 * (see record.ts). Generated models and datasets are kept in `.cache/bench/` (cache.ts), so
 * only the first run pays for them. Flags: see flags.ts.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openWebDataset } from "../src/dataset/wds.ts";
import { pathExists } from "../src/io/path_exists.ts";
import { ClipModel } from "../src/model/model.ts";
import type { CachedFolder } from "./cache.ts";
import { BENCH_USAGE, type BenchFlags, parseBenchFlags } from "./flags.ts";
import { generatedDataset, generatedModel } from "./inputs.ts";
import { type ChildRun, runEvaluationChild } from "./evaluate_child.ts";
import { loadJpegDecoder, selectedJpegDecoder } from "../src/image/decode/jpeg_decoder.ts";
import { measureDecode, readImages } from "./measure_decode.ts";
import {
  type EndToEndMeasure,
  type EndToEndOptions,
  measureEndToEnd,
} from "./measure_end_to_end.ts";
import { type InferenceMeasure, measureInference } from "./measure_inference.ts";
import { measureTorchPeer } from "./measure_torch_peer.ts";
import { type Loaded, withLoad } from "./rounds.ts";
import { type ConversionMeasure, measureConversion } from "./measure_convert.ts";
import {
  measureTorchExport,
  type SkippedMeasure,
  type TorchExportMeasure,
} from "./measure_torch_export.ts";
import { generatedChineseClipCheckpoint } from "./chinese_clip_checkpoint.ts";
import { measurePil } from "./measure_pil.ts";
import { measureText } from "./measure_text.ts";
import {
  formatSoakReport,
  parseSoakFlags,
  runSoak,
  SOAK_USAGE,
  type SoakOptions,
  soakPassed,
} from "./soak.ts";
import {
  type BenchRecord,
  formatRecord,
  type ImageRound,
  type ModelMeasures,
  type PeakRssRun,
  roundRatios,
  summarizeRounds,
} from "./record.ts";

const DEMO_MODEL = fileURLToPath(new URL("../examples/demo/tiny-clip-demo", import.meta.url));
const DEMO_DATA = fileURLToPath(new URL("../examples/demo/data/fashion_mnist_1k", import.meta.url));
/** Samples in the demo dataset. */
const DEMO_SAMPLES = 1000;

/** Logical cores of this machine. */
function coreCount(): number {
  return navigator.hardwareConcurrency || 1;
}

function progress(message: string): void {
  console.error(`bench: ${message}`);
}

/** Seconds the inference ceiling is measured for (at least two batches either way). */
function ceilingSeconds(flags: BenchFlags): number {
  return flags.quick ? 0.2 : 8;
}

/**
 * The task options every end-to-end run passes: the bench's batch size and workers, and the
 * run's own classifier cache folder (so the bench leaves the user's cache alone).
 */
function taskOptions(flags: BenchFlags, classifierCache: string): EndToEndOptions {
  return {
    batchSize: flags.batchSize,
    cacheDir: classifierCache,
    ...(flags.numWorkers !== undefined && { numWorkers: flags.numWorkers }),
  };
}

/** Local shard paths of a dataset, or undefined when its shards are remote. */
function localShards(shardUrls: readonly string[]): string[] | undefined {
  return shardUrls.every((url) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    ? [...shardUrls]
    : undefined;
}

/** Every measure of one model on one dataset, in one process (the image ones in rounds). */
async function measureModel(
  flags: BenchFlags,
  modelDir: string,
  datasetRoot: string,
  options: {
    generated?: string;
    /** The generated preset, for the PyTorch peer's model shape (none: no peer). */
    peerPreset?: "vit-b-32" | "tiny";
    samples: number;
    decodeImages: number;
    classifierCache: string;
  },
): Promise<ModelMeasures> {
  const model = await ClipModel.load(modelDir, { threads: flags.threads });
  // The int8 variant (`--dtype int8`), when the folder has one: its ceiling beside float32's.
  const int8 = await pathExists(join(modelDir, "onnx", "vision_model_int8.onnx"))
    ? await ClipModel.load(modelDir, { threads: flags.threads, dtype: "int8" })
    : undefined;
  try {
    const dataset = await openWebDataset(datasetRoot);
    const { classnames, templates } = dataset;
    if (!classnames || !templates) {
      throw new Error(
        `${datasetRoot} has no classnames.txt or templates: not a classification set`,
      );
    }
    const images = await readImages(dataset, options.decodeImages);
    const shards = localShards(dataset.shardUrls);
    const jpeg = await selectedJpegDecoder();
    const wasm = jpeg.kind === "native" && images.some((image) => /^jpe?g$/.test(image.ext))
      ? await loadJpegDecoder("wasm")
      : undefined;
    const peerSkipped = flags.peer === undefined
      ? undefined
      : options.peerPreset === undefined
      ? "the peer's PyTorch model has a generated preset's shape; this model is not generated"
      : shards === undefined
      ? "the dataset's shards are not local files"
      : undefined;
    const ceilingOptions = {
      batchSize: flags.batchSize,
      minSeconds: ceilingSeconds(flags),
      minBatches: 2,
    };
    const rounds: ImageRound[] = [];
    for (let round = 0; round < flags.rounds; round++) {
      const label = `${model.name}, round ${round + 1}/${flags.rounds}`;
      const ceilingFirst = round % 2 === 0;
      const ceiling = () => {
        progress(`${label}: inference ceiling at batch ${flags.batchSize}`);
        return withLoad(() => measureInference(model, ceilingOptions));
      };
      const endToEnd = () => {
        progress(`${label}: end to end (${options.samples} samples)`);
        return withLoad(() =>
          measureEndToEnd(
            model,
            dataset,
            options.samples,
            taskOptions(flags, options.classifierCache),
          )
        );
      };
      let ceilingMeasure: Loaded<InferenceMeasure>;
      let endToEndMeasure: Loaded<EndToEndMeasure>;
      if (ceilingFirst) {
        ceilingMeasure = await ceiling();
        endToEndMeasure = await endToEnd();
      } else {
        endToEndMeasure = await endToEnd();
        ceilingMeasure = await ceiling();
      }
      const int8Ceiling = int8 && await withLoad(() => {
        progress(`${label}: inference ceiling of the int8 graphs`);
        return measureInference(int8, ceilingOptions);
      });
      progress(`${label}: decode + preprocess on one core (${images.length} images)`);
      const decode = await withLoad(() => measureDecode(images, model.preprocessor, jpeg));
      const wasmDecode = wasm &&
        await withLoad(() => measureDecode(images, model.preprocessor, wasm));
      progress(`${label}: Pillow on the same images`);
      const pil = await withLoad(async () =>
        shards
          ? await measurePil(shards, images.length, model.preprocessor.width)
          : { skipped: "the dataset's shards are not local files" }
      );
      let peer: ImageRound["peer"] = null;
      if (flags.peer === "torch") {
        progress(
          peerSkipped === undefined
            ? `${label}: the PyTorch peer (${options.samples} samples)`
            : `${label}: the PyTorch peer is skipped: ${peerSkipped}`,
        );
        peer = await withLoad(async () =>
          peerSkipped !== undefined ? { skipped: peerSkipped } : await measureTorchPeer({
            shards: shards!,
            samples: options.samples,
            batchSize: flags.batchSize,
            workers: flags.numWorkers ?? Math.min(coreCount(), 4),
            threads: flags.threads,
            classes: classnames.length,
            preset: options.peerPreset!,
          })
        );
      }
      rounds.push({
        ceilingFirst,
        ceiling: ceilingMeasure,
        int8Ceiling: int8Ceiling ?? null,
        endToEnd: endToEndMeasure,
        decode,
        wasmDecode: wasmDecode ?? null,
        pil,
        peer,
        ratios: roundRatios(ceilingMeasure.value, endToEndMeasure.value, decode.value, {
          wasmDecode: wasmDecode?.value,
          int8Ceiling: int8Ceiling?.value,
          pil: pil.value,
          peer: peer?.value,
          cores: coreCount(),
        }),
      });
    }
    progress(`${model.name}: text tower`);
    const text = await measureText(model, classnames, templates, flags.batchSize);
    return {
      model: {
        dir: modelDir,
        name: model.name,
        ...(options.generated !== undefined && { generated: options.generated }),
      },
      dataset: datasetRoot,
      rounds,
      summary: summarizeRounds(rounds),
      text,
    };
  } finally {
    await model.release();
    await int8?.release();
  }
}

function noteGenerated(what: string, folder: CachedFolder): void {
  progress(
    folder.built
      ? `generated ${what} in ${folder.seconds.toFixed(1)} s: ${folder.dir}`
      : `${what} from the cache: ${folder.dir}`,
  );
}

/** Runs the whole bench; returns the record (also written to `flags.json`). */
export async function runBench(flags: BenchFlags): Promise<BenchRecord> {
  const startedAt = new Date();
  const started = performance.now();
  const generated: Record<string, { dir: string; seconds: number }> = {};
  const remember = (key: string, what: string, folder: CachedFolder) => {
    noteGenerated(what, folder);
    generated[key] = { dir: folder.dir, seconds: folder.seconds };
    return folder.dir;
  };

  const preset = flags.quick ? "tiny" : "vit-b-32";
  const modelDir = flags.model ??
    remember("model", `the ${preset} model`, await generatedModel(flags.cacheDir, preset));
  const datasetSamples = Math.max(...flags.rssSamples, flags.samples, flags.decodeImages);
  const datasetRoot = flags.dataset ??
    remember(
      "dataset",
      `the ${datasetSamples}-sample JPEG dataset`,
      await generatedDataset(
        flags.cacheDir,
        { samples: datasetSamples, shardSize: flags.quick ? 50 : 1000 },
        (done, total) => progress(`dataset shard ${done}/${total} written`),
      ),
    );
  const rssModel = flags.rssModel ??
    (flags.model === undefined && flags.quick
      ? modelDir
      : remember("rssModel", "the tiny model", await generatedModel(flags.cacheDir, "tiny")));

  // The runs' classifiers go to a cache folder of this run's own, removed at the end.
  const classifierCache = await Deno.makeTempDir({ prefix: "clipbench-bench-classifiers-" });
  let main: ModelMeasures, demo: ModelMeasures;
  const runs: PeakRssRun[] = [];
  let first: ChildRun;
  try {
    main = await measureModel(flags, modelDir, datasetRoot, {
      generated: flags.model === undefined ? `${preset}, seed 0` : undefined,
      peerPreset: flags.model === undefined ? preset : undefined,
      samples: flags.samples,
      decodeImages: flags.decodeImages,
      classifierCache,
    });
    demo = await measureModel(flags, DEMO_MODEL, DEMO_DATA, {
      samples: Math.min(flags.samples, DEMO_SAMPLES),
      decodeImages: Math.min(flags.decodeImages, DEMO_SAMPLES),
      classifierCache,
    });
    for (const samples of flags.rssSamples) {
      progress(`peak memory: ${samples} samples in a fresh process`);
      const run = await runEvaluationChild({
        model: rssModel,
        dataset: datasetRoot,
        limit: samples,
        threads: flags.threads,
        options: taskOptions(flags, classifierCache),
      });
      runs.push({
        samples: run.samples,
        peakRssBytes: run.peakRssBytes,
        wallSeconds: run.wallSeconds,
      });
    }
    progress("start-up: the demo's first batch in a fresh process");
    // A first run: no classifier cache, so the text tower's start-up cost is in the figure.
    first = await runEvaluationChild({
      model: DEMO_MODEL,
      dataset: DEMO_DATA,
      limit: flags.batchSize,
      threads: flags.threads,
      options: { ...taskOptions(flags, classifierCache), noCache: true },
    });
  } finally {
    await Deno.remove(classifierCache, { recursive: true });
  }
  const [short, long] = runs;

  let conversion: ConversionMeasure | SkippedMeasure = { skipped: "--no-convert-bench" };
  if (flags.convertBench) {
    const preset = flags.quick ? "tiny" : "vit-l-14-336";
    const checkpoint = flags.convertCheckpoint ??
      remember(
        "convertCheckpoint",
        `the ${preset} Chinese-CLIP checkpoint`,
        await generatedChineseClipCheckpoint(flags.cacheDir, preset),
      );
    progress(`conversion: ${checkpoint} in a fresh process`);
    conversion = await measureConversion(
      checkpoint,
      flags.convertCheckpoint === undefined ? `chinese-clip ${preset}, seed 0` : undefined,
    );
  }
  let torchExport: TorchExportMeasure | SkippedMeasure = { skipped: "--no-export-bench" };
  if (flags.exportBench) {
    progress(`vision graph vs torch.onnx.export at batch ${flags.exportBatch}`);
    torchExport = await measureTorchExport({
      cacheRoot: flags.cacheDir,
      preset: flags.quick ? "tiny" : "vit-b-32",
      batchSize: flags.exportBatch,
      threads: flags.threads,
      repetitions: flags.exportReps,
    });
  }

  const record: BenchRecord = {
    benchRecordVersion: 1,
    startedAt: startedAt.toISOString(),
    seconds: (performance.now() - started) / 1000,
    quick: flags.quick,
    machine: {
      cores: coreCount(),
      os: Deno.build.os,
      arch: Deno.build.arch,
      deno: Deno.version.deno,
      v8: Deno.version.v8,
    },
    settings: {
      batchSize: flags.batchSize,
      threads: flags.threads,
      numWorkers: flags.numWorkers ?? null,
      samples: flags.samples,
      rounds: flags.rounds,
      peer: flags.peer ?? null,
    },
    generated,
    main,
    demo,
    peakRss: {
      model: basename(rssModel),
      dataset: basename(datasetRoot),
      runs: [short, long],
      ratio: short.peakRssBytes && long.peakRssBytes
        ? long.peakRssBytes / short.peakRssBytes
        : null,
    },
    firstBatch: {
      model: basename(DEMO_MODEL),
      dataset: basename(DEMO_DATA),
      batchSize: flags.batchSize,
      msSinceStart: first.msSinceStart,
      msSinceSpawn: first.msSinceSpawn,
    },
    conversion,
    torchExport,
  };
  await Deno.mkdir(dirname(flags.json), { recursive: true });
  await Deno.writeTextFile(flags.json, JSON.stringify(record, null, 2) + "\n");
  return record;
}

if (import.meta.main && Deno.args.includes("--soak")) {
  let options: SoakOptions;
  try {
    options = parseSoakFlags(Deno.args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${SOAK_USAGE}`);
    Deno.exit(2);
  }
  const report = await runSoak(options);
  console.log(formatSoakReport(report));
  if (!soakPassed(report)) Deno.exit(1);
} else if (import.meta.main) {
  let flags: BenchFlags;
  try {
    flags = parseBenchFlags(Deno.args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${BENCH_USAGE}`);
    Deno.exit(2);
  }
  const record = await runBench(flags);
  console.log(formatRecord(record));
  console.log(`\nwrote ${flags.json}`);
}
