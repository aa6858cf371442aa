import assert from "node:assert/strict";
import { loadReport } from "../../../src/report/report_command.ts";
import {
  classDetails,
  loadClassDetails,
  mostFrequentConfusions,
  recallFromRows,
  uniqueClassNames,
} from "../../../src/report/html/class_details.ts";
import type { ClassificationRow } from "../../../src/results/predictions/predictions_file.ts";
import { FIXTURE_OUTPUTS } from "./fixture_generator.ts";

const row = (label: number, top0: number): ClassificationRow => ({
  key: `k${label}-${top0}-${Math.random()}`,
  label,
  top: [top0],
  scores: [1],
});

Deno.test("mostFrequentConfusions counts (label, top[0]) pairs, shares of the true class", () => {
  const rows = [
    row(0, 0),
    row(0, 1),
    row(0, 1),
    row(0, 2),
    row(1, 0),
    row(1, 1),
    row(2, 1),
    row(2, 1),
  ];
  assert.deepEqual(mostFrequentConfusions(rows, ["cat", "dog"], 3), [
    { trueClass: 0, predicted: 1, count: 2, trueName: "cat", predictedName: "dog", share: 0.5 },
    {
      trueClass: 2,
      predicted: 1,
      count: 2,
      trueName: "class 2",
      predictedName: "dog",
      share: 1,
    },
    {
      trueClass: 0,
      predicted: 2,
      count: 1,
      trueName: "cat",
      predictedName: "class 2",
      share: 0.25,
    },
  ]);
  assert.deepEqual(mostFrequentConfusions([row(0, 0), row(1, 1)], ["a", "b"]), []);
});

Deno.test("recallFromRows: per class, rows whose top class is the label, null without rows", () => {
  assert.deepEqual(recallFromRows([row(0, 0), row(0, 1), row(2, 2)], 3), [0.5, null, 1]);
});

Deno.test("uniqueClassNames numbers missing names and marks repeated ones", () => {
  assert.deepEqual(uniqueClassNames(["a", "b", "a"], 4), ["a (#0)", "b", "a (#2)", "class 3"]);
  assert.deepEqual(uniqueClassNames(undefined, 2), ["class 0", "class 1"]);
});

Deno.test("loadClassDetails on the fixture: names from predictions, the result, or numbers", async () => {
  const loaded = await loadReport([FIXTURE_OUTPUTS]);
  const details = await loadClassDetails(loaded.results, loaded.samples, []);
  assert.deepEqual(details.map((d) => `${d.dataset}/${d.model}`), [
    "cifar10_mini/model-a",
    "cifar10_mini/model-b",
    "dtd_mini/model-a",
    "eurosat_mini/model-b",
    "pets_mini/model-a",
    "pets_mini/model-b",
    "voc_mini/model-a",
    "voc_mini/model-b",
  ]);
  const of = (dataset: string, model: string) =>
    details.find((d) => d.dataset === dataset && d.model === model)!;

  const pets = of("pets_mini", "model-a");
  assert.equal(pets.namesFrom, "predictions");
  assert.equal(pets.recallsFrom, "result");
  assert.equal(pets.recalls[2].name, "café <au lait> & 'crème'");
  const block = pets.recalls.map((r) => r.recall);
  assert.deepEqual(
    block,
    loaded.results.find((r) => r.path === pets.path)!.clipbench!.per_class_recall,
  );
  const rows = loaded.samples.get(pets.path)!.predictions.rows as ClassificationRow[];
  assert.deepEqual(block, recallFromRows(rows, 6));
  assert.ok(pets.confusions!.length > 0);
  assert.deepEqual(pets.notes, []);
  const errors = rows.filter((r) => r.top[0] !== r.label).length;
  assert.ok(pets.confusions!.reduce((sum, c) => sum + c.count, 0) <= errors);

  const dtd = of("dtd_mini", "model-a");
  assert.equal(dtd.namesFrom, "result");
  assert.equal(dtd.recalls[0].name, "texture 0");
  assert.equal(dtd.confusions, null);
  assert.match(dtd.notes.join(), /--save-predictions/);

  const eurosat = of("eurosat_mini", "model-b");
  assert.equal(eurosat.namesFrom, "index");
  assert.deepEqual(eurosat.recalls.map((r) => r.name).slice(0, 2), ["class 0", "class 1"]);

  const voc = of("voc_mini", "model-a");
  assert.equal(voc.kind, "multilabel");
  assert.deepEqual(voc.recalls, []);
  assert.match(voc.notes.join(), /Multi-label/);
});

Deno.test("classDetails names predictions that were not used, and recomputes recall from rows", async () => {
  const loaded = await loadReport([FIXTURE_OUTPUTS]);
  const result = loaded.results.find((r) => r.dataset === "cifar10_mini" && r.model === "model-b")!;
  const samples = loaded.samples.get(result.path)!;
  const stale = classDetails(result, undefined, {
    file: result.predictionsPath!,
    reason: "it has 3 rows, the result scored 200",
  }, undefined);
  assert.equal(stale.confusions, null);
  assert.deepEqual(stale.notes, ["Predictions not used: it has 3 rows, the result scored 200."]);

  const { clipbench: _, ...withoutBlock } = result;
  const fromRows = classDetails(withoutBlock, samples, undefined, undefined);
  assert.equal(fromRows.recallsFrom, "predictions");
  assert.deepEqual(
    fromRows.recalls.map((r) => r.recall),
    result.clipbench!.per_class_recall,
  );
});
