import assert from "node:assert/strict";
import { ChartError, renderChart, scopeSvgIds } from "../../../src/report/html/svg.ts";

Deno.test("renderChart renders a Vega-Lite bar chart to one SVG element with its marks", async () => {
  const { svg, warnings } = await renderChart({
    data: { values: [{ name: "a", value: 1 }, { name: "b", value: 3 }, { name: "c", value: 2 }] },
    mark: "bar",
    encoding: {
      x: { field: "name", type: "nominal" },
      y: { field: "value", type: "quantitative" },
    },
  }, "test");
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(svg.match(/<svg\b/g)?.length, 1);
  const marks = /<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)<\/g>/.exec(svg);
  assert.ok(marks, "a group of rect marks");
  assert.equal(marks[1].match(/<path\b/g)?.length, 3);
  assert.deepEqual(warnings, []);
});

Deno.test("renderChart escapes text from the data inside the SVG", async () => {
  const hostile = `"><script>alert(1)</script>&`;
  const { svg } = await renderChart({
    title: hostile,
    data: { values: [{ name: hostile, value: 1 }] },
    mark: "bar",
    encoding: {
      y: { field: "name", type: "nominal" },
      x: { field: "value", type: "quantitative" },
    },
  }, "hostile");
  assert.doesNotMatch(svg, /<script/);
  assert.match(svg, /&lt;script&gt;/);
});

Deno.test("renderChart reports a spec Vega-Lite refuses as a ChartError naming the chart", async () => {
  await assert.rejects(
    () =>
      renderChart({
        data: { values: [{ a: 1 }] },
        mark: "nonsense" as "bar",
        encoding: { x: { field: "a", type: "quantitative" } },
      }, "broken"),
    (error: unknown) => error instanceof ChartError && /^chart broken: /.test(error.message),
  );
});

Deno.test("renderChart returns Vega-Lite's warnings instead of printing them", async () => {
  const { svg, warnings } = await renderChart({
    data: { values: [{ a: 1 }] },
    mark: "bar",
    encoding: { x: { field: "a", type: "quantitative", scale: { type: "nonsense" as "log" } } },
  }, "odd");
  assert.match(svg, /^<svg /);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /nonsense/);
});

Deno.test("scopeSvgIds prefixes ids and the references to them", () => {
  assert.equal(
    scopeSvgIds(
      '<clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"><use href="#clip1"/></g>',
      "chart3",
    ),
    '<clipPath id="chart3-clip1"><rect/></clipPath><g clip-path="url(#chart3-clip1)">' +
      '<use href="#chart3-clip1"/></g>',
  );
});
