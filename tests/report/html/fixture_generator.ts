/**
 * Writes the committed fixture of the HTML report tests, tests/data/report_html/outputs/: two
 * models (`model-a`, `model-b`) on single-label, multi-label and retrieval datasets, with result
 * files and per-sample predictions files as `eval --save-predictions` writes them
 * (src/results/predictions/predictions_file.ts). The predictions are drawn from a seeded generator
 * (both models see the same samples, and a sample hard for one tends to be hard for the other);
 * every metric in a result is then computed from its rows with clipbench's own per-sample metrics
 * (src/results/predictions/sample_metrics.ts), so `report` accepts the predictions as matching.
 *
 * Some results lack predictions on purpose (one with its class names dumped, one without), one
 * pair differs in `--limit` (marked in the report), and one class name holds HTML's special
 * characters.
 *
 * Run `deno run -A tests/report/html/fixture_generator.ts` to rewrite the fixture; a test checks
 * that the committed files are what this writes.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  predictionsHeader,
  predictionsPathFor,
  shortestFloat32,
} from "../../../src/results/predictions/predictions_file.ts";
import type {
  PredictionRow,
  PredictionsHeader,
} from "../../../src/results/predictions/predictions_file.ts";
import { allRows, sampleOutcomes } from "../../../src/results/predictions/sample_metrics.ts";
import { perClassRecall, sha256OfJson } from "../../../src/results/provenance.ts";
import type { TaskName } from "../../../src/results/result.ts";
import { Xoshiro128StarStar } from "../../../src/stats/prng.ts";

/** The committed fixture folder. */
export const FIXTURE_OUTPUTS: string = fileURLToPath(
  new URL("../../data/report_html/outputs", import.meta.url),
);

/** A simulated model: its skill and speed. */
interface SimulatedModel {
  readonly name: string;
  /** Probability-like skill: a sample is right when its difficulty is below it (plus noise). */
  readonly skill: number;
  /** Images per second. */
  readonly speed: number;
  /** Seed offset of its own noise. */
  readonly seed: number;
}

const MODELS: readonly SimulatedModel[] = [
  { name: "model-a", skill: 0.78, speed: 412.5, seed: 11 },
  { name: "model-b", skill: 0.7, speed: 96.25, seed: 23 },
];

/** Uniform numbers in [0, 1) from a seed. */
function uniform(seed: number): () => number {
  const generator = new Xoshiro128StarStar(seed);
  return () => generator.nextUint32() / 2 ** 32;
}

/** Per sample, a difficulty both models share. */
function difficulties(count: number, seed: number): number[] {
  const next = uniform(seed);
  return Array.from({ length: count }, () => next());
}

function isRight(model: SimulatedModel, difficulty: number, noise: () => number): boolean {
  return difficulty + 0.15 * (noise() - 0.5) < model.skill;
}

/** A shuffled list of the classes other than `label`, the one after it most often first. */
function wrongClasses(label: number, classes: number, next: () => number): number[] {
  const others = Array.from({ length: classes }, (_, c) => c).filter((c) => c !== label);
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [others[i], others[j]] = [others[j], others[i]];
  }
  if (next() < 0.6) {
    const neighbour = (label + 1) % classes;
    others.splice(others.indexOf(neighbour), 1);
    others.unshift(neighbour);
  }
  return others;
}

function descendingScores(count: number, next: () => number): number[] {
  let score = 28 + 4 * next();
  return Array.from({ length: count }, () => {
    score -= 0.25 + 2 * next();
    return shortestFloat32(score);
  });
}

function classificationRows(
  model: SimulatedModel,
  dataset: string,
  classes: number,
  count: number,
): PredictionRow[] {
  const hard = difficulties(count, dataset.length * 1000 + classes);
  const next = uniform(model.seed * 7919 + dataset.length);
  const wanted = Math.min(5, classes);
  return hard.map((difficulty, i) => {
    const label = (i * 7 + Math.floor(i / classes)) % classes;
    const others = wrongClasses(label, classes, next);
    const top = isRight(model, difficulty, next)
      ? [label, ...others.slice(0, wanted - 1)]
      : next() < 0.7
      ? [others[0], label, ...others.slice(1, wanted - 1)]
      : others.slice(0, wanted);
    return {
      key: `${dataset}/${String(i).padStart(5, "0")}`,
      label,
      top,
      scores: descendingScores(top.length, next),
    };
  });
}

function multilabelRows(
  model: SimulatedModel,
  dataset: string,
  classes: number,
  count: number,
): PredictionRow[] {
  const hard = difficulties(count, 4242);
  const next = uniform(model.seed * 31 + 5);
  return hard.map((difficulty, i) => {
    const labels = Array.from({ length: classes }, (_, c) => c).filter((c) =>
      (i + c) % 3 === 0 || c === i % classes
    );
    const scores = Array.from({ length: classes }, (_, c) => {
      const signal = labels.includes(c) && isRight(model, difficulty, next) ? 6 : 0;
      return shortestFloat32(18 + signal + 5 * next());
    });
    return { key: `${dataset}/${String(i).padStart(5, "0")}`, labels, scores };
  });
}

function retrievalRows(
  model: SimulatedModel,
  dataset: string,
  images: number,
  captionsPerImage: number,
): PredictionRow[] {
  const hard = difficulties(images, 777);
  const next = uniform(model.seed * 101 + 3);
  const rank = (difficulty: number) =>
    isRight(model, difficulty, next) ? Math.floor(3 * next()) : 1 + Math.floor(20 * next());
  return hard.map((difficulty, i) => ({
    key: `${dataset}/${String(i).padStart(5, "0")}`,
    text_rank: rank(difficulty),
    image_ranks: Array.from({ length: captionsPerImage }, () => rank(difficulty)),
  }));
}

/** One model × dataset of the fixture. */
interface FixtureResult {
  readonly model: SimulatedModel;
  readonly dataset: string;
  readonly task: TaskName;
  readonly header: Parameters<typeof predictionsHeader>[1];
  readonly rows: readonly PredictionRow[];
  /** Write the predictions file beside the result. */
  readonly savePredictions: boolean;
  /** Dump the class names into the result (`--dump_classnames`). */
  readonly dumpClassnames?: boolean;
  /** `--limit`. */
  readonly limit?: number;
  /** Speed relative to the model's. */
  readonly speedFactor: number;
}

const classNames = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, c) => `${prefix} ${c}`);

const CIFAR = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];
const PETS = ["abyssinian", "beagle", "café <au lait> & 'crème'", "boxer", "persian", "pug"];
const VOC = ["person", "car", "chair", "bottle", "dog"];

function fixtureResults(): FixtureResult[] {
  const results: FixtureResult[] = [];
  for (const model of MODELS) {
    const single = (dataset: string, names: readonly string[], count: number) => ({
      kind: "classification" as const,
      classnames: names,
      rows: classificationRows(model, dataset, names.length, count),
    });
    const cifar = single("cifar10_mini", CIFAR, 200);
    results.push({
      model,
      dataset: "cifar10_mini",
      task: "zeroshot_classification",
      header: { kind: cifar.kind, classnames: cifar.classnames },
      rows: cifar.rows,
      savePredictions: true,
      speedFactor: 1,
    });
    const pets = single("pets_mini", PETS, 120);
    const limit = model.name === "model-b" ? 60 : undefined;
    results.push({
      model,
      dataset: "pets_mini",
      task: "zeroshot_classification",
      header: { kind: pets.kind, classnames: pets.classnames },
      rows: limit === undefined ? pets.rows : pets.rows.slice(0, limit),
      savePredictions: true,
      limit,
      speedFactor: 0.9,
    });
    results.push({
      model,
      dataset: "voc_mini",
      task: "zeroshot_classification",
      header: { kind: "multilabel", classnames: VOC },
      rows: multilabelRows(model, "voc_mini", VOC.length, 80),
      savePredictions: true,
      speedFactor: 0.8,
    });
    results.push({
      model,
      dataset: "flickr_mini",
      task: "zeroshot_retrieval",
      header: { kind: "retrieval", recall_k: [1, 5, 10] },
      rows: retrievalRows(model, "flickr_mini", 50, 5),
      savePredictions: true,
      speedFactor: 0.6,
    });
  }
  const [a, b] = MODELS;
  const dtd = classNames("texture", 8);
  results.push({
    model: a,
    dataset: "dtd_mini",
    task: "zeroshot_classification",
    header: { kind: "classification", classnames: dtd },
    rows: classificationRows(a, "dtd_mini", dtd.length, 96),
    savePredictions: false,
    dumpClassnames: true,
    speedFactor: 1.1,
  });
  const eurosat = classNames("land", 7);
  results.push({
    model: b,
    dataset: "eurosat_mini",
    task: "zeroshot_classification",
    header: { kind: "classification", classnames: eurosat },
    rows: classificationRows(b, "eurosat_mini", eurosat.length, 70),
    savePredictions: false,
    speedFactor: 1.2,
  });
  return results;
}

/** The result file's metrics, computed from the rows as `eval` scores them. */
function metricsOf(header: PredictionsHeader, rows: readonly PredictionRow[]) {
  const outcomes = sampleOutcomes({ header }, rows);
  const every = allRows(outcomes.n);
  const metrics: Record<string, number> = {};
  for (const [name, metric] of outcomes.metrics) {
    const value = metric(every);
    // Retrieval's recalls and the mean average precision are float32 in a result.
    metrics[name] = header.kind === "classification" ? value : Math.fround(value);
  }
  return metrics;
}

function perClassRecallOf(classes: number, rows: readonly PredictionRow[]) {
  const totals = new Array<number>(classes).fill(0);
  const correct = new Array<number>(classes).fill(0);
  for (const row of rows) {
    if (!("label" in row)) continue;
    totals[row.label]++;
    if (row.top[0] === row.label) correct[row.label]++;
  }
  return perClassRecall(totals, correct);
}

function resultFile(item: FixtureResult, header: PredictionsHeader, index: number) {
  const { model, rows } = item;
  const classnames = item.header.classnames;
  const start = Date.UTC(2025, 0, 15, 9, 0, 0) + index * 600_000;
  const images = rows.length;
  const speed = model.speed * item.speedFactor;
  const duration = images / speed;
  const retrieval = item.task === "zeroshot_retrieval";
  const captions = retrieval
    ? rows.reduce(
      (sum, row) => sum + (row as { readonly image_ranks: readonly number[] }).image_ranks.length,
      0,
    )
    : undefined;
  const fingerprint = { family: "clip", name: model.name, dtype: "fp32" };
  const taskSettings = retrieval ? { recall_k: item.header.recall_k } : {
    classnames_sha256: sha256OfJson(classnames),
    templates_sha256: sha256OfJson(["a photo of a {c}."]),
  };
  return {
    dataset: item.dataset,
    model: model.name,
    task: item.task,
    metrics: metricsOf(header, rows),
    n_samples: images,
    ...(retrieval && { n_images: images, n_captions: captions }),
    n_skipped: 0,
    skipped: [],
    ...(item.dumpClassnames && { classnames }),
    clipbench: {
      version: "0.1.0",
      model: {
        given: `models/${model.name}`,
        name: model.name,
        family: "clip",
        fingerprint_sha256: sha256OfJson(fingerprint),
        files: { "model.onnx": sha256OfJson(model.name) },
      },
      settings: {
        model_sha256: sha256OfJson(fingerprint),
        dtype: "fp32",
        preprocess: "hf",
        crop_rounding: "floor",
        text_cleaning: "open_clip",
        split: "test",
        limit: item.limit ?? null,
      },
      task_settings: taskSettings,
      shards: null,
      samples: { scored: images, skipped: 0 },
      time: {
        start: new Date(start).toISOString(),
        end: new Date(start + duration * 1000).toISOString(),
        duration_s: duration,
        images_per_s: speed,
      },
      runtime: {
        deno: "2.9.6",
        onnxruntime_node: "1.30.0",
        execution_provider: "cpu",
        threads: 0,
        cores: 2,
        jpeg_decoder: "native libjpeg-turbo (libturbojpeg.so.0)",
      },
      ...(item.header.kind === "classification" &&
        { per_class_recall: perClassRecallOf(classnames!.length, rows) }),
    },
  };
}

/** Writes the fixture under `outputs` (`<outputs>/<model>/<dataset>_<task>.json` and more). */
export async function writeFixture(outputs: string): Promise<string[]> {
  const written: string[] = [];
  const items = fixtureResults();
  for (const [index, item] of items.entries()) {
    const path = join(outputs, item.model.name, `${item.dataset}_${item.task}.json`);
    await Deno.mkdir(dirname(path), { recursive: true });
    const header = predictionsHeader(
      { dataset: item.dataset, model: item.model.name, task: item.task },
      item.header,
    );
    const result = resultFile(item, header, index);
    await Deno.writeTextFile(path, JSON.stringify(result, null, 2) + "\n");
    written.push(path);
    if (item.savePredictions) {
      const lines = [header, ...item.rows].map((line) => JSON.stringify(line));
      await Deno.writeTextFile(predictionsPathFor(path), lines.join("\n") + "\n");
      written.push(predictionsPathFor(path));
    }
  }
  return written.sort();
}

if (import.meta.main) {
  await Deno.remove(FIXTURE_OUTPUTS, { recursive: true }).catch(() => {});
  for (const path of await writeFixture(FIXTURE_OUTPUTS)) console.log(path);
}
