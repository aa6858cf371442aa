/**
 * Small WebDatasets of every task, built from the demo's Fashion-MNIST images for the sharding,
 * merge, handler and CLI tests: several tar shards of chosen sizes, images repeated across shards
 * (so that logits and similarities tie and the merge must restore the global order to break the
 * ties the same way), and optionally undecodable samples (so that skipped samples have positions).
 *
 * @module
 */

import { completePlan, type EvalPlan } from "../src/run/config.ts";
import { makeTar, readTarMembers } from "./_tar_writer.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** The demo model folder. */
export const DEMO_MODEL = `${ROOT}examples/demo/tiny-clip-demo`;
/** The demo dataset folder. */
export const DEMO_DATA = `${ROOT}examples/demo/data/fashion_mnist_1k`;

const members = readTarMembers(await Deno.readFile(`${DEMO_DATA}/test/0.tar`));
const classnames = (await Deno.readTextFile(`${DEMO_DATA}/classnames.txt`)).trim().split("\n");
const labelOf = (i: number) => Number(new TextDecoder().decode(members[2 * i].data));
const pngOf = (i: number) => members[2 * i + 1].data;

/** The kinds of dataset the fixtures build. */
export type FixtureKind = "classification" | "multilabel" | "retrieval";

/** Options of {@linkcode writeShardedDataset}. */
export interface FixtureOptions {
  /** Samples in each tar shard. */
  readonly shardSizes: readonly number[];
  /** Global sample numbers whose image is garbage (skipped). */
  readonly broken?: readonly number[];
  /** Demo images used: sample g shows image `g mod distinctImages` (default 37). */
  readonly distinctImages?: number;
}

/** Two positives: the image's class, and a second one that varies between repeats of an image. */
function npyTarget(label: number, global: number): Uint8Array {
  const header = "{'descr': '|u1', 'fortran_order': False, 'shape': (10,), }";
  const padded = header.padEnd(118, " ") + "\n";
  const bytes = new Uint8Array(10 + padded.length + 10);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]);
  bytes.set(new TextEncoder().encode(padded), 10);
  bytes[10 + padded.length + label] = 1;
  bytes[10 + padded.length + ((label + 1 + (global % 4)) % 10)] = 1;
  return bytes;
}

const PATTERNS = ["a photo of a {c}.", "a {c}.", "a blurry photo of the {c}."];

function sampleMembers(
  kind: FixtureKind,
  global: number,
  image: number,
  broken: boolean,
): { name: string; data: Uint8Array | string }[] {
  const key = `s${String(global).padStart(6, "0")}`;
  const png = broken ? new TextEncoder().encode("not an image") : pngOf(image);
  const label = labelOf(image);
  if (kind === "classification") {
    return [{ name: `${key}.cls`, data: String(label) }, { name: `${key}.png`, data: png }];
  }
  if (kind === "multilabel") {
    return [{ name: `${key}.npy`, data: npyTarget(label, global) }, {
      name: `${key}.png`,
      data: png,
    }];
  }
  const count = 1 + (global % 3);
  const captions = Array.from(
    { length: count },
    (_, j) => PATTERNS[(image + j) % PATTERNS.length].replace("{c}", classnames[label]),
  );
  return [{ name: `${key}.png`, data: png }, { name: `${key}.txt`, data: captions.join("\n") }];
}

/**
 * Writes a dataset of `kind` under `dir` (CLIP_benchmark's layout, split `test`) and returns its
 * root.
 */
export async function writeShardedDataset(
  dir: string,
  kind: FixtureKind,
  options: FixtureOptions,
): Promise<string> {
  const root = `${dir}/${kind}`;
  await Deno.mkdir(`${root}/test`, { recursive: true });
  if (kind !== "classification") await Deno.writeTextFile(`${root}/dataset_type.txt`, `${kind}\n`);
  if (kind !== "retrieval") {
    await Deno.copyFile(`${DEMO_DATA}/classnames.txt`, `${root}/classnames.txt`);
    await Deno.copyFile(
      `${DEMO_DATA}/zeroshot_classification_templates.txt`,
      `${root}/zeroshot_classification_templates.txt`,
    );
  }
  await Deno.writeTextFile(`${root}/test/nshards.txt`, `${options.shardSizes.length}\n`);
  const broken = new Set(options.broken ?? []);
  const distinct = options.distinctImages ?? 37;
  let global = 0;
  for (const [shard, size] of options.shardSizes.entries()) {
    const tarMembers = [];
    for (let i = 0; i < size; i++, global++) {
      tarMembers.push(...sampleMembers(kind, global, global % distinct, broken.has(global)));
    }
    await Deno.writeFile(`${root}/test/${shard}.tar`, makeTar(tarMembers));
  }
  return root;
}

/**
 * The plan the merge tests run a fixture of `kind` with (datasets under `dir/{dataset}`, the
 * demo model, in-process decoding, batch 8, recall@1/2/5), with `overrides`.
 */
export function fixturePlan(
  dir: string,
  kind: FixtureKind,
  overrides: Partial<EvalPlan> = {},
): EvalPlan {
  return completePlan({
    models: [{ id: DEMO_MODEL }],
    datasets: [kind],
    datasetRoot: `${dir}/{dataset}`,
    batchSize: 8,
    numWorkers: 0,
    quiet: true,
    cacheDir: `${dir}/cache`,
    noCache: true,
    maxSkippedFraction: 0.05,
    recallK: [1, 2, 5],
    ...overrides,
  });
}
