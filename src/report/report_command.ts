/**
 * `cli.ts report [DIR|FILE...]`: the model × dataset tables of every result file found, as
 * Markdown (default), CSV or JSON, on stdout or into `--output`.
 *
 * @module
 */

import { formatCsv } from "./csv.ts";
import {
  bootstrapFlags,
  parseFlags,
  parseFormat,
  type ReportFormat,
  writeOutput,
} from "./flags.ts";
import { formatJson } from "./json.ts";
import { formatMarkdown } from "./markdown.ts";
import { buildReport, type Report } from "./report_table.ts";
import { loadResults, type ReportedResult } from "./result_files.ts";
import { bootstrapSection, type BootstrapSettings } from "./bootstrap_section.ts";
import { loadResultSamples, type ResultSamples } from "./result_samples.ts";
import { writeHtmlReport } from "./html/html_report.ts";

/** The help text of `report`. */
export const REPORT_HELP = `Usage: deno run -A cli.ts report [DIR|FILE...] [flags]

Reads every result file (*_zeroshot_classification.json, *_zeroshot_retrieval.json; partial
results of sharded runs are not read) under each DIR, recursively, and each FILE named (default:
outputs), and prints one table per task: the main metric per model and dataset (acc1, or mAP for
multi-label datasets; image and text recall@1/5/10 for retrieval) in %, with 95 % Wilson score
intervals from the counts, and each model's mean over the datasets it has (and over the datasets
all models share, when they differ). Results whose settings (limit, split, dtype, prompts, ...)
differ from the others of their dataset are marked.

Where a result has per-sample predictions beside it (eval --save-predictions), a further table
gives seeded percentile-bootstrap 95 % intervals of each of its metrics (acc1, acc5, mean
per-class recall; mAP; recalls), with the seed printed; predictions that do not match their
result are named and not used.

Flags:
  --format FORMAT   markdown (default), csv (CLIP_benchmark build's columns: dataset, model, task,
                    then each metric) or json
  --output FILE     write to FILE instead of stdout
  --html FILE       also write a self-contained HTML page to FILE: the tables, bar charts with
                    95 % interval whiskers, accuracy against images/s, pairwise comparisons,
                    per-class recall and confusions (charts as inline SVG; opens offline)
  --seed N          seed of the bootstrap resampling (default 0)
  --resamples N     bootstrap resamples per interval (default 1000)
  -h, --help        show this help
`;

const FORMATS: readonly ReportFormat[] = ["markdown", "csv", "json"];

/**
 * The report of the results under `paths`, with bootstrap intervals for those with predictions
 * beside them, and what it was built from.
 */
export async function loadReport(
  paths: readonly string[],
  settings: BootstrapSettings = {},
): Promise<{ report: Report; results: ReportedResult[]; samples: Map<string, ResultSamples> }> {
  const results = await loadResults(paths);
  const { samples, ignored } = await loadResultSamples(results);
  const bootstrap = samples.size > 0 || ignored.length > 0
    ? bootstrapSection([...samples.values()], ignored, settings)
    : undefined;
  return { report: buildReport(results, bootstrap), results, samples };
}

/** Formats a report of the results under `paths`. */
export async function reportText(
  paths: readonly string[],
  format: ReportFormat,
  settings: BootstrapSettings = {},
): Promise<string> {
  return formatReport((await loadReport(paths, settings)).report, format);
}

/** Formats a report in `format`. */
export function formatReport(report: Report, format: ReportFormat): string {
  return format === "csv"
    ? formatCsv(report)
    : format === "json"
    ? formatJson(report)
    : formatMarkdown(report);
}

/**
 * Runs `report` with its arguments (those after the command name).
 *
 * @returns the exit status (0).
 * @throws {UsageError} for bad flags, a missing path or no result found.
 * @throws {ClipbenchError} naming a file that is not a result.
 */
export async function runReport(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    format: { type: "string" },
    output: { type: "string" },
    html: { type: "string" },
    seed: { type: "string" },
    resamples: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(REPORT_HELP);
    return 0;
  }
  const format = parseFormat((values.format as string | undefined) ?? "markdown", FORMATS);
  const paths = positionals.length > 0 ? positionals : ["outputs"];
  const settings = bootstrapFlags(values);
  const loaded = await loadReport(paths, settings);
  await writeOutput(formatReport(loaded.report, format), values.output as string | undefined);
  if (values.html !== undefined) await writeHtmlReport(loaded, values.html as string);
  return 0;
}
