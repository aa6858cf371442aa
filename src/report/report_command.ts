/**
 * `cli.ts report [DIR|FILE...]`: the model × dataset tables of every result file found, as
 * Markdown (default), CSV or JSON, on stdout or into `--output`.
 *
 * @module
 */

import { formatCsv } from "./csv.ts";
import { parseFlags, parseFormat, type ReportFormat, writeOutput } from "./flags.ts";
import { formatJson } from "./json.ts";
import { formatMarkdown } from "./markdown.ts";
import { buildReport } from "./report_table.ts";
import { loadResults } from "./result_files.ts";

/** The help text of `report`. */
export const REPORT_HELP = `Usage: deno run -A cli.ts report [DIR|FILE...] [flags]

Reads every result file (*_zeroshot_classification.json, *_zeroshot_retrieval.json; partial
results of sharded runs are not read) under each DIR, recursively, and each FILE named (default:
outputs), and prints one table per task: the main metric per model and dataset (acc1, or mAP for
multi-label datasets; image and text recall@1/5/10 for retrieval) in %, with 95 % Wilson score
intervals from the counts, and each model's mean over the datasets it has (and over the datasets
all models share, when they differ). Results whose settings (limit, split, dtype, prompts, ...)
differ from the others of their dataset are marked.

Flags:
  --format FORMAT   markdown (default), csv (CLIP_benchmark build's columns: dataset, model, task,
                    then each metric) or json
  --output FILE     write to FILE instead of stdout
  -h, --help        show this help
`;

const FORMATS: readonly ReportFormat[] = ["markdown", "csv", "json"];

/** Formats a report of the results under `paths`. */
export async function reportText(paths: readonly string[], format: ReportFormat): Promise<string> {
  const report = buildReport(await loadResults(paths));
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
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(REPORT_HELP);
    return 0;
  }
  const format = parseFormat((values.format as string | undefined) ?? "markdown", FORMATS);
  const paths = positionals.length > 0 ? positionals : ["outputs"];
  await writeOutput(await reportText(paths, format), values.output as string | undefined);
  return 0;
}
