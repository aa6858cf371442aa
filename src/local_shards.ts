/**
 * `cli.ts eval --shards n`: the fan-out pattern on one machine. n worker processes run the same
 * `eval` with `--shard i/n` (the same Deno, or the same compiled binary, `Deno.execPath()`), each
 * writing its partial results to a temporary folder; then the partials of each model/dataset pair
 * are merged (src/partial/merge.ts) into the result file, exactly the unsharded run's.
 *
 * Unless the flags say otherwise, each worker gets an equal share of the cores: `--threads` and
 * `--num-workers` for `⌊cores / n⌋` cores (at least 1). A worker's stderr is passed through, each
 * line prefixed with its shard.
 *
 * @module
 */

import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { coreCount, defaultNumWorkers } from "./pipeline/core_split.ts";
import { mergePartialFiles } from "./partial/merge.ts";
import { PARTIAL_EXTENSION } from "./partial/partial_file.ts";
import { type TaskResult, writeResult } from "./result.ts";

/** Options of {@linkcode runLocalShards}. */
export interface LocalShardsOptions {
  /** The `eval` flags each worker gets (without `--shards`, `--output-dir`, `--shard`). */
  readonly args: readonly string[];
  /** Number of workers (≥ 1). */
  readonly count: number;
  /** Where the merged results go. */
  readonly outputDir: string;
  /** Whether `args` set `--threads` (else each worker gets its share of the cores). */
  readonly threadsGiven?: boolean;
  /** Whether `args` set `--num-workers`. */
  readonly numWorkersGiven?: boolean;
  /** No message of its own (the workers' error lines still pass through). */
  readonly quiet?: boolean;
  /** Where the workers' stderr lines and the messages go (default: stderr). */
  readonly log?: (line: string) => void;
}

/** What a local fan-out produced. */
export interface LocalShardsOutcome {
  /** The merged results written. */
  readonly results: TaskResult[];
  /** What failed: a worker (its exit status) or a pair's merge (its error). */
  readonly failures: { readonly what: string; readonly error: Error }[];
}

/** The command that runs `cli.ts` again: the compiled binary itself, or `deno run -A cli.ts`. */
export function cliCommand(): { command: string; prefix: string[] } {
  const standalone = (Deno.build as { standalone?: boolean }).standalone === true;
  if (standalone) return { command: Deno.execPath(), prefix: [] };
  const cli = fileURLToPath(new URL("../cli.ts", import.meta.url));
  return { command: Deno.execPath(), prefix: ["run", "-A", cli] };
}

async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  log: (line: string) => void,
) {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) log(`${prefix} ${line}`);
  }
  if (pending !== "") log(`${prefix} ${pending}`);
}

/** Partial files under `dir`, grouped by model folder and `<dataset>_<task>`. */
async function partialGroups(dir: string): Promise<Map<string, string[]>> {
  const groups = new Map<string, string[]>();
  for await (const model of Deno.readDir(dir)) {
    if (!model.isDirectory) continue;
    for await (const file of Deno.readDir(join(dir, model.name))) {
      const match = /^(.*)\.shard-\d+-of-\d+\.partial$/.exec(file.name);
      if (!file.isFile || match === null || !file.name.endsWith(PARTIAL_EXTENSION)) continue;
      const key = `${model.name}/${match[1]}`;
      groups.set(key, [...groups.get(key) ?? [], join(dir, model.name, file.name)]);
    }
  }
  return groups;
}

/**
 * Runs `count` workers and merges their partial results (see the module documentation).
 *
 * @throws {RangeError} when `count` is not a positive integer.
 */
export async function runLocalShards(options: LocalShardsOptions): Promise<LocalShardsOutcome> {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`the number of shards must be a positive integer, got ${count}`);
  }
  const log = options.log ?? ((line: string) => console.error(line));
  const share = Math.max(1, Math.floor(coreCount() / count));
  const extra = [
    ...(options.threadsGiven ? [] : ["--threads", String(share)]),
    ...(options.numWorkersGiven ? [] : ["--num-workers", String(defaultNumWorkers(share))]),
  ];
  const folder = await Deno.makeTempDir({ prefix: "clipbench_shards_" });
  const failures: { what: string; error: Error }[] = [];
  const results: TaskResult[] = [];
  try {
    const { command, prefix } = cliCommand();
    const workers = Array.from({ length: count }, async (_, index) => {
      const shard = `${index}/${count}`;
      const child = new Deno.Command(command, {
        args: [
          ...prefix,
          "eval",
          ...options.args,
          ...extra,
          "--shard",
          shard,
          "--output-dir",
          folder,
          "--quiet",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const [status] = await Promise.all([
        child.status,
        forwardLines(child.stderr, `[shard ${shard}]`, log),
      ]);
      if (!status.success) {
        failures.push({
          what: `shard ${shard}`,
          error: new Error(`the worker of shard ${shard} exited with status ${status.code}`),
        });
      }
    });
    await Promise.all(workers);
    const groups = await partialGroups(folder);
    for (const [key, paths] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      try {
        const result = await mergePartialFiles(paths.sort());
        const path = await writeResult(options.outputDir, result);
        if (!options.quiet) log(`merged ${paths.length} partial(s) of ${key}: ${path}`);
        results.push(result);
      } catch (error) {
        failures.push({
          what: `merge of ${key} (${paths.map((p) => basename(p)).join(", ")})`,
          error: error as Error,
        });
      }
    }
  } finally {
    await Deno.remove(folder, { recursive: true }).catch(() => {});
  }
  return { results, failures };
}
