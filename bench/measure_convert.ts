/**
 * Conversion speed and memory: a checkpoint folder converted by `convertCheckpoint` in a fresh
 * child process, timed, with the child's peak resident set.
 *
 * The child (this file run as a program, with a {@linkcode ConvertChildRequest} as its JSON
 * argument) converts the checkpoint into a new folder and prints one
 * {@linkcode ConvertChildReport} as JSON: the seconds `convertCheckpoint` took, and `VmHWM` of
 * /proc/self/status read when it returned — the kernel's high-water mark of the process's
 * resident set, so the true peak however briefly it was reached (onnxruntime is not loaded:
 * the converter does not run graphs). The parent adds the wall time of the whole child (Deno's
 * start-up and module loading included) and the size of the weight files, and removes the
 * converted folder.
 *
 * @module
 */

import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findWeightFiles } from "../src/checkpoint/open_checkpoint.ts";
import { convertCheckpoint } from "../src/convert/convert.ts";
import { peakResidentBytes } from "./evaluate_child.ts";

/** What the child converts. */
export interface ConvertChildRequest {
  /** The checkpoint folder. */
  readonly checkpoint: string;
  /** The output folder (must not exist or be empty). */
  readonly out: string;
}

/** What the child reports. */
export interface ConvertChildReport {
  /** Seconds `convertCheckpoint` took. */
  readonly convertSeconds: number;
  /** Peak resident set size in bytes (`VmHWM`), or null where /proc is not available. */
  readonly peakRssBytes: number | null;
  /** The architecture converted. */
  readonly architecture: string;
}

/** What {@linkcode measureConversion} measured. */
export interface ConversionMeasure extends ConvertChildReport {
  /** The checkpoint folder's name. */
  readonly checkpoint: string;
  /** How the checkpoint was made (e.g. `chinese-clip vit-l-14-336, seed 0`), if generated. */
  readonly generated?: string;
  /** Total bytes of its weight files. */
  readonly weightBytes: number;
  /** Total bytes of the converted folder's files. */
  readonly outputBytes: number;
  /** Seconds from spawning the child to its exit. */
  readonly wallSeconds: number;
  /** Peak resident set ÷ weight bytes (target < 2.5); null without /proc. */
  readonly peakToWeights: number | null;
}

const CHILD = fileURLToPath(import.meta.url);
const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) total += await folderBytes(path);
    else if (entry.isFile) total += (await Deno.stat(path)).size;
  }
  return total;
}

/**
 * Converts `checkpoint` in a fresh child process and measures it (see the module note). The
 * converted folder is written to a temporary folder and removed.
 *
 * @param generated How the checkpoint was made, recorded as it is.
 * @throws {Error} with the child's stderr when the conversion fails.
 */
export async function measureConversion(
  checkpoint: string,
  generated?: string,
): Promise<ConversionMeasure> {
  const weightFiles = (await findWeightFiles(checkpoint)).files;
  let weightBytes = 0;
  for (const file of weightFiles) weightBytes += (await Deno.stat(file)).size;
  const temp = await Deno.makeTempDir({ prefix: "clipbench-bench-convert-" });
  try {
    const request: ConvertChildRequest = { checkpoint, out: join(temp, "converted") };
    const started = performance.now();
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CHILD, JSON.stringify(request)],
      cwd: PROJECT_ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const wallSeconds = (performance.now() - started) / 1000;
    const text = new TextDecoder();
    if (!output.success) {
      throw new Error(
        `converting ${checkpoint} in a child process failed with status ${output.code}: ${
          text.decode(output.stderr).trim()
        }`,
      );
    }
    const lines = text.decode(output.stdout).trim().split("\n");
    const report = JSON.parse(lines[lines.length - 1]) as ConvertChildReport;
    return {
      checkpoint: basename(checkpoint),
      ...(generated !== undefined && { generated }),
      ...report,
      weightBytes,
      outputBytes: await folderBytes(request.out),
      wallSeconds,
      peakToWeights: report.peakRssBytes === null ? null : report.peakRssBytes / weightBytes,
    };
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
}

if (import.meta.main) {
  const request = JSON.parse(Deno.args[0]) as ConvertChildRequest;
  const started = performance.now();
  const record = await convertCheckpoint(request.checkpoint, request.out);
  const report: ConvertChildReport = {
    convertSeconds: (performance.now() - started) / 1000,
    peakRssBytes: peakResidentBytes(),
    architecture: record.architecture,
  };
  console.log(JSON.stringify(report));
}
