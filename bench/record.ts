/**
 * The bench's JSON record (written to `outputs/bench/<timestamp>.json`) and its printed form.
 * Every figure is absolute, and each ratio is between figures measured in the same run, so
 * the ratios compare across machines where the absolute figures do not.
 *
 * @module
 */

import type { DecodeMeasure } from "./measure_decode.ts";
import type { EndToEndMeasure } from "./measure_end_to_end.ts";
import type { InferenceMeasure } from "./measure_inference.ts";
import type { ConversionMeasure } from "./measure_convert.ts";
import type { SkippedMeasure, TorchExportMeasure } from "./measure_torch_export.ts";
import type { PilMeasure } from "./measure_pil.ts";
import type { TextMeasure } from "./measure_text.ts";

/** The measures of one model on one dataset. */
export interface ModelMeasures {
  /** The model: folder, name, and the generator preset when generated. */
  readonly model: { readonly dir: string; readonly name: string; readonly generated?: string };
  /** The dataset root. */
  readonly dataset: string;
  /** The inference ceiling at the bench's batch size and threads. */
  readonly inference: InferenceMeasure;
  /** Decode + preprocess on one core. */
  readonly decode: DecodeMeasure;
  /** Pillow (+ torchvision) on the same images, or why not. */
  readonly pil: PilMeasure;
  /** The classification task end to end. */
  readonly endToEnd: EndToEndMeasure;
  /** The text tower and the classifier. */
  readonly text: TextMeasure;
  /** Ratios between the figures above. */
  readonly ratios: {
    /** End-to-end images/s ÷ the inference ceiling (target ≥ 0.85). */
    readonly endToEndToCeiling: number;
    /** clipbench's decode + preprocess per core ÷ Pillow's (target ≥ 0.5); null without Pillow. */
    readonly decodeToPil: number | null;
    /** Cores of decoding needed to feed the ceiling: ceiling ÷ decode per core. */
    readonly decodeCoresForCeiling: number;
    /**
     * The most end to end can reach, as a fraction of the ceiling, when decoding and inference
     * share the machine's cores with none idle: each image costs `cores ÷ ceiling` core-seconds
     * of inference (the ceiling uses every core) plus `1 ÷ decode per core` of decoding, so
     * the bound is `1 ÷ (1 + ceiling ÷ (cores × decode per core))`.
     */
    readonly sharedCoresBound: number;
  };
}

/** One child run of the peak-memory measure. */
export interface PeakRssRun {
  /** Samples scored. */
  readonly samples: number;
  /** The child's peak resident set, bytes (null where /proc is not available). */
  readonly peakRssBytes: number | null;
  /** Seconds the child ran. */
  readonly wallSeconds: number;
}

/** The whole record. */
export interface BenchRecord {
  /** Format version of this record. */
  readonly benchRecordVersion: 1;
  /** When the run started (ISO 8601). */
  readonly startedAt: string;
  /** Seconds the whole bench took (generation included). */
  readonly seconds: number;
  /** Whether `--quick` sizes were used. */
  readonly quick: boolean;
  /** The machine. */
  readonly machine: {
    readonly cores: number;
    readonly os: string;
    readonly arch: string;
    readonly deno: string;
    readonly v8: string;
  };
  /** The settings every measure used. */
  readonly settings: {
    readonly batchSize: number;
    /** 0: onnxruntime's default. */
    readonly threads: number;
    /** null: the task's default. */
    readonly numWorkers: number | null;
    readonly samples: number;
  };
  /** Generated inputs: folder, and seconds spent generating (0 when cached). */
  readonly generated: Readonly<Record<string, { readonly dir: string; readonly seconds: number }>>;
  /** The main model and dataset. */
  readonly main: ModelMeasures;
  /** The shipped demo model on the demo data. */
  readonly demo: ModelMeasures;
  /** Peak memory of two runs of different lengths in fresh processes. */
  readonly peakRss: {
    readonly model: string;
    readonly dataset: string;
    readonly runs: readonly [PeakRssRun, PeakRssRun];
    /** Longer run's peak ÷ shorter run's (target ≤ 1.10); null without /proc. */
    readonly ratio: number | null;
  };
  /** Time from process start to the first scored batch (the demo model, one batch). */
  readonly firstBatch: {
    readonly model: string;
    readonly dataset: string;
    readonly batchSize: number;
    /** From the runtime's time origin (module loading included). */
    readonly msSinceStart: number;
    /** From spawning the process (the executable's start-up included). */
    readonly msSinceSpawn: number;
  };
  /**
   * Converting a checkpoint (by default one shaped like evalscope's Chinese-CLIP ViT-L/14-336
   * example model) in a fresh process: seconds and peak memory; skipped by `--no-convert-bench`.
   */
  readonly conversion: ConversionMeasure | SkippedMeasure;
  /**
   * The converted ViT-B/32 vision tower against `torch.onnx.export`'s graph of the same PyTorch
   * model in onnxruntime; skipped by `--no-export-bench` or without PyTorch.
   */
  readonly torchExport: TorchExportMeasure | SkippedMeasure;
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);
const mib = (bytes: number | null) => (bytes === null ? "n/a" : `${fixed(bytes / 2 ** 20)} MiB`);

/** A two-column aligned table: label, then text. */
function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`).join("\n");
}

/** The printed form of one model's measures. */
export function formatModelMeasures(title: string, m: ModelMeasures): string {
  const { inference, decode, pil, endToEnd, text, ratios } = m;
  const perImage = (seconds: number) => `${fixed((seconds / decode.images) * 1000, 2)} ms`;
  const rows: [string, string][] = [
    [
      `inference ceiling (batch ${inference.batchSize})`,
      `${fixed(inference.imagesPerSecond)} images/s`,
    ],
    [
      `end to end (${endToEnd.samples} samples)`,
      `${fixed(endToEnd.imagesPerSecond)} images/s = ${
        fixed(ratios.endToEndToCeiling, 2)
      } × ceiling (whole call ${fixed(endToEnd.seconds)} s, ${
        fixed(endToEnd.firstSampleSeconds, 2)
      } s before the first sample)`,
    ],
    [
      "decode + preprocess, 1 core",
      `${fixed(decode.imagesPerSecond)} images/s (${decode.images} × ${decode.sourceSize}, ${
        fixed(decode.meanBytes / 1024)
      } KiB: decode ${perImage(decode.decodeSeconds)} + preprocess ${
        perImage(decode.preprocessSeconds)
      } per image); ${
        fixed(ratios.decodeCoresForCeiling, 2)
      } cores feed the ceiling; sharing the cores caps end to end at ${
        fixed(ratios.sharedCoresBound, 2)
      } × ceiling`,
    ],
    [
      "Pillow reference, 1 core",
      "skipped" in pil
        ? `skipped: ${pil.skipped}`
        : `${fixed(pil.imagesPerSecond)} images/s (${pil.library}: decode ${
          fixed((pil.decodeSeconds / pil.images) * 1000, 2)
        } ms + preprocess ${
          fixed((pil.preprocessSeconds / pil.images) * 1000, 2)
        } ms); clipbench ÷ Pillow = ${fixed(ratios.decodeToPil ?? NaN, 2)}`,
    ],
    [
      "text tower",
      `${fixed(text.promptsPerSecond)} prompts/s at batch ${text.batchSize} (tokenising ${
        fixed((text.tokenizeSeconds / text.prompts) * 1000, 3)
      } ms a prompt); rows of ${text.rows.tokens.min}–${text.rows.tokens.max} tokens run at ${
        text.rows.trimmed ? "each batch's longest" : `the padded ${text.rows.context}`
      }${text.rows.sortedByLength ? ", batched by length" : ""}`,
    ],
    [
      `classifier ${text.classes} × ${text.templates}`,
      `${
        fixed(text.classifierSeconds, 2)
      } s; ${text.extrapolated.classes} × ${text.extrapolated.templates} would take ≈ ${
        fixed(text.extrapolated.seconds, 0)
      } s (extrapolated)`,
    ],
    [
      "classifier cache",
      `first run ${fixed(text.cache.firstSeconds, 3)} s, second ${
        fixed(text.cache.secondSeconds, 3)
      } s${text.cache.secondFromCache ? "" : " (not from the cache!)"} = ${
        fixed(text.cache.ratio, 4)
      } × first`,
    ],
  ];
  const origin = m.model.generated ? `generated ${m.model.generated}` : m.model.dir;
  return `${title}: ${m.model.name} (${origin}) on ${m.dataset}\n${table(rows)}`;
}

/** The printed form of the conversion measure. */
export function formatConversion(conversion: ConversionMeasure | SkippedMeasure): string {
  if ("skipped" in conversion) return `  skipped: ${conversion.skipped}`;
  const c = conversion;
  const origin = c.generated ? `generated ${c.generated}` : c.checkpoint;
  return table([
    [
      `convert (${origin})`,
      `${fixed(c.convertSeconds)} s (child process ${fixed(c.wallSeconds)} s) (target < 60 s)`,
    ],
    [
      "peak RSS",
      `${mib(c.peakRssBytes)} = ${
        c.peakToWeights === null ? "n/a" : fixed(c.peakToWeights, 2)
      } × the weights (${mib(c.weightBytes)}; target < 2.5); wrote ${mib(c.outputBytes)}`,
    ],
  ]);
}

/** The printed form of the comparison with `torch.onnx.export`. */
export function formatTorchExport(measure: TorchExportMeasure | SkippedMeasure): string {
  if ("skipped" in measure) return `  skipped: ${measure.skipped}`;
  const m = measure;
  const graph = (t: TorchExportMeasure["clipbench"]) =>
    `${fixed(t.imagesPerSecond)} images/s (median ${fixed(t.medianSeconds * 1000, 0)} ms a batch; ${
      mib(t.fileBytes)
    })`;
  return table([
    [`clipbench's vision graph (${m.preset})`, graph(m.clipbench)],
    [`torch.onnx.export's (torch ${m.torch})`, graph(m.torchExport)],
    [
      "ratio",
      `${fixed(m.ratio, 3)} (target ≥ 1; batch ${m.batchSize}, threads ${
        m.threads || "onnxruntime default"
      }, ${m.repetitions} interleaved runs each; outputs agree within ${
        m.relativeDifference.toExponential(1)
      } × max; converted in ${fixed(m.convertSeconds, 1)} s)`,
    ],
  ]);
}

/** The printed form of the whole record. */
export function formatRecord(record: BenchRecord): string {
  const { machine, settings, peakRss, firstBatch } = record;
  const [short, long] = peakRss.runs;
  const header =
    `clipbench bench: ${machine.cores} cores, ${machine.os}/${machine.arch}, Deno ${machine.deno}; ` +
    `batch ${settings.batchSize}, threads ${settings.threads || "onnxruntime default"}, ` +
    `decoding workers ${settings.numWorkers ?? "task default"}${record.quick ? " (--quick)" : ""}`;
  const memory = table([
    [
      `peak RSS, ${short.samples} samples`,
      `${mib(short.peakRssBytes)} (${fixed(short.wallSeconds)} s)`,
    ],
    [
      `peak RSS, ${long.samples} samples`,
      `${mib(long.peakRssBytes)} (${fixed(long.wallSeconds)} s)`,
    ],
    [
      "ratio",
      `${
        peakRss.ratio === null ? "n/a" : fixed(peakRss.ratio, 3)
      } (${peakRss.model} on ${peakRss.dataset})`,
    ],
  ]);
  const startup = table([
    [
      `first scored batch (${firstBatch.batchSize} images)`,
      `${fixed(firstBatch.msSinceStart, 0)} ms after the runtime started, ${
        fixed(firstBatch.msSinceSpawn, 0)
      } ms after the process was spawned (${firstBatch.model})`,
    ],
  ]);
  return [
    header,
    formatModelMeasures("main", record.main),
    formatModelMeasures("demo", record.demo),
    `memory:\n${memory}`,
    `start-up:\n${startup}`,
    `conversion:\n${formatConversion(record.conversion)}`,
    `vision graph vs torch.onnx.export:\n${formatTorchExport(record.torchExport)}`,
    `total ${fixed(record.seconds)} s`,
  ].join("\n\n");
}
