import assert from "node:assert/strict";
import { loadReport } from "../../../src/report/report_command.ts";
import {
  comparisonHtml,
  pairedOf,
  pairwiseComparisons,
} from "../../../src/report/html/comparison_section.ts";
import { formatPValue } from "../../../src/report/compare.ts";
import { FIXTURE_OUTPUTS } from "./fixture_generator.ts";

const loaded = await loadReport([FIXTURE_OUTPUTS]);

Deno.test("pairwiseComparisons compares every two models on their shared datasets", () => {
  const comparisons = pairwiseComparisons(loaded.results);
  assert.equal(comparisons.length, 1);
  const [comparison] = comparisons;
  assert.deepEqual([comparison.a, comparison.b], ["model-a", "model-b"]);
  assert.deepEqual(
    comparison.datasets.map((d) => d.dataset),
    ["cifar10_mini", "flickr_mini", "pets_mini", "voc_mini"],
  );
  assert.deepEqual([comparison.onlyA, comparison.onlyB], [["dtd_mini"], ["eurosat_mini"]]);
  // Models sharing nothing are not compared.
  const apart = loaded.results.filter((r) =>
    r.dataset === "dtd_mini" || r.dataset === "eurosat_mini"
  );
  assert.deepEqual(pairwiseComparisons(apart), []);
});

Deno.test("comparisonHtml: one row per compared metric, differences signed, notes", () => {
  const [comparison] = pairwiseComparisons(loaded.results);
  const html = comparisonHtml(comparison);
  const rows = html.split("<tbody>")[1].match(/<tr><th>/g)?.length;
  assert.equal(rows, comparison.datasets.reduce((sum, d) => sum + d.metrics.length, 0));
  assert.match(html, /<th>cifar10_mini<\/th><td>acc1<\/td><td>74\.50 .*?<td>\+8\.00<\/td>/);
  assert.match(html, /only model-a has: dtd_mini/);
  assert.match(html, /pets_mini: settings differ: model-b: limit = 60/);
  const paired = comparison.datasets.some((d) => d.metrics.some((m) => pairedOf(m)));
  assert.equal(html.includes("paired bootstrap 95 %"), paired);
});

Deno.test("formatPValue: three significant digits, scientific below 0.001", () => {
  assert.equal(formatPValue(0.035156), "0.0352");
  assert.equal(formatPValue(1), "1.00");
  assert.equal(formatPValue(0.001), "0.00100");
  assert.equal(formatPValue(3.14159e-7), "3.14e-7");
});
