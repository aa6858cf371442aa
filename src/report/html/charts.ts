/**
 * The Vega-Lite specs of the HTML report's charts (rendered to SVG by ./svg.ts):
 *
 * - {@linkcode taskBarSpec}: per task, grouped bars — datasets along the x axis, the models side
 *   by side within each, values in % with a whisker for each bar's 95 % interval; retrieval has
 *   one panel per recall;
 * - {@linkcode speedScatterSpec}: each model × dataset's main metric against images per second
 *   (log scale), coloured by model, shaped by dataset;
 * - {@linkcode classRecallSpec}: one result's recall per class, as horizontal bars.
 *
 * The data is inlined in each spec; nothing is loaded. Colours come from one fixed palette keyed
 * by the sorted model names, so a model has the same colour in every chart.
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import type { TaskName } from "../../results/result.ts";
import type { BarDatum, SpeedDatum } from "./chart_data.ts";
import type { ClassRecall } from "./class_details.ts";

/** The model colours, in the order of the sorted model names (then repeated). */
export const MODEL_COLOURS: readonly string[] = [
  "#4c78a8",
  "#f58518",
  "#54a24b",
  "#e45756",
  "#72b7b2",
  "#b279a2",
  "#eeca3b",
  "#9d755d",
];

/** Classes drawn in a per-class chart at most (the lowest recalls when there are more). */
export const MAX_CLASSES_DRAWN = 40;

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

const CONFIG = {
  font: FONT,
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  title: { fontSize: 14, anchor: "start" as const },
};

function modelScale(models: readonly string[]) {
  return {
    domain: [...models],
    range: models.map((_, i) => MODEL_COLOURS[i % MODEL_COLOURS.length]),
  };
}

const TITLES: Readonly<Record<TaskName, string>> = {
  zeroshot_classification: "Zero-shot classification: acc1 (mAP on multi-label datasets), %",
  zeroshot_retrieval: "Zero-shot retrieval: recall@k, %",
};

/**
 * The grouped bar chart of one task.
 *
 * @param models Every model of the report, sorted (for the colours).
 * @param labels The task's metric labels in order (retrieval: one panel each).
 */
export function taskBarSpec(
  task: TaskName,
  bars: readonly BarDatum[],
  models: readonly string[],
  labels: readonly string[],
): TopLevelSpec {
  const shown = [...new Set(bars.map((bar) => bar.model))];
  const axes = [...new Set(bars.map((bar) => bar.axis))];
  const step = Math.max(36, 16 * shown.length + 8);
  const x = {
    field: "axis",
    type: "nominal" as const,
    title: "dataset",
    sort: axes,
    axis: { labelAngle: axes.length > 4 ? -30 : 0 },
  };
  const xOffset = { field: "model", type: "nominal" as const, sort: [...models] };
  const layer = [
    {
      mark: { type: "bar" as const },
      encoding: {
        x,
        xOffset,
        y: {
          field: "value",
          type: "quantitative" as const,
          title: "%",
          scale: { domain: [0, 100] },
        },
        color: {
          field: "model",
          type: "nominal" as const,
          scale: modelScale(models),
          legend: { title: "model", orient: "bottom" as const },
        },
      },
    },
    {
      transform: [{ filter: "isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: "rule" as const, color: "#222", strokeWidth: 1.5 },
      encoding: {
        x,
        xOffset,
        y: { field: "low", type: "quantitative" as const },
        y2: { field: "high" },
      },
    },
  ];
  const description = `${TITLES[task]} per dataset and model, with 95 % interval whiskers`;
  if (task === "zeroshot_classification") {
    return {
      title: TITLES[task],
      description,
      config: CONFIG,
      data: { values: bars.map((bar) => ({ ...bar })) },
      width: { step },
      height: 260,
      layer,
    };
  }
  return {
    title: TITLES[task],
    description,
    config: CONFIG,
    data: { values: bars.map((bar) => ({ ...bar })) },
    facet: { field: "metric", type: "nominal", sort: [...labels], title: null },
    columns: 3,
    spec: { width: { step }, height: 180, layer },
  };
}

/** The scatter of the main metric against images per second. */
export function speedScatterSpec(
  points: readonly SpeedDatum[],
  models: readonly string[],
): TopLevelSpec {
  return {
    title: "Main metric against throughput (acc1, mAP or image R@1 against images/s)",
    description: "Each model and dataset's main metric in % against its images per second",
    config: CONFIG,
    data: { values: points.map((point) => ({ ...point })) },
    width: 520,
    height: 300,
    mark: { type: "point", filled: true, size: 90, opacity: 0.85 },
    encoding: {
      x: {
        field: "imagesPerSecond",
        type: "quantitative",
        title: "images/s (log scale)",
        scale: { type: "log", nice: false, padding: 16 },
      },
      y: { field: "value", type: "quantitative", title: "main metric, %", scale: { zero: false } },
      color: {
        field: "model",
        type: "nominal",
        scale: modelScale(models),
        legend: { title: "model" },
      },
      shape: { field: "dataset", type: "nominal", legend: { title: "dataset" } },
    },
  };
}

/**
 * The classes drawn for a result: all of them in class order when there are at most
 * {@linkcode MAX_CLASSES_DRAWN} with a recall, else the `MAX_CLASSES_DRAWN` lowest recalls (lowest
 * first). Classes without samples (recall `null`) are not drawn.
 */
export function drawnClasses(recalls: readonly ClassRecall[]): ClassRecall[] {
  const known = recalls.filter((r) => r.recall !== null);
  if (known.length <= MAX_CLASSES_DRAWN) return known;
  return [...known]
    .sort((a, b) => a.recall! - b.recall! || a.index - b.index)
    .slice(0, MAX_CLASSES_DRAWN);
}

/** The per-class recall chart of one result, for the classes `drawn`. */
export function classRecallSpec(
  title: string,
  drawn: readonly ClassRecall[],
  colour: string,
): TopLevelSpec {
  return {
    title,
    description: `${title}: recall per class in %`,
    config: CONFIG,
    data: {
      values: drawn.map((r) => ({ index: r.index, name: r.name, recall: 100 * r.recall! })),
    },
    width: 300,
    height: { step: 16 },
    mark: { type: "bar", color: colour },
    encoding: {
      y: { field: "name", type: "nominal", title: null, sort: drawn.map((r) => r.name) },
      x: { field: "recall", type: "quantitative", title: "recall, %", scale: { domain: [0, 100] } },
    },
  };
}
