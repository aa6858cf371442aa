/**
 * `report --html FILE`: the report as one self-contained HTML page — nothing is fetched when it
 * is opened (inline CSS, charts as inline SVG, no script, no font file):
 *
 * 1. per task, the table of the Markdown report (values in %, 95 % Wilson intervals, † and ‡
 *    notes) and a grouped bar chart with 95 % interval whiskers (bootstrap where the predictions
 *    give one, else Wilson);
 * 2. a scatter of each result's main metric against images per second;
 * 3. the bootstrap intervals;
 * 4. for every two models sharing datasets, their comparison (src/report/compare.ts);
 * 5. per classification result, a per-class recall chart and the most frequent confusions.
 *
 * Charts are Vega-Lite specs (./charts.ts) rendered to SVG at report time (./svg.ts). Every text
 * from the results is escaped (./escape.ts). Each chart sits in a `<figure class="chart">` whose
 * `data-chart` names it.
 *
 * @module
 */

import { UsageError } from "../../errors.ts";
import { VERSION } from "../../version.ts";
import type { Comparison } from "../compare.ts";
import type { Report } from "../report_table.ts";
import type { ReportedResult } from "../result_files.ts";
import type { ResultSamples } from "../result_samples.ts";
import { barData, speedData } from "./chart_data.ts";
import {
  classRecallSpec,
  drawnClasses,
  MAX_CLASSES_DRAWN,
  MODEL_COLOURS,
  speedScatterSpec,
  taskBarSpec,
} from "./charts.ts";
import { type ClassDetails, loadClassDetails } from "./class_details.ts";
import { comparisonHtml, pairedOf, pairwiseComparisons } from "./comparison_section.ts";
import { escapeHtml } from "./escape.ts";
import { REPORT_CSS } from "./style.ts";
import { renderChart } from "./svg.ts";
import { bootstrapHtml, notesHtml, TABLE_TITLES, taskTableHtml } from "./tables.ts";
import type { TopLevelSpec } from "vega-lite";

/** What the page is made from. */
export interface HtmlReportInput {
  /** The report (tables and bootstrap section). */
  readonly report: Report;
  /** Per classification result, its per-class figures. */
  readonly classDetails: readonly ClassDetails[];
  /** The pairwise comparisons. */
  readonly comparisons: readonly Comparison[];
  /** When the page was made (ISO 8601; default: now). */
  readonly generated?: string;
}

/** A rendered page. */
export interface HtmlReport {
  /** The page. */
  readonly html: string;
  /** The `data-chart` name of every chart in it, in page order. */
  readonly charts: readonly string[];
  /** Vega's warnings while rendering, each prefixed by its chart's name. */
  readonly warnings: readonly string[];
}

/** The loaded report `report` gives (src/report/report_command.ts `loadReport`). */
export interface LoadedReport {
  /** The report. */
  readonly report: Report;
  /** Every result. */
  readonly results: readonly ReportedResult[];
  /** By result file, the checked predictions. */
  readonly samples: ReadonlyMap<string, ResultSamples>;
}

/** Collects charts rendered for one page. */
class ChartSet {
  readonly names: string[] = [];
  readonly warnings: string[] = [];

  /** Renders `spec` as the figure `name`, with a caption. */
  async figure(name: string, spec: TopLevelSpec, caption?: string): Promise<string> {
    const prefix = `chart${this.names.length + 1}`;
    const { svg, warnings } = await renderChart(spec, prefix);
    this.names.push(name);
    this.warnings.push(...warnings.map((warning) => `${name}: ${warning}`));
    return `<figure class="chart" data-chart="${escapeHtml(name)}">${svg}${
      caption === undefined ? "" : `<figcaption>${escapeHtml(caption)}</figcaption>`
    }</figure>`;
  }
}

const anchor = (text: string) => text.replace(/[^A-Za-z0-9_-]+/g, "-");

function percentText(value: number): string {
  return `${(100 * value).toFixed(1)} %`;
}

async function classSection(
  details: ClassDetails,
  models: readonly string[],
  charts: ChartSet,
): Promise<string> {
  const title = `${details.dataset} — ${details.model}`;
  const parts = [
    `<h3 id="class-${anchor(`${details.dataset}-${details.model}`)}">${escapeHtml(title)}</h3>`,
  ];
  const notes = [...details.notes];
  const row: string[] = [];
  const drawn = drawnClasses(details.recalls);
  if (drawn.length > 0) {
    const known = details.recalls.filter((r) => r.recall !== null).length;
    const colour = MODEL_COLOURS[Math.max(0, models.indexOf(details.model)) % MODEL_COLOURS.length];
    const caption = [
      drawn.length < known
        ? `The ${MAX_CLASSES_DRAWN} classes with the lowest recall of ${known}.`
        : `All ${known} classes.`,
      details.recalls.length > known
        ? `${details.recalls.length - known} class(es) without samples not drawn.`
        : "",
      details.namesFrom === "predictions"
        ? "Class names from the predictions file."
        : details.namesFrom === "result"
        ? "Class names from the result file."
        : "Class names not recorded: classes are numbered.",
    ].filter((s) => s !== "").join(" ");
    row.push(
      await charts.figure(
        `class-recall:${details.model}:${details.dataset}`,
        classRecallSpec(`Per-class recall: ${title}`, drawn, colour),
        caption,
      ),
    );
  }
  if (details.confusions !== null) {
    if (details.confusions.length === 0) {
      notes.push("No confusions: every sample's top class is its label.");
    } else {
      const rows = details.confusions.map((c) =>
        `<tr><td class="left">${escapeHtml(c.trueName)}</td><td class="left">${
          escapeHtml(c.predictedName)
        }</td><td>${c.count}</td><td>${percentText(c.share)}</td></tr>`
      );
      row.push(
        `<div><table><thead><tr><th>true class</th><th>predicted (top 1)</th><th>samples</th>` +
          `<th>share of the true class</th></tr></thead><tbody>${
            rows.join("")
          }</tbody></table><p class="meta">Most frequent confusions, from the predictions.</p></div>`,
      );
    }
  }
  if (row.length > 0) parts.push(`<div class="class-row">${row.join("\n")}</div>`);
  parts.push(notesHtml(notes));
  return parts.join("\n");
}

/**
 * Renders the page.
 *
 * @throws {ChartError} when a chart cannot be rendered.
 */
export async function renderHtmlReport(input: HtmlReportInput): Promise<HtmlReport> {
  const { report } = input;
  const charts = new ChartSet();
  const models = [...new Set(report.tables.flatMap((t) => t.models))].sort();
  const toc: string[] = [];
  const body: string[] = [];
  const section = (id: string, title: string) => {
    toc.push(`<li><a href="#${id}">${escapeHtml(title)}</a></li>`);
    body.push(`<h2 id="${id}">${escapeHtml(title)}</h2>`);
  };

  for (const table of report.tables) {
    section(table.task, TABLE_TITLES[table.task]);
    body.push(taskTableHtml(table));
    const bars = barData(table, report.bootstrap);
    if (bars.length > 0) {
      const kinds = new Set(bars.map((b) => b.interval));
      const caption = kinds.has("bootstrap")
        ? "Whiskers: 95 % bootstrap interval where predictions exist, else 95 % Wilson interval."
        : "Whiskers: 95 % Wilson score interval from the counts.";
      body.push(
        await charts.figure(
          `bars:${table.task}`,
          taskBarSpec(table.task, bars, models, table.labels),
          kinds.has("none") ? `${caption} Bars without a whisker have no interval.` : caption,
        ),
      );
    }
  }

  section("throughput", "Accuracy against throughput");
  const { points, untimed } = speedData(report.tables);
  if (points.length > 0) {
    body.push(await charts.figure("speed", speedScatterSpec(points, models)));
  } else {
    body.push("<p>No result records its images per second (clipbench.time.images_per_s).</p>");
  }
  body.push(notesHtml(untimed.map((u) => `${u.model} on ${u.dataset} not drawn: ${u.reason}`)));

  section("bootstrap", "Bootstrap intervals");
  body.push(bootstrapHtml(report.bootstrap));

  if (input.comparisons.length > 0) {
    section("comparisons", "Pairwise comparisons");
    const paired = input.comparisons.some((c) =>
      c.datasets.some((d) => d.metrics.some((m) => pairedOf(m) !== undefined))
    );
    body.push(
      `<p>Per shared dataset: the main metric of each model (acc1, mAP, or image and text recall ` +
        `at the smallest k) in %, with 95 % Wilson intervals, and the difference A − B${
          paired ? ", with the paired test where both have predictions" : ""
        }.</p>`,
    );
    for (const comparison of input.comparisons) body.push(comparisonHtml(comparison));
  }

  if (input.classDetails.length > 0) {
    section("classes", "Per-class recall and confusions");
    for (const details of input.classDetails) {
      body.push(await classSection(details, models, charts));
    }
  }

  const generated = input.generated ?? new Date().toISOString();
  const results = report.tables.reduce((sum, t) => sum + t.cells.length, 0);
  const warnings = charts.warnings.length === 0
    ? ""
    : `<p>Chart warnings:</p>${notesHtml(charts.warnings)}`;
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="clipbench ${escapeHtml(VERSION)}">
<title>clipbench report</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>clipbench report</h1>
<p class="meta">${results} result(s) of ${models.length} model(s); generated ${
    escapeHtml(generated)
  } by clipbench ${escapeHtml(VERSION)}. Values in %, with 95 % Wilson score intervals from ` +
    `counts in brackets; means are over the datasets a model has (their number in parentheses).</p>
<nav><ul>${toc.join("")}</ul></nav>
${body.join("\n")}
<footer>${warnings}<p>Charts: Vega-Lite rendered to SVG when the report was made.</p></footer>
</main>
</body>
</html>
`;
  return { html, charts: charts.names, warnings: charts.warnings };
}

/** The page of a loaded report: adds the per-class figures and the pairwise comparisons. */
export async function htmlReport(
  loaded: LoadedReport,
  options: { generated?: string } = {},
): Promise<HtmlReport> {
  const classDetails = await loadClassDetails(
    loaded.results,
    loaded.samples,
    loaded.report.bootstrap?.ignored ?? [],
  );
  return await renderHtmlReport({
    report: loaded.report,
    classDetails,
    comparisons: pairwiseComparisons(loaded.results, loaded.samples, {
      seed: loaded.report.bootstrap?.seed,
      resamples: loaded.report.bootstrap?.resamples,
    }),
    ...options,
  });
}

/**
 * Writes the page of a loaded report to `path` (`report --html`).
 *
 * @throws {UsageError} naming `--html` and the path when it cannot be written.
 */
export async function writeHtmlReport(loaded: LoadedReport, path: string): Promise<HtmlReport> {
  const page = await htmlReport(loaded);
  try {
    await Deno.writeTextFile(path, page.html);
  } catch (error) {
    throw new UsageError(`--html ${path}: ${(error as Error).message}`, { cause: error });
  }
  return page;
}
