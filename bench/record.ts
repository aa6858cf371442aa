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
import type { TorchPeerMeasure } from "./measure_torch_peer.ts";
import { formatSpread, type Loaded, type Spread, spread, spreadOf } from "./rounds.ts";

/** Ratios between the figures of one round (see {@linkcode roundRatios}). */
export interface RoundRatios {
  /** End-to-end images/s ÷ the inference ceiling (target ≥ 0.95). */
  readonly endToEndToCeiling: number;
  /** The int8 graphs' ceiling ÷ the float32 one; null without int8 graphs. */
  readonly int8CeilingToCeiling: number | null;
  /** Pillow's decode time per image ÷ clipbench's (× Pillow's speed; target ≥ 1); null without Pillow. */
  readonly decodeToPil: number | null;
  /** The same for the WebAssembly fallback decoder; null when it was not measured. */
  readonly wasmDecodeToPil: number | null;
  /** torchvision's preprocess time per image ÷ clipbench's (target ≥ 1); null without Pillow. */
  readonly preprocessToTorchvision: number | null;
  /** clipbench's decode + preprocess images/s ÷ Pillow + torchvision's; null without Pillow. */
  readonly decodePreprocessToPil: number | null;
  /** clipbench's end-to-end images/s ÷ the PyTorch peer's (target ≥ 2); null without the peer. */
  readonly endToEndToPeer: number | null;
  /** Cores of decoding needed to feed the ceiling: ceiling ÷ decode per core. */
  readonly decodeCoresForCeiling: number;
  /**
   * The most end to end can reach, as a fraction of the ceiling, when decoding and inference
   * share the machine's cores with none idle: each image costs `cores ÷ ceiling` core-seconds
   * of inference (the ceiling uses every core) plus `1 ÷ decode per core` of decoding, so
   * the bound is `1 ÷ (1 + ceiling ÷ (cores × decode per core))`.
   */
  readonly sharedCoresBound: number;
}

/** One interleaved round of the image measures (bench/rounds.ts). */
export interface ImageRound {
  /** Whether the ceiling ran before the end-to-end run (they alternate). */
  readonly ceilingFirst: boolean;
  /** The inference ceiling at the bench's batch size and threads. */
  readonly ceiling: Loaded<InferenceMeasure>;
  /** The same for the model's int8 graphs (`--dtype int8`), when it has them. */
  readonly int8Ceiling: Loaded<InferenceMeasure> | null;
  /** The classification task end to end. */
  readonly endToEnd: Loaded<EndToEndMeasure>;
  /** Decode + preprocess on one core, with the JPEG decoder this machine selects. */
  readonly decode: Loaded<DecodeMeasure>;
  /** The same with the WebAssembly JPEG decoder, when the selected one is native. */
  readonly wasmDecode: Loaded<DecodeMeasure> | null;
  /** Pillow (+ torchvision) on the same images, or why not. */
  readonly pil: Loaded<PilMeasure>;
  /** The PyTorch peer (`--peer torch`), or null when not asked for. */
  readonly peer: Loaded<TorchPeerMeasure> | null;
  /** Ratios within this round. */
  readonly ratios: RoundRatios;
}

/** Min / median / max over the rounds of each figure (ms per image, images/s) and ratio. */
export interface RoundsSummary {
  /** Inference ceiling, images/s. */
  readonly ceiling: Spread;
  /** The int8 graphs' ceiling, images/s. */
  readonly int8Ceiling: Spread | null;
  /** End to end, images/s. */
  readonly endToEnd: Spread;
  /** clipbench decode, ms per image (selected decoder). */
  readonly decodeMs: Spread;
  /** clipbench decode with the WebAssembly decoder, ms per image. */
  readonly wasmDecodeMs: Spread | null;
  /** clipbench preprocess, ms per image. */
  readonly preprocessMs: Spread;
  /** Pillow decode, ms per image. */
  readonly pilDecodeMs: Spread | null;
  /** torchvision (or Pillow + numpy) preprocess, ms per image. */
  readonly pilPreprocessMs: Spread | null;
  /** The PyTorch peer, images/s. */
  readonly peer: Spread | null;
  /** The 1-minute load average at the start of every measure of every round. */
  readonly load: Spread | null;
  /** Each ratio's spread. */
  readonly ratios: { readonly [K in keyof RoundRatios]: Spread | null };
}

/** The measures of one model on one dataset. */
export interface ModelMeasures {
  /** The model: folder, name, and the generator preset when generated. */
  readonly model: { readonly dir: string; readonly name: string; readonly generated?: string };
  /** The dataset root. */
  readonly dataset: string;
  /** The interleaved rounds of the image measures. */
  readonly rounds: readonly ImageRound[];
  /** Their spread. */
  readonly summary: RoundsSummary;
  /** The text tower and the classifier. */
  readonly text: TextMeasure;
}

const msPerImage = (seconds: number, images: number) => (seconds / images) * 1000;

/** The ratios of one round's figures. */
export function roundRatios(
  ceiling: InferenceMeasure,
  endToEnd: EndToEndMeasure,
  decode: DecodeMeasure,
  others: {
    readonly wasmDecode?: DecodeMeasure;
    readonly int8Ceiling?: InferenceMeasure;
    readonly pil: PilMeasure;
    readonly peer?: TorchPeerMeasure;
    readonly cores: number;
  },
): RoundRatios {
  const { pil, wasmDecode, int8Ceiling, peer, cores } = others;
  const pilOk = "skipped" in pil ? undefined : pil;
  const decodeMs = msPerImage(decode.decodeSeconds, decode.images);
  const pilDecodeMs = pilOk && msPerImage(pilOk.decodeSeconds, pilOk.images);
  return {
    endToEndToCeiling: endToEnd.imagesPerSecond / ceiling.imagesPerSecond,
    int8CeilingToCeiling: int8Ceiling === undefined
      ? null
      : int8Ceiling.imagesPerSecond / ceiling.imagesPerSecond,
    decodeToPil: pilDecodeMs === undefined ? null : pilDecodeMs / decodeMs,
    wasmDecodeToPil: pilDecodeMs === undefined || wasmDecode === undefined
      ? null
      : pilDecodeMs / msPerImage(wasmDecode.decodeSeconds, wasmDecode.images),
    preprocessToTorchvision: pilOk === undefined
      ? null
      : msPerImage(pilOk.preprocessSeconds, pilOk.images) /
        msPerImage(decode.preprocessSeconds, decode.images),
    decodePreprocessToPil: pilOk === undefined
      ? null
      : decode.imagesPerSecond / pilOk.imagesPerSecond,
    endToEndToPeer: peer === undefined || "skipped" in peer || peer.imagesPerSecond <= 0
      ? null
      : endToEnd.imagesPerSecond / peer.imagesPerSecond,
    decodeCoresForCeiling: ceiling.imagesPerSecond / decode.imagesPerSecond,
    sharedCoresBound: 1 / (1 + ceiling.imagesPerSecond / (cores * decode.imagesPerSecond)),
  };
}

/** The spread over `rounds` of every figure and ratio. */
export function summarizeRounds(rounds: readonly ImageRound[]): RoundsSummary {
  const each = <T>(pick: (round: ImageRound) => T) => rounds.map(pick);
  const pilOf = (round: ImageRound) => "skipped" in round.pil.value ? undefined : round.pil.value;
  const ratioNames = Object.keys(rounds[0].ratios) as (keyof RoundRatios)[];
  return {
    ceiling: spread(each((r) => r.ceiling.value.imagesPerSecond)),
    int8Ceiling: spreadOf(each((r) => r.int8Ceiling?.value.imagesPerSecond)),
    endToEnd: spread(each((r) => r.endToEnd.value.imagesPerSecond)),
    decodeMs: spread(each((r) => msPerImage(r.decode.value.decodeSeconds, r.decode.value.images))),
    wasmDecodeMs: spreadOf(
      each((r) =>
        r.wasmDecode && msPerImage(r.wasmDecode.value.decodeSeconds, r.wasmDecode.value.images)
      ),
    ),
    preprocessMs: spread(
      each((r) => msPerImage(r.decode.value.preprocessSeconds, r.decode.value.images)),
    ),
    pilDecodeMs: spreadOf(each((r) => {
      const pil = pilOf(r);
      return pil && msPerImage(pil.decodeSeconds, pil.images);
    })),
    pilPreprocessMs: spreadOf(each((r) => {
      const pil = pilOf(r);
      return pil && msPerImage(pil.preprocessSeconds, pil.images);
    })),
    peer: spreadOf(
      each((r) => r.peer && !("skipped" in r.peer.value) ? r.peer.value.imagesPerSecond : null),
    ),
    load: spreadOf(rounds.flatMap((r) => [
      r.ceiling.load,
      r.int8Ceiling?.load,
      r.endToEnd.load,
      r.decode.load,
      r.wasmDecode?.load,
      r.pil.load,
      r.peer?.load,
    ])),
    ratios: Object.fromEntries(
      ratioNames.map((name) => [name, spreadOf(each((r) => r.ratios[name]))]),
    ) as RoundsSummary["ratios"],
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
    /** Interleaved rounds of the image measures. */
    readonly rounds: number;
    /** The peer measured in each round (`torch`), or null. */
    readonly peer: "torch" | null;
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
  const { rounds, summary, text } = m;
  const { ratios } = summary;
  const last = rounds[rounds.length - 1];
  const ms = (s: Spread | null) => `${formatSpread(s, 2)} ms`;
  const times = (s: Spread | null) => `${formatSpread(s, 2)} ×`;
  const pil = "skipped" in last.pil.value ? last.pil.value : undefined;
  const peer = last.peer && "skipped" in last.peer.value ? last.peer.value : undefined;
  const rows: [string, string][] = [
    [
      `inference ceiling (batch ${last.ceiling.value.batchSize})`,
      `${formatSpread(summary.ceiling)} images/s`,
    ],
    ...(summary.int8Ceiling === null ? [] : [[
      "inference ceiling, --dtype int8",
      `${formatSpread(summary.int8Ceiling)} images/s = ${
        times(ratios.int8CeilingToCeiling)
      } float32's (int8 MatMul weights; accuracy: see the README)`,
    ] as [string, string]]),
    [
      `end to end (${last.endToEnd.value.samples} samples)`,
      `${formatSpread(summary.endToEnd)} images/s = ${
        times(ratios.endToEndToCeiling)
      } ceiling (target ≥ 0.95; ${
        last.endToEnd.value.firstSampleSeconds.toFixed(2)
      } s before the first sample, last round)`,
    ],
    [
      "decode, 1 core",
      `${
        ms(summary.decodeMs)
      } an image (JPEG: ${last.decode.value.jpegDecoder}; ${last.decode.value.images} × ${last.decode.value.sourceSize}, ${
        fixed(last.decode.value.meanBytes / 1024)
      } KiB)`,
    ],
    ...(summary.wasmDecodeMs === null ? [] : [[
      "decode, WebAssembly fallback",
      `${ms(summary.wasmDecodeMs)} an image`,
    ] as [string, string]]),
    ["preprocess to the tensor, 1 core", `${ms(summary.preprocessMs)} an image`],
    [
      "Pillow reference, 1 core",
      pil !== undefined
        ? `skipped: ${pil.skipped}`
        : `decode ${ms(summary.pilDecodeMs)} + preprocess ${ms(summary.pilPreprocessMs)} (${
          ("library" in last.pil.value) ? last.pil.value.library : ""
        })`,
    ],
    [
      "decode ÷ Pillow's speed",
      pil !== undefined
        ? "n/a"
        : `${times(ratios.decodeToPil)} (target ≥ 1)${
          ratios.wasmDecodeToPil ? `; WebAssembly fallback ${times(ratios.wasmDecodeToPil)}` : ""
        }`,
    ],
    [
      "preprocess ÷ torchvision's speed",
      pil !== undefined ? "n/a" : `${times(ratios.preprocessToTorchvision)} (target ≥ 1)`,
    ],
    [
      "decode + preprocess ÷ Pillow + torchvision",
      pil !== undefined
        ? "n/a"
        : `${times(ratios.decodePreprocessToPil)}; ${
          formatSpread(ratios.decodeCoresForCeiling, 2)
        } cores feed the ceiling; sharing the cores caps end to end at ${
          formatSpread(ratios.sharedCoresBound, 2)
        } × ceiling`,
    ],
    ...(last.peer === null ? [] : [[
      "PyTorch peer (CLIP_benchmark's loop)",
      peer !== undefined
        ? `skipped: ${peer.skipped}`
        : `${formatSpread(summary.peer)} images/s (${
          "library" in last.peer.value ? last.peer.value.library : ""
        }); clipbench end to end ÷ peer = ${times(ratios.endToEndToPeer)} (target ≥ 2)`,
    ] as [string, string]]),
    [
      "machine load (1-min average)",
      `${formatSpread(summary.load, 2)} over ${rounds.length} interleaved round${
        rounds.length === 1 ? "" : "s"
      } (min / median / max)`,
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
