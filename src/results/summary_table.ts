/**
 * The table `cli.ts eval` and `merge` print on stdout: one row per model × dataset result, one
 * column per metric, fitted to {@linkcode SUMMARY_TABLE_WIDTH} columns. Long metric names are
 * abbreviated (`img R@1` for `image_retrieval_recall@1`, `txt R@5`, `bal_acc`) and explained
 * once in a legend below the tables; results of different tasks get a table each. When a table is
 * still too wide, it drops an all-zero `skipped` column, then titles the counts `n` and `skip`,
 * then drops its `task` column (the task becomes the table's title line), then shortens the
 * longest model or dataset names with `…`.
 *
 * @module
 */

import type { TaskResult } from "./result.ts";

/** The widest line the summary prints (a terminal of 100 columns shows it unwrapped). */
export const SUMMARY_TABLE_WIDTH = 100;

/** A metric's column title and, when abbreviated, the legend entry explaining it. */
export function abbreviateMetric(name: string): { title: string; legend?: string } {
  const recall = /^(image|text)_retrieval_recall@(\d+)$/.exec(name);
  if (recall !== null) {
    const side = recall[1] === "image" ? "img" : "txt";
    return {
      title: `${side} R@${recall[2]}`,
      legend: `${side} R@k = ${recall[1]}_retrieval_recall@k`,
    };
  }
  if (name === "mean_per_class_recall") {
    return { title: "bal_acc", legend: "bal_acc = mean_per_class_recall (balanced accuracy)" };
  }
  if (name === "mean_average_precision") {
    return { title: "mAP", legend: "mAP = mean_average_precision" };
  }
  return { title: name };
}

/** How far a table has been compacted to fit. */
interface Compaction {
  readonly dropZeroSkipped: boolean;
  readonly shortCounts: boolean;
  readonly dropTask: boolean;
}

/** A table's cells, before alignment. */
interface Cells {
  readonly header: string[];
  readonly rows: string[][];
  /** Columns aligned left (the rest are numbers, aligned right). */
  readonly left: ReadonlySet<number>;
  /** The model and dataset columns, which may be shortened. */
  readonly names: readonly number[];
}

function tableCells(
  results: readonly TaskResult[],
  existing: ReadonlySet<TaskResult>,
  compaction: Compaction,
): Cells {
  const metricNames = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const marked = results.some((r) => existing.has(r));
  const skipped = !(compaction.dropZeroSkipped && results.every((r) => r.n_skipped === 0));
  const task = !compaction.dropTask;
  const header = [
    "model",
    "dataset",
    ...(task ? ["task"] : []),
    ...metricNames.map((m) => abbreviateMetric(m).title),
    compaction.shortCounts ? "n" : "samples",
    ...(skipped ? [compaction.shortCounts ? "skip" : "skipped"] : []),
    ...(marked ? ["source"] : []),
  ];
  const rows = results.map((r) => [
    r.model,
    r.dataset,
    ...(task ? [r.task] : []),
    ...metricNames.map((m) => {
      const value = r.metrics[m];
      return value === undefined ? "" : value === null ? "n/a" : value.toFixed(4);
    }),
    String(r.n_samples),
    ...(skipped ? [String(r.n_skipped)] : []),
    ...(marked ? [existing.has(r) ? "existing" : "new"] : []),
  ]);
  const left = new Set([0, 1, ...(task ? [2] : []), ...(marked ? [header.length - 1] : [])]);
  return { header, rows, left, names: [0, 1] };
}

const SEPARATOR = "  ";

function widthsOf(cells: Cells): number[] {
  return cells.header.map((h, i) => Math.max(h.length, ...cells.rows.map((row) => row[i].length)));
}

function totalWidth(widths: readonly number[]): number {
  return widths.reduce((sum, w) => sum + w, 0) + SEPARATOR.length * (widths.length - 1);
}

/** `text` cut to `width` characters, its end replaced by `…` when cut. */
function shorten(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** One table fitted to `maxWidth` (see the module documentation), and its legend entries. */
function formatTable(
  results: readonly TaskResult[],
  existing: ReadonlySet<TaskResult>,
  maxWidth: number,
): { text: string; legend: string[] } {
  const steps: Compaction[] = [
    { dropZeroSkipped: false, shortCounts: false, dropTask: false },
    { dropZeroSkipped: true, shortCounts: false, dropTask: false },
    { dropZeroSkipped: true, shortCounts: true, dropTask: false },
    { dropZeroSkipped: true, shortCounts: true, dropTask: true },
  ];
  let step = steps[0];
  let cells = tableCells(results, existing, step);
  for (step of steps) {
    cells = tableCells(results, existing, step);
    if (totalWidth(widthsOf(cells)) <= maxWidth) break;
  }
  const widths = widthsOf(cells);
  // Still too wide: shorten the wider of the model and dataset columns, a character at a time.
  const minimum = 8;
  while (totalWidth(widths) > maxWidth) {
    const widest = cells.names.reduce((a, b) => (widths[a] >= widths[b] ? a : b));
    if (widths[widest] <= Math.max(minimum, cells.header[widest].length)) break;
    widths[widest]--;
  }
  const line = (row: string[]) =>
    row.map((cell, i) => {
      const text = shorten(cell, widths[i]);
      return cells.left.has(i) ? text.padEnd(widths[i]) : text.padStart(widths[i]);
    }).join(SEPARATOR).trimEnd();
  const text = [
    ...(step.dropTask ? [shorten(results[0].task, maxWidth)] : []),
    line(cells.header),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.rows.map(line),
  ].join("\n");
  const legend = step.shortCounts
    ? ["n = samples scored", ...(cells.header.includes("skip") ? ["skip = samples skipped"] : [])]
    : [];
  return { text, legend };
}

/** The legend lines: each abbreviation used, joined with `; ` and wrapped at `maxWidth`. */
function legendLines(entries: readonly string[], maxWidth: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const entry of entries) {
    const next = current === "" ? entry : `${current}; ${entry}`;
    if (current !== "" && next.length > maxWidth) {
      lines.push(`${current};`);
      current = entry;
    } else {
      current = next;
    }
  }
  if (current !== "") lines.push(current);
  return lines;
}

/**
 * The summary of results as text no wider than `maxWidth` (where names leave room): a table per
 * task (in the order the tasks first appear), then a legend of the abbreviated metric names.
 * Results in `existing` (kept by `--skip-existing`) are marked `existing` in a last `source`
 * column, the others `new`.
 */
export function formatSummaryTable(
  results: readonly TaskResult[],
  existing: ReadonlySet<TaskResult> = new Set(),
  maxWidth = SUMMARY_TABLE_WIDTH,
): string {
  if (results.length === 0) return "";
  const tasks = [...new Set(results.map((r) => r.task))];
  const tables = tasks.map((task) =>
    formatTable(results.filter((r) => r.task === task), existing, maxWidth)
  );
  const legend = [
    ...new Set([
      ...results.flatMap((r) => Object.keys(r.metrics)).map((m) => abbreviateMetric(m).legend),
      ...tables.flatMap((table) => table.legend),
    ]),
  ].filter((entry): entry is string => entry !== undefined);
  const body = tables.map((table) => table.text).join("\n\n");
  return [body, ...(legend.length > 0 ? ["", ...legendLines(legend, maxWidth)] : [])]
    .join("\n");
}
