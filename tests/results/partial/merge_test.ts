/**
 * Sharded runs merge into exactly the unsharded result: for classification, multi-label and
 * retrieval, with 1, 2 and 3 shards (fewer than or as many as the tar files: whole tar shards) and
 * 5 and 7 shards (more than the tar files: slices of them), through the partial file format; and
 * partials that do not belong together are refused with a message that says why.
 */
import assert from "node:assert/strict";
import type { EvalPlan } from "../../../src/run/config.ts";
import { DatasetError } from "../../../src/errors.ts";
import { evaluateDataset } from "../../../src/run/evaluate.ts";
import { ClipModel } from "../../../src/model/model.ts";
import { mergePartials, type SourcedPartial } from "../../../src/results/partial/merge.ts";
import { assertSameAsUnsharded } from "./_same_as_unsharded.ts";
import {
  decodePartial,
  encodePartial,
  PartialError,
  type PartialResult,
} from "../../../src/results/partial/partial_file.ts";
import type { TaskResult } from "../../../src/results/result.ts";
import type { ShardSpec } from "../../../src/dataset/sharding/shard_spec.ts";
import {
  DEMO_DATA,
  DEMO_MODEL,
  type FixtureKind,
  fixturePlan,
  writeShardedDataset,
} from "../../_shard_fixtures.ts";
import { readTarMembers } from "../../_tar_writer.ts";
import "../../../tasks/mod.ts";

const model = await ClipModel.load(DEMO_MODEL);
const DIR = await Deno.makeTempDir({ prefix: "clipbench_merge_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

/** Three tar shards of unequal sizes, two undecodable samples. */
const SHARD_SIZES = [23, 17, 20];
const BROKEN = [5, 41];

async function unsharded(kind: FixtureKind): Promise<TaskResult> {
  const outcome = await evaluateDataset(fixturePlan(DIR, kind), model, "tiny-clip-demo", kind);
  assert.equal(outcome.kind, "result");
  return (outcome as { result: TaskResult }).result;
}

async function shardPartial(
  kind: FixtureKind,
  shard: ShardSpec,
  overrides: Partial<EvalPlan> = {},
): Promise<PartialResult> {
  const outcome = await evaluateDataset(
    fixturePlan(DIR, kind, { shard, ...overrides }),
    model,
    "tiny-clip-demo",
    kind,
  );
  assert.equal(outcome.kind, "partial");
  return (outcome as { partial: PartialResult }).partial;
}

/** Every shard of `count`, each through the file format and back. */
async function allShards(kind: FixtureKind, count: number): Promise<SourcedPartial[]> {
  const partials: SourcedPartial[] = [];
  for (let index = 0; index < count; index++) {
    const source = `${kind}-${index}-of-${count}.partial`;
    const bytes = encodePartial(await shardPartial(kind, { index, count }));
    partials.push({ source, partial: decodePartial(bytes, source) });
  }
  return partials;
}

for (const kind of ["classification", "multilabel", "retrieval"] as const) {
  await writeShardedDataset(DIR, kind, { shardSizes: SHARD_SIZES, broken: BROKEN });

  Deno.test(`${kind}: merged shards equal the unsharded run, n = 1, 2, 3, 5, 7`, async () => {
    const expected = await unsharded(kind);
    assert.equal(expected.n_samples, 58);
    assert.equal(expected.n_skipped, 2);
    for (const count of [1, 2, 3, 5, 7]) {
      const partials = await allShards(kind, count);
      // In any order.
      const merged = mergePartials(partials.reverse());
      // Bit for bit, as written to the file (the clipbench block: same settings, shard layout).
      assertSameAsUnsharded(merged, expected, count, `${count} shards`);
      const scored = partials.reduce((sum, p) => sum + p.partial.outcome.scored, 0);
      assert.equal(scored, expected.n_samples);
    }
  });
}

Deno.test("shards read whole tar files up to the tar count, slices beyond it", async () => {
  const three = await allShards("classification", 3);
  assert.deepEqual(
    three.map((p) => p.partial.outcome.reading),
    [0, 1, 2].map((s) => ({ mode: "tar_shards", tarShards: [s], nshards: 3 })),
  );
  assert.deepEqual(
    three.map((p) => p.partial.outcome.read),
    SHARD_SIZES,
  );
  const five = await allShards("classification", 5);
  assert.ok(five.every((p) => p.partial.outcome.reading.mode === "samples"));
  assert.ok(five.every((p) => p.partial.outcome.reading.tarShards.length <= 2));
  // Every sample once, about 60 / 5 each (tar shards of 23, 17 and 20 samples).
  assert.deepEqual(five.map((p) => p.partial.outcome.read), [15, 12, 10, 11, 12]);
});

Deno.test("a classification partial holds counts only: a few kilobytes", async () => {
  const [partial] = await allShards("classification", 1);
  const bytes = encodePartial(partial.partial);
  assert.ok(bytes.length < 8192, `${bytes.length} bytes`);
});

Deno.test("merge refuses missing, duplicated and differently counted shards", async () => {
  const partials = await allShards("classification", 3);
  assert.throws(
    () => mergePartials([partials[0], partials[2]]),
    (e) =>
      e instanceof PartialError && /missing shard 1\/3 of 3 \(given: 0\/3, 2\/3\)/.test(e.message),
  );
  assert.throws(
    () => mergePartials([partials[0], partials[1], partials[1], partials[2]]),
    (e) =>
      e instanceof PartialError &&
      /duplicate shard 1\/3: given twice, as classification-1-of-3\.partial and classification-1-of-3\.partial/
        .test(e.message),
  );
  const [half] = await allShards("classification", 2);
  assert.throws(
    () => mergePartials([partials[0], half]),
    (e) =>
      e instanceof PartialError &&
      /shard 0\/2 but classification-0-of-3\.partial is shard 0\/3/.test(e.message),
  );
  assert.throws(() => mergePartials([]), /no partial results/);
});

Deno.test("merge refuses partials of different datasets, templates, options or models", async () => {
  const [a0, a1] = await allShards("classification", 2);
  const retrieval = await allShards("retrieval", 2);
  assert.throws(
    () => mergePartials([a0, retrieval[1]]),
    (e) =>
      e instanceof PartialError &&
      /retrieval-1-of-2\.partial does not belong with classification-0-of-2\.partial: they differ in the dataset \(dataset\.name: "classification" in .*, "retrieval" in/
        .test(e.message),
  );
  await Deno.writeTextFile(`${DIR}/templates.txt`, "a picture of a {c}.\n");
  const otherTemplates = await shardPartial("classification", { index: 1, count: 2 }, {
    templatesFile: `${DIR}/templates.txt`,
  });
  assert.throws(
    () => mergePartials([a0, { source: "other.partial", partial: otherTemplates }]),
    (e) =>
      e instanceof PartialError &&
      /other\.partial does not belong with .*: they differ in the class names, templates, classifier or recall@k \(task\.classifier_sha256/
        .test(e.message),
  );
  const otherBatch = await shardPartial("classification", { index: 1, count: 2 }, {
    batchSize: 4,
  });
  assert.throws(
    () => mergePartials([a0, { source: "batch.partial", partial: otherBatch }]),
    /differ in the options \(options\.batch_size: 8 in classification-0-of-2\.partial, 4 in batch\.partial\)/,
  );
  const otherModel: PartialResult = {
    ...a1.partial,
    fingerprint: {
      ...a1.partial.fingerprint,
      model: {
        ...a1.partial.fingerprint.model,
        files: {
          ...(a1.partial.fingerprint.model.files as Record<string, string>),
          "onnx/vision_model.onnx": "0".repeat(64),
        },
      },
    },
  };
  assert.throws(
    () => mergePartials([a0, { source: "model.partial", partial: otherModel }]),
    /differ in the model \(its files or settings\) \(model\.files\["onnx\/vision_model\.onnx"\]: "[0-9a-f]{64}" in classification-0-of-2\.partial, "0{64}" in model\.partial\)/,
  );
});

Deno.test("a corrupted, truncated or foreign partial file is refused, naming the file", async () => {
  const [partial] = await allShards("multilabel", 1);
  const bytes = encodePartial(partial.partial);
  const flipped = bytes.slice();
  flipped[bytes.length - 100] ^= 1;
  assert.throws(
    () => decodePartial(flipped, "flipped.partial"),
    (e) =>
      e instanceof PartialError &&
      /^flipped\.partial: corrupted: its SHA-256 checksum/.test(e.message),
  );
  assert.throws(
    () => decodePartial(bytes.subarray(0, bytes.length - 7), "short.partial"),
    /short\.partial: corrupted/,
  );
  assert.throws(
    () => decodePartial(new TextEncoder().encode('{"not": "a partial"}'), "x.json"),
    /x\.json: not a clipbench partial result/,
  );
  const future = bytes.slice();
  new DataView(future.buffer).setUint32(8, 2, true);
  assert.throws(
    () => decodePartial(future, "new.partial"),
    /partial format version 2; this clipbench reads version 1/,
  );
});

Deno.test("the merged run fails like the unsharded one when too many samples were skipped", async () => {
  const root = await writeShardedDataset(`${DIR}/strict`, "classification", {
    shardSizes: [10, 10],
    broken: [3, 14],
  });
  const strict = { datasetRoot: root, maxSkippedFraction: 0.05 };
  await assert.rejects(
    () =>
      evaluateDataset(
        fixturePlan(DIR, "classification", strict),
        model,
        "tiny-clip-demo",
        "strict",
      ),
    (e) => e instanceof DatasetError && /2 of 20 samples .* were skipped/.test(e.message),
  );
  const partials: SourcedPartial[] = [];
  for (let index = 0; index < 2; index++) {
    const outcome = await evaluateDataset(
      fixturePlan(DIR, "classification", { ...strict, shard: { index, count: 2 } }),
      model,
      "tiny-clip-demo",
      "strict",
    );
    partials.push({
      source: `s${index}`,
      partial: (outcome as { partial: PartialResult }).partial,
    });
  }
  assert.throws(
    () => mergePartials(partials),
    (e) =>
      e instanceof DatasetError &&
      /2 of 20 samples .* were skipped, more than the allowed 5\.00 %; first: s000003 .*; s000014/
        .test(e.message),
  );
});

Deno.test("evalscope's custom retrieval folder: shards slice the queries file and merge exactly", async () => {
  const root = `${DIR}/custom_queries`;
  await Deno.mkdir(`${root}/images`, { recursive: true });
  const members = readTarMembers(await Deno.readFile(`${DEMO_DATA}/test/0.tar`));
  const lines = [];
  for (let i = 0; i < 21; i++) {
    await Deno.writeFile(`${root}/images/${i}.png`, members[2 * (i % 9) + 1].data);
    const path = i === 7 ? "images/missing.png" : `images/${i}.png`;
    lines.push(JSON.stringify({ image_path: path, query: [`a photo number ${i % 9}`, "a thing"] }));
  }
  await Deno.writeTextFile(`${root}/image_queries.jsonl`, lines.join("\n") + "\n");
  const custom = { datasetRoot: root, datasets: ["custom"], maxSkippedFraction: 0.1 };
  const outcome = await evaluateDataset(
    fixturePlan(DIR, "retrieval", custom),
    model,
    "tiny-clip-demo",
    "custom",
  );
  const expected = (outcome as { result: TaskResult }).result;
  assert.equal(expected.n_samples, 20);
  assert.equal(expected.skipped[0].key, "line 8");
  for (const count of [2, 3]) {
    const partials: SourcedPartial[] = [];
    for (let index = 0; index < count; index++) {
      const shard = await evaluateDataset(
        fixturePlan(DIR, "retrieval", { ...custom, shard: { index, count } }),
        model,
        "tiny-clip-demo",
        "custom",
      );
      const bytes = encodePartial((shard as { partial: PartialResult }).partial);
      partials.push({
        source: `custom ${index}`,
        partial: decodePartial(bytes, `custom ${index}`),
      });
    }
    assertSameAsUnsharded(mergePartials(partials), expected, count, `${count} shards`);
  }
});
