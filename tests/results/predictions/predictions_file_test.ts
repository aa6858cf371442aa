import assert from "node:assert/strict";
import {
  parsePredictions,
  PredictionsError,
  predictionsPathFor,
  readFinalPredictions,
  shortestFloat32,
} from "../../../src/results/predictions/predictions_file.ts";
import { PredictionsWriter } from "../../../src/results/predictions/predictions_writer.ts";

const HEADER = {
  format: "clipbench-predictions",
  version: 1,
  dataset: "d",
  model: "m",
  task: "zeroshot_classification",
  kind: "classification",
  classnames: ["a", "b", "c"],
};

const text = (header: object, ...rows: object[]) =>
  [header, ...rows].map((line) => JSON.stringify(line)).join("\n") + "\n";

Deno.test("predictionsPathFor: beside the result, .json replaced", () => {
  assert.equal(
    predictionsPathFor("outputs/m/cifar10_zeroshot_classification.json"),
    "outputs/m/cifar10_zeroshot_classification.predictions.jsonl",
  );
  assert.equal(
    predictionsPathFor("outputs/m/c_zeroshot_retrieval.shard-0-of-2.partial"),
    "outputs/m/c_zeroshot_retrieval.shard-0-of-2.partial.predictions.jsonl",
  );
});

Deno.test("shortestFloat32: the shortest decimal that reads back as the same float32", () => {
  const values = new Float32Array(2000);
  let state = 12345;
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    values[i] = (state / 2 ** 31 - 0.5) * 10 ** ((i % 9) - 3);
  }
  for (const value of values) {
    const short = shortestFloat32(value);
    assert.equal(Math.fround(short), value);
    assert.ok(String(short).replace(/^-|e.*$|\./g, "").replace(/^0+/, "").length <= 9);
  }
  assert.equal(shortestFloat32(66.54000091552734), 66.54);
  assert.equal(shortestFloat32(0), 0);
});

Deno.test("parsePredictions reads a classification file and checks every row", () => {
  const good = { key: "k0", label: 1, top: [1, 0, 2], scores: [3, 2, 1] };
  const parsed = parsePredictions("p.jsonl", text(HEADER, good));
  assert.equal(parsed.header.kind, "classification");
  assert.deepEqual(parsed.rows, [good]);
  const bad: [object, RegExp][] = [
    [{ ...good, label: 3 }, /line 2: label 3 is not one of 3 classes/],
    [{ ...good, top: [1, 0] }, /line 2: top must list 3 class indices/],
    [{ ...good, top: [1, 1, 2] }, /top lists a class twice/],
    [{ ...good, scores: [1, 2] }, /scores must hold one number per top class/],
    [{ ...good, key: 5 }, /key must be a string/],
  ];
  for (const [row, message] of bad) {
    assert.throws(() => parsePredictions("p.jsonl", text(HEADER, good, row)), (error) => {
      assert.ok(error instanceof PredictionsError);
      assert.match(error.message, /^p\.jsonl: line 3: /);
      assert.match(error.message, new RegExp(message.source.replace("line 2: ", "")));
      return true;
    });
  }
  assert.throws(() => parsePredictions("p.jsonl", "{not json\n"), /p\.jsonl: line 1: not JSON/);
  assert.throws(
    () => parsePredictions("p.jsonl", text({ ...HEADER, version: 2 })),
    /line 1: version 2 is not 1/,
  );
  assert.throws(
    () => parsePredictions("p.jsonl", text({ ...HEADER, kind: "retrieval" })),
    /kind retrieval does not belong to zeroshot_classification/,
  );
});

Deno.test("parsePredictions: multi-label, retrieval and shard rows", () => {
  const multilabel = { ...HEADER, kind: "multilabel" };
  parsePredictions("m", text(multilabel, { key: "a", labels: [0, 2], scores: [1, 2, 3] }));
  assert.throws(
    () => parsePredictions("m", text(multilabel, { key: "a", labels: [3], scores: [1, 2, 3] })),
    /labels must be class indices/,
  );
  const retrieval = {
    ...HEADER,
    task: "zeroshot_retrieval",
    kind: "retrieval",
    classnames: undefined,
    recall_k: [1],
  };
  parsePredictions("r", text(retrieval, { key: "a", text_rank: 0, image_ranks: [0, 3] }));
  assert.throws(
    () => parsePredictions("r", text(retrieval, { key: "a", text_rank: -1, image_ranks: [] })),
    /text_rank must be a non-negative integer/,
  );
  const shard = { ...retrieval, shard: "0/2" };
  parsePredictions("s", text(shard, { key: "a", captions: 2, position: [0, 4] }));
  assert.throws(
    () => parsePredictions("s", text(shard, { key: "a", captions: 2 })),
    /position must be \[tar shard, index\]/,
  );
});

Deno.test("PredictionsWriter: nothing at the final path until commit; discard leaves nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m/d_zeroshot_classification.predictions.jsonl`;
    const base = { dataset: "d", model: "m", task: "zeroshot_classification" as const };
    const writer = await PredictionsWriter.create(path, base);
    await writer.start({ kind: "classification", classnames: ["a", "b"] });
    await writer.write([{ key: "k", label: 0, top: [0, 1], scores: [2, 1] }]);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    assert.equal(await writer.commit(), path);
    const read = await readFinalPredictions(path);
    assert.deepEqual(read.header.classnames, ["a", "b"]);
    assert.equal(read.rows.length, 1);

    const failed = await PredictionsWriter.create(`${dir}/m/other.predictions.jsonl`, base);
    await failed.start({ kind: "classification", classnames: ["a"] });
    await failed.discard();
    assert.deepEqual([...Deno.readDirSync(`${dir}/m`)].map((e) => e.name), [
      "d_zeroshot_classification.predictions.jsonl",
    ]);

    const empty = await PredictionsWriter.create(`${dir}/m/empty.predictions.jsonl`, base);
    await assert.rejects(empty.commit(), /the task wrote no predictions/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFinalPredictions refuses a shard's file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/p.jsonl`;
    await Deno.writeTextFile(path, text({ ...HEADER, shard: "1/2" }));
    await assert.rejects(readFinalPredictions(path), /holds shard 1\/2's predictions/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
