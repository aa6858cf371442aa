/**
 * The HTML report in a real browser: `cli.ts report --html` on the committed fixture
 * (tests/data/report_html/outputs), opened in headless Chromium (./_chromium.ts). Checks that
 * every chart rendered — one `<svg>` per chart figure, with the expected number of mark elements
 * (bars, whiskers, points) drawn with a non-empty size — that the page threw no exception and
 * logged no console error, and that it requested nothing but its own file; then saves a
 * full-page screenshot into the test's temporary output folder and prints its path.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadReport } from "../../../src/report/report_command.ts";
import { barData, speedData } from "../../../src/report/html/chart_data.ts";
import { drawnClasses } from "../../../src/report/html/charts.ts";
import { loadClassDetails } from "../../../src/report/html/class_details.ts";
import { browserTest, type CdpEvent, HeadlessChromium } from "./_chromium.ts";
import { FIXTURE_OUTPUTS } from "./fixture_generator.ts";

const CLI = fileURLToPath(new URL("../../../cli.ts", import.meta.url));

/** Per chart name, how many mark elements of each Vega mark type it must draw. */
async function expectedMarks(): Promise<Map<string, Record<string, number>>> {
  const loaded = await loadReport([FIXTURE_OUTPUTS]);
  const expected = new Map<string, Record<string, number>>();
  for (const table of loaded.report.tables) {
    const bars = barData(table, loaded.report.bootstrap);
    expected.set(`bars:${table.task}`, {
      rect: bars.length,
      rule: bars.filter((bar) => bar.low !== null).length,
    });
  }
  expected.set("speed", { symbol: speedData(loaded.report.tables).points.length });
  const details = await loadClassDetails(
    loaded.results,
    loaded.samples,
    loaded.report.bootstrap?.ignored ?? [],
  );
  for (const detail of details) {
    const drawn = drawnClasses(detail.recalls).length;
    if (drawn > 0) expected.set(`class-recall:${detail.model}:${detail.dataset}`, { rect: drawn });
  }
  return expected;
}

/** What the page tells about its charts (evaluated in the browser). */
const INSPECT_CHARTS = `(() => [...document.querySelectorAll("figure.chart")].map((figure) => {
  const svgs = figure.querySelectorAll("svg");
  const box = svgs[0]?.getBoundingClientRect();
  const marks = {};
  const drawn = {};
  for (const group of figure.querySelectorAll("g.role-mark")) {
    const type = [...group.classList].find((c) => c.startsWith("mark-")).slice(5);
    for (const element of group.children) {
      marks[type] = (marks[type] ?? 0) + 1;
      const size = element.getBoundingClientRect();
      if (size.width > 0 || size.height > 0) drawn[type] = (drawn[type] ?? 0) + 1;
    }
  }
  return {
    name: figure.dataset.chart,
    svgs: svgs.length,
    width: box?.width ?? 0,
    height: box?.height ?? 0,
    marks,
    drawn,
  };
}))()`;

interface ChartInspection {
  name: string;
  svgs: number;
  width: number;
  height: number;
  marks: Record<string, number>;
  drawn: Record<string, number>;
}

function describe(event: CdpEvent): string {
  return JSON.stringify(event.params).slice(0, 400);
}

browserTest("report --html renders every chart, offline, in headless Chromium", async (path) => {
  const output = await Deno.makeTempDir({ prefix: "clipbench-html-report-test-" });
  const page = join(output, "report.html");
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "report", FIXTURE_OUTPUTS, "--html", page],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  assert.match(new TextDecoder().decode(run.stdout), /^# clipbench report/);
  const expected = await expectedMarks();

  const browser = await HeadlessChromium.launch(path);
  try {
    const session = await browser.newPage();
    const inSession = (method: string) => (event: CdpEvent) =>
      event.sessionId === session && event.method === method;
    for (const domain of ["Page", "Runtime", "Log", "Network"]) {
      await browser.send(`${domain}.enable`, {}, session);
    }
    await browser.send("Emulation.setDeviceMetricsOverride", {
      width: 1280,
      height: 900,
      deviceScaleFactor: 1,
      mobile: false,
    }, session);
    const url = pathToFileURL(page).href;
    const navigation = await browser.send("Page.navigate", { url }, session);
    assert.equal(navigation.errorText, undefined, `navigation: ${navigation.errorText}`);
    await browser.waitFor(inSession("Page.loadEventFired"), "the page's load event");

    const evaluation = await browser.send<{ result: { value: ChartInspection[] } }>(
      "Runtime.evaluate",
      { expression: INSPECT_CHARTS, returnByValue: true },
      session,
    );
    const charts = evaluation.result.value;
    assert.deepEqual(charts.map((c) => c.name), [...expected.keys()]);
    for (const chart of charts) {
      assert.equal(chart.svgs, 1, `${chart.name}: one <svg>`);
      assert.ok(chart.width > 0 && chart.height > 0, `${chart.name}: the <svg> has a size`);
      assert.deepEqual(chart.marks, expected.get(chart.name), `${chart.name}: its marks`);
      assert.deepEqual(chart.drawn, chart.marks, `${chart.name}: every mark is drawn`);
    }

    const metrics = await browser.send<{ cssContentSize: { width: number; height: number } }>(
      "Page.getLayoutMetrics",
      {},
      session,
    );
    const { width, height } = metrics.cssContentSize;
    const shot = await browser.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: Math.ceil(width), height: Math.ceil(height), scale: 1 },
    }, session);
    const png = Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const screenshot = join(output, "report.png");
    await Deno.writeFile(screenshot, png);
    console.log(`screenshot of the HTML report: ${screenshot}`);

    const ofPage = browser.events.filter((e) => e.sessionId === session);
    const exceptions = ofPage.filter((e) => e.method === "Runtime.exceptionThrown");
    assert.deepEqual(exceptions.map(describe), [], "exceptions thrown");
    const consoleErrors = ofPage.filter((e) =>
      (e.method === "Runtime.consoleAPICalled" &&
        ["error", "assert", "warning"].includes(String(e.params.type))) ||
      (e.method === "Log.entryAdded" &&
        ["error", "warning"].includes(String((e.params.entry as { level?: string }).level)))
    );
    assert.deepEqual(consoleErrors.map(describe), [], "console errors");
    const requests = ofPage
      .filter((e) => e.method === "Network.requestWillBeSent")
      .map((e) => String((e.params.request as { url?: string }).url));
    assert.deepEqual(requests, [url], "the page requests only its own file");
  } finally {
    await browser.close();
  }
});
