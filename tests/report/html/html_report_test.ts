import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { loadReport, runReport } from "../../../src/report/report_command.ts";
import { htmlReport, writeHtmlReport } from "../../../src/report/html/html_report.ts";
import { UsageError } from "../../../src/errors.ts";
import { FIXTURE_OUTPUTS, writeFixture } from "./fixture_generator.ts";

const loaded = await loadReport([FIXTURE_OUTPUTS]);
const page = await htmlReport(loaded, { generated: "2025-01-15T12:00:00.000Z" });

Deno.test("the committed fixture is what its generator writes", async () => {
  const folder = await Deno.makeTempDir({ prefix: "clipbench-report-html-fixture-" });
  try {
    const written = await writeFixture(folder);
    const committed: string[] = [];
    const walk = async (dir: string) => {
      for await (const entry of Deno.readDir(dir)) {
        const path = join(dir, entry.name);
        if (entry.isDirectory) await walk(path);
        else committed.push(relative(FIXTURE_OUTPUTS, path));
      }
    };
    await walk(FIXTURE_OUTPUTS);
    assert.deepEqual(committed.sort(), written.map((path) => relative(folder, path)));
    for (const path of committed) {
      assert.equal(
        await Deno.readTextFile(join(folder, path)),
        await Deno.readTextFile(join(FIXTURE_OUTPUTS, path)),
        path,
      );
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("the page has every chart: bars per task, the scatter, per-class recall", () => {
  assert.deepEqual(page.charts, [
    "bars:zeroshot_classification",
    "bars:zeroshot_retrieval",
    "speed",
    "class-recall:model-a:cifar10_mini",
    "class-recall:model-b:cifar10_mini",
    "class-recall:model-a:dtd_mini",
    "class-recall:model-b:eurosat_mini",
    "class-recall:model-a:pets_mini",
    "class-recall:model-b:pets_mini",
  ]);
  const figures = [...page.html.matchAll(/<figure class="chart" data-chart="([^"]+)"><svg /g)];
  assert.deepEqual(figures.map((m) => m[1]), page.charts);
  assert.deepEqual(page.warnings, []);
});

Deno.test("the page is self-contained: no script, no external resource", () => {
  const { html } = page;
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|@font-face/i);
  assert.doesNotMatch(html, /\bsrc=/i);
  assert.doesNotMatch(html, /href="(?!#)/);
  const urls = [...html.matchAll(/https?:\/\/[^"'\s)]+/g)].map((m) => m[0]);
  assert.deepEqual(
    [...new Set(urls)].sort(),
    ["http://www.w3.org/1999/xlink", "http://www.w3.org/2000/svg"],
    "only the SVG namespaces",
  );
});

Deno.test("the page escapes text from the results", () => {
  assert.ok(!page.html.includes("<au lait>"));
  assert.match(page.html, /<td class="left">café &lt;au lait&gt; &amp; &#39;crème&#39;<\/td>/);
});

Deno.test("the page holds the Markdown report's tables, marks and notes", () => {
  const { html } = page;
  assert.match(
    html,
    /<th>model-a<\/th><td>74\.50 <span class="ci">\[68\.04, 80\.04\]<\/span><\/td>/,
  );
  assert.match(
    html,
    /76\.67 <span class="ci">\[68\.34, 83\.33\]<\/span> <span class="mark"[^>]*>†/,
  );
  assert.match(
    html,
    /† model-b on pets_mini: settings differ: limit = 60 \(others: null\)/,
  );
  assert.match(html, /‡ model-a on voc_mini, mAP: no interval/);
  assert.match(html, /<th>mean over shared \(datasets\)<\/th>/);
  assert.match(html, /Seeded percentile bootstrap: 1000 resamples, seed 0/);
  assert.match(html, /model-a \(A\) vs model-b \(B\)/);
  assert.match(html, /generated 2025-01-15T12:00:00\.000Z/);
});

Deno.test("the page explains what is missing per result", () => {
  const { html } = page;
  const section = (id: string) => html.slice(html.indexOf(`id="class-${id}"`)).split("<h3")[0];
  assert.match(section("dtd_mini-model-a"), /run eval with --save-predictions/);
  assert.match(section("dtd_mini-model-a"), /Class names from the result file/);
  assert.match(section("eurosat_mini-model-b"), /classes are numbered/);
  assert.match(section("voc_mini-model-a"), /Multi-label dataset/);
  assert.match(section("cifar10_mini-model-a"), /Most frequent confusions/);
});

Deno.test("report --html writes the page beside the usual output", async () => {
  const folder = await Deno.makeTempDir({ prefix: "clipbench-report-html-" });
  try {
    const file = join(folder, "report.html");
    const markdown = join(folder, "report.md");
    assert.equal(await runReport([FIXTURE_OUTPUTS, "--output", markdown, "--html", file]), 0);
    const html = await Deno.readTextFile(file);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal(html.match(/<figure class="chart"/g)?.length, page.charts.length);
    assert.match(await Deno.readTextFile(markdown), /^# clipbench report/);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("writeHtmlReport names --html and the path it cannot write", async () => {
  const folder = await Deno.makeTempDir({ prefix: "clipbench-report-html-" });
  const missing = join(folder, "no", "such", "report.html");
  try {
    await assert.rejects(
      () => writeHtmlReport(loaded, missing),
      (error: unknown) =>
        error instanceof UsageError && error.message.startsWith(`--html ${missing}: `),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
