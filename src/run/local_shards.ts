/**
 * `cli.ts eval --shards n`: the fan-out pattern on one machine. n worker processes run the same
 * `eval` with `--shard i/n` (the same Deno, or the same compiled binary, `Deno.execPath()`), each
 * writing its partial results to a temporary folder; then the partials of each model/dataset pair
 * are merged (src/results/partial/merge.ts) into the result file, exactly the unsharded run's.
 *
 * Unless the flags say otherwise, each worker gets an equal share of the cores: `--threads` and
 * `--num-workers` for `⌊cores / n⌋` cores (at least 1). The workers report their progress by records
 * (src/run/progress.ts), drawn here as one combined line (src/run/shard_progress.ts); their other
 * stderr lines are passed through, each prefixed with its shard, and a line several workers print
 * alike (the same failure in every shard) only once.
 *
 * The workers do not outlive the run: SIGINT and SIGTERM are passed on to them (then SIGKILL after
 * {@linkcode KILL_GRACE_MS}), and each worker holds a pipe from this process on its stdin and exits
 * when it closes ({@linkcode exitWithParent}), which covers a parent killed by SIGKILL too. The
 * temporary folder is removed on every way out: by this process, or, when it was killed, by its
 * workers as they exit.
 *
 * @module
 */

import { basename, join } from "node:path";
import { ClipbenchError } from "../errors.ts";
import { fileURLToPath } from "node:url";
import { coreCount, defaultNumWorkers } from "../pipeline/core_split.ts";
import { mergePartialFilesAndWrite } from "../results/partial/merge.ts";
import { PARTIAL_EXTENSION } from "../results/partial/partial_file.ts";
import { type TaskResult, writeResult } from "../results/result.ts";
import { parseProgressRecord, PROGRESS_RECORDS_ENV } from "./progress.ts";
import { CombinedProgress } from "./shard_progress.ts";

/** Options of {@linkcode runLocalShards}. */
export interface LocalShardsOptions {
  /** The `eval` flags each worker gets (without `--shards`, `--output-dir`, `--shard`). */
  readonly args: readonly string[];
  /** Number of workers (≥ 1). */
  readonly count: number;
  /** Where the merged results go. */
  readonly outputDir: string;
  /** `--output`: the templated path of each merged result, instead of under `outputDir`. */
  readonly outputTemplate?: string;
  /** Whether `args` set `--threads` (else each worker gets its share of the cores). */
  readonly threadsGiven?: boolean;
  /** Whether `args` set `--num-workers`. */
  readonly numWorkersGiven?: boolean;
  /** No message of its own (the workers' error lines still pass through). */
  readonly quiet?: boolean;
  /** Where the workers' stderr lines and the messages go (default: stderr). */
  readonly log?: (line: string) => void;
  /**
   * Where the combined progress line is drawn (default: stderr, redrawn when it is a terminal);
   * nothing with `quiet`.
   */
  readonly progress?: CombinedProgress;
}

/** What a local fan-out produced. */
export interface LocalShardsOutcome {
  /** The merged results written. */
  readonly results: TaskResult[];
  /** What failed: a worker (its exit status) or a pair's merge (its error). */
  readonly failures: { readonly what: string; readonly error: Error }[];
}

/**
 * Set in each worker's environment to the run's temporary folder: the worker exits when its
 * stdin (the parent's pipe) closes, and removes that folder (see {@linkcode exitWithParent}).
 */
const SHARDS_FOLDER_ENV = "CLIPBENCH_SHARDS_FOLDER";

/** The prefix of the temporary folder of a run (under the system's temporary directory). */
const SHARDS_FOLDER_PREFIX = "clipbench_shards_";

/** How long workers get to exit after a forwarded signal before they are killed. */
const KILL_GRACE_MS = 5_000;

/** Exit status of a worker whose parent went away. */
const PARENT_GONE_STATUS = 129;

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM"] as const;
const SIGNAL_NUMBERS: Record<(typeof FORWARDED_SIGNALS)[number], number> = {
  SIGINT: 2,
  SIGTERM: 15,
};

/**
 * In a worker started by {@linkcode runLocalShards} (its environment has
 * {@linkcode SHARDS_FOLDER_ENV}): watches stdin, the parent's pipe, and when it closes — the parent
 * exited or was killed, even by SIGKILL — removes the run's temporary folder and exits. Does
 * nothing in any other process. The watch keeps the process alive, so the CLI ends with
 * `Deno.exit`.
 */
export function exitWithParent(): void {
  const folder = Deno.env.get(SHARDS_FOLDER_ENV);
  if (!folder) return;
  (async () => {
    try {
      for await (const _ of Deno.stdin.readable) {
        // The parent writes nothing; only the end of the stream matters.
      }
    } catch {
      // A broken pipe ends the watch as well.
    }
    if (basename(folder).startsWith(SHARDS_FOLDER_PREFIX)) {
      try {
        Deno.removeSync(folder, { recursive: true });
      } catch {
        // Already removed (by the parent or another worker).
      }
    }
    Deno.exit(PARENT_GONE_STATUS);
  })();
}

/** The command that runs `cli.ts` again: the compiled binary itself, or `deno run -A cli.ts`. */
export function cliCommand(): { command: string; prefix: string[] } {
  const standalone = (Deno.build as { standalone?: boolean }).standalone === true;
  if (standalone) return { command: Deno.execPath(), prefix: [] };
  const cli = fileURLToPath(new URL("../../cli.ts", import.meta.url));
  return { command: Deno.execPath(), prefix: ["run", "-A", cli] };
}

/**
 * Passes a worker's stderr on: progress records to the combined progress line, other lines to
 * `log` with the worker's prefix — each distinct line once (`seen` is shared by the workers, so a
 * failure every shard meets, such as an unreadable dataset, is printed once, not once per worker).
 */
async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  worker: { index: number; prefix: string },
  log: (line: string) => void,
  progress: CombinedProgress,
  seen: Set<string>,
) {
  const handle = (line: string) => {
    const record = parseProgressRecord(line);
    if (record !== undefined) {
      progress.update(worker.index, record);
      return;
    }
    if (seen.has(line)) return;
    seen.add(line);
    log(`${worker.prefix} ${line}`);
  };
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) handle(line);
  }
  if (pending !== "") handle(pending);
}

/**
 * Partial files under `dir`, grouped by model folder and `<dataset>_<task>` (a dataset given by
 * hub id, `org/name`, has its partials one folder deeper: `<model>/org/name_<task>…`).
 */
async function partialGroups(dir: string): Promise<Map<string, string[]>> {
  const groups = new Map<string, string[]>();
  const walk = async (relative: string): Promise<void> => {
    for await (const entry of Deno.readDir(join(dir, relative))) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory) {
        await walk(path);
        continue;
      }
      const match = /^(.*)\.shard-\d+-of-\d+\.partial$/.exec(entry.name);
      if (relative === "" || !entry.isFile || match === null) continue;
      if (!entry.name.endsWith(PARTIAL_EXTENSION)) continue;
      const key = `${relative}/${match[1]}`;
      groups.set(key, [...groups.get(key) ?? [], join(dir, path)]);
    }
  };
  await walk("");
  return groups;
}

/**
 * Runs `count` workers and merges their partial results (see the module documentation).
 *
 * @throws {RangeError} when `count` is not a positive integer.
 * @throws {ClipbenchError} when SIGINT or SIGTERM stopped the run (after the workers exited and
 *   the temporary folder was removed), with exit status 128 + the signal's number.
 */
export async function runLocalShards(options: LocalShardsOptions): Promise<LocalShardsOutcome> {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`the number of shards must be a positive integer, got ${count}`);
  }
  const progress = options.progress ??
    new CombinedProgress({
      workers: count,
      interactive: Deno.stderr.isTerminal(),
      quiet: options.quiet,
    });
  const log = options.log ?? ((line: string) => progress.message(line));
  const seen = new Set<string>();
  const share = Math.max(1, Math.floor(coreCount() / count));
  const extra = [
    ...(options.threadsGiven ? [] : ["--threads", String(share)]),
    ...(options.numWorkersGiven ? [] : ["--num-workers", String(defaultNumWorkers(share))]),
  ];
  const folder = await Deno.makeTempDir({ prefix: SHARDS_FOLDER_PREFIX });
  const failures: { what: string; error: Error }[] = [];
  const results: TaskResult[] = [];
  const children: Deno.ChildProcess[] = [];
  let interrupted: (typeof FORWARDED_SIGNALS)[number] | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const signal = (children: readonly Deno.ChildProcess[], name: Deno.Signal) => {
    for (const child of children) {
      try {
        child.kill(name);
      } catch {
        // Already exited.
      }
    }
  };
  const listeners = FORWARDED_SIGNALS.map((name) => {
    const listener = () => {
      interrupted ??= name;
      signal(children, name);
      killTimer ??= setTimeout(() => signal(children, "SIGKILL"), KILL_GRACE_MS);
    };
    try {
      Deno.addSignalListener(name, listener);
    } catch {
      // SIGTERM cannot be listened to on Windows.
    }
    return { name, listener };
  });
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
        env: { [SHARDS_FOLDER_ENV]: folder, [PROGRESS_RECORDS_ENV]: "1" },
        // Never written: the worker exits when it closes (this process is gone).
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      children.push(child);
      const [status] = await Promise.all([
        child.status,
        forwardLines(child.stderr, { index, prefix: `[shard ${shard}]` }, log, progress, seen),
      ]);
      await child.stdin.close().catch(() => {});
      if (!status.success) {
        failures.push({
          what: `shard ${shard}`,
          error: new Error(`the worker of shard ${shard} exited with status ${status.code}`),
        });
      }
    });
    await Promise.all(workers);
    progress.finish();
    const groups = interrupted ? new Map<string, string[]>() : await partialGroups(folder);
    for (const [key, paths] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      if (interrupted) break;
      try {
        const { result, path, predictionsPath } = await mergePartialFilesAndWrite(
          paths.sort(),
          (merged) => writeResult(options.outputDir, merged, options.outputTemplate),
        );
        if (!options.quiet) log(`merged ${paths.length} partial(s) of ${key}: ${path}`);
        if (!options.quiet && predictionsPath) log(`with their predictions: ${predictionsPath}`);
        results.push(result);
      } catch (error) {
        failures.push({
          what: `merge of ${key} (${paths.map((p) => basename(p)).join(", ")})`,
          error: error as Error,
        });
      }
    }
  } finally {
    clearTimeout(killTimer);
    for (const { name, listener } of listeners) {
      try {
        Deno.removeSignalListener(name, listener);
      } catch {
        // Never added.
      }
    }
    await Deno.remove(folder, { recursive: true }).catch(() => {});
  }
  if (interrupted) {
    throw new ClipbenchError(
      `interrupted by ${interrupted}: the ${count} worker(s) were stopped and nothing was merged`,
      { exitCode: 128 + SIGNAL_NUMBERS[interrupted] },
    );
  }
  return { results, failures };
}
