import assert from "node:assert/strict";
import {
  classRecallSpec,
  drawnClasses,
  MAX_CLASSES_DRAWN,
  MODEL_COLOURS,
  speedScatterSpec,
  taskBarSpec,
} from "../../../src/report/html/charts.ts";
import type { BarDatum } from "../../../src/report/html/chart_data.ts";

const bar = (dataset: string, model: string, metric: string, value: number): BarDatum => ({
  dataset,
  axis: dataset,
  model,
  metric,
  value,
  low: value - 2,
  high: value + 2,
  interval: "Wilson",
});

Deno.test("taskBarSpec: classification bars grouped by dataset, a whisker layer, fixed colours", () => {
  const bars = [
    bar("d1", "m1", "acc1", 50),
    bar("d1", "m2", "acc1", 60),
    bar("d2", "m1", "acc1", 70),
  ];
  const spec = taskBarSpec("zeroshot_classification", bars, ["m1", "m2", "m3"], ["acc1"]);
  const json = JSON.parse(JSON.stringify(spec));
  assert.equal(json.data.values.length, 3);
  assert.equal(json.facet, undefined);
  const [bars_, whiskers] = json.layer;
  assert.equal(bars_.mark.type, "bar");
  assert.equal(bars_.encoding.x.field, "axis");
  assert.deepEqual(bars_.encoding.x.sort, ["d1", "d2"]);
  assert.equal(bars_.encoding.xOffset.field, "model");
  assert.deepEqual(bars_.encoding.color.scale.range, MODEL_COLOURS.slice(0, 3));
  assert.equal(whiskers.mark.type, "rule");
  assert.deepEqual([whiskers.encoding.y.field, whiskers.encoding.y2.field], ["low", "high"]);
});

Deno.test("taskBarSpec: retrieval has one panel per recall, in the table's order", () => {
  const labels = ["image R@1", "text R@1"];
  const spec = taskBarSpec(
    "zeroshot_retrieval",
    [bar("f", "m1", "text R@1", 40), bar("f", "m1", "image R@1", 30)],
    ["m1"],
    labels,
  );
  const json = JSON.parse(JSON.stringify(spec));
  assert.equal(json.facet.field, "metric");
  assert.deepEqual(json.facet.sort, labels);
  assert.equal(json.spec.layer.length, 2);
});

Deno.test("speedScatterSpec: images/s on a log x axis, model colours, dataset shapes", () => {
  const spec = JSON.parse(JSON.stringify(speedScatterSpec([{
    model: "m",
    dataset: "d",
    task: "zeroshot_classification",
    metric: "acc1",
    value: 75,
    imagesPerSecond: 300,
  }], ["m"])));
  assert.equal(spec.encoding.x.field, "imagesPerSecond");
  assert.equal(spec.encoding.x.scale.type, "log");
  assert.equal(spec.encoding.shape.field, "dataset");
  assert.deepEqual(spec.encoding.color.scale.domain, ["m"]);
});

Deno.test("drawnClasses: every class with a recall in order, or the lowest when too many", () => {
  const few = [0.5, null, 0.25].map((recall, index) => ({ index, name: `c${index}`, recall }));
  assert.deepEqual(drawnClasses(few).map((c) => c.index), [0, 2]);
  const many = Array.from(
    { length: MAX_CLASSES_DRAWN + 10 },
    (_, index) => ({ index, name: `c${index}`, recall: ((index * 37) % 50) / 50 }),
  );
  const drawn = drawnClasses(many);
  assert.equal(drawn.length, MAX_CLASSES_DRAWN);
  const cut = drawn.at(-1)!.recall!;
  assert.ok(drawn.every((c, i) => i === 0 || drawn[i - 1].recall! <= c.recall!));
  const left = many.filter((c) => !drawn.includes(c));
  assert.ok(left.every((c) => c.recall! >= cut));
});

Deno.test("classRecallSpec: recalls in %, classes in the order drawn", () => {
  const drawn = [{ index: 3, name: "b", recall: 0.25 }, { index: 1, name: "a", recall: 0.5 }];
  const spec = JSON.parse(JSON.stringify(classRecallSpec("t", drawn, "#123456")));
  assert.deepEqual(spec.data.values, [
    { index: 3, name: "b", recall: 25 },
    { index: 1, name: "a", recall: 50 },
  ]);
  assert.deepEqual(spec.encoding.y.sort, ["b", "a"]);
  assert.equal(spec.mark.color, "#123456");
});
