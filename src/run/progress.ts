/**
 * Progress reporting on stderr: a redrawn bar with samples/s and ETA on a terminal, plain
 * periodic lines otherwise (CI logs, pipes), nothing with `quiet`.
 *
 * Every line fits the terminal's width (`Deno.consoleSize` when stderr is a terminal, else 80
 * columns): the bar narrows, then the least useful parts go (elapsed time, shard, rate, bar,
 * ETA), then the label is shortened with `…` ({@linkcode fitProgressLine}). The ETA appears only
 * once the rate means something ({@linkcode ETA_MIN_SECONDS}, {@linkcode ETA_MIN_FRACTION}); the
 * last line gives the number of samples actually read.
 *
 * In a worker of `eval --shards` (src/run/local_shards.ts sets {@linkcode PROGRESS_RECORDS_ENV})
 * the reporter draws nothing and writes machine-readable records instead
 * ({@linkcode PROGRESS_RECORD_PREFIX}), from which the parent draws one combined line
 * (src/run/shard_progress.ts).
 *
 * @module
 */

/** What a progress reporter is told. */
export interface ProgressUpdate {
  /** Samples read so far. */
  readonly samples: number;
  /** Samples skipped so far. */
  readonly skipped: number;
  /** Total samples, when known (a limit was given). */
  readonly total?: number;
  /** Index of the shard being read (0-based), when known. */
  readonly shard?: number;
  /** Number of shards, when known. */
  readonly nshards?: number;
}

/** Options for {@linkcode ProgressReporter}. */
export interface ProgressOptions {
  /** Draw a bar (true on a terminal) or print lines. */
  readonly interactive: boolean;
  /** Print nothing. */
  readonly quiet?: boolean;
  /** Seconds between plain lines; default 10. */
  readonly lineIntervalSeconds?: number;
  /** Where text goes; default stderr. */
  readonly write?: (text: string) => void;
  /** Clock in milliseconds; default `performance.now`. */
  readonly now?: () => number;
  /**
   * Width of a line in columns; default {@linkcode terminalColumns} on a terminal, else
   * {@linkcode DEFAULT_COLUMNS}.
   */
  readonly columns?: number;
  /**
   * Write progress records for a parent process instead of drawing (default: when
   * {@linkcode PROGRESS_RECORDS_ENV} is `1`).
   */
  readonly records?: boolean;
}

/** Line width when stderr is not a terminal (logs, pipes). */
export const DEFAULT_COLUMNS = 80;

/** No ETA before this many seconds: the first batches include warm-up. */
export const ETA_MIN_SECONDS = 5;

/** No ETA before this fraction of the samples has been read. */
export const ETA_MIN_FRACTION = 0.02;

/** Set to `1` in the environment of `eval --shards`' workers: report by records. */
export const PROGRESS_RECORDS_ENV = "CLIPBENCH_PROGRESS_RECORDS";

/** The start of a progress record line on a worker's stderr; JSON follows. */
export const PROGRESS_RECORD_PREFIX = "\x1eclipbench-progress ";

/** One progress record of a worker: a pair's label, its counts, and whether it has finished. */
export interface ProgressRecord {
  /** The pair, `model / dataset`. */
  readonly label: string;
  /** Samples read so far. */
  readonly samples: number;
  /** Samples skipped so far. */
  readonly skipped: number;
  /** Whether the worker has finished the pair (its last record for it). */
  readonly done: boolean;
}

const encoder = new TextEncoder();

/** Writes text to stderr, unbuffered (the default sink of the progress reporters). */
export function writeToStderr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** The width of the terminal on stderr, or {@linkcode DEFAULT_COLUMNS} when there is none. */
export function terminalColumns(): number {
  try {
    if (!Deno.stderr.isTerminal()) return DEFAULT_COLUMNS;
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : DEFAULT_COLUMNS;
  } catch {
    return DEFAULT_COLUMNS;
  }
}

/** The width progress lines fit: `options.columns`, else the terminal's (interactive) or 80. */
export function lineColumns(options: Pick<ProgressOptions, "columns" | "interactive">): number {
  return options.columns ?? (options.interactive ? terminalColumns() : DEFAULT_COLUMNS);
}

/** Whether this process reports by records ({@linkcode PROGRESS_RECORDS_ENV}). */
function recordsFromEnvironment(): boolean {
  try {
    return Deno.env.get(PROGRESS_RECORDS_ENV) === "1";
  } catch {
    return false;
  }
}

/** A text bar of `width` cells, `fraction` (clamped to 1) of them filled: `[####....]`. */
export function progressBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** A duration as `m:ss`, or `h:mm:ss` from an hour on; `?` when unknown or negative. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/**
 * A part of a progress line: text, or a bar (`fraction` filled); `drop` ranks the parts that may
 * be left out when the line is too long, lowest first (undefined: never).
 */
export type ProgressPart =
  | { readonly text: string; readonly drop?: number }
  | { readonly bar: number; readonly drop?: number };

/** Widest and narrowest bar, in cells. */
const BAR_CELLS = { widest: 24, narrowest: 10 } as const;

/**
 * Joins `label` and `parts` into a line of fewer than `columns` characters (a line as wide as the
 * terminal would wrap on some): the bar narrows to 10 cells, then parts are left out by their
 * `drop` rank, then the label is shortened with `…`.
 */
export function fitProgressLine(
  label: string,
  parts: readonly ProgressPart[],
  columns: number,
): string {
  const limit = Math.max(1, columns - 1);
  const compose = (name: string, kept: readonly ProgressPart[], cells: number) =>
    [name, ...kept.map((p) => ("bar" in p ? progressBar(p.bar, cells) : p.text))].join("  ");
  let kept = [...parts];
  for (let cells = BAR_CELLS.widest; cells >= BAR_CELLS.narrowest; cells--) {
    const line = compose(label, kept, cells);
    if (line.length <= limit) return line;
    if (!kept.some((p) => "bar" in p)) break;
  }
  const ranks = [...new Set(parts.map((p) => p.drop).filter((d) => d !== undefined))]
    .sort((a, b) => a! - b!);
  for (const rank of ranks) {
    kept = kept.filter((p) => p.drop !== rank);
    const line = compose(label, kept, BAR_CELLS.narrowest);
    if (line.length <= limit) return line;
  }
  const rest = compose("", kept, BAR_CELLS.narrowest);
  const room = limit - rest.length;
  if (room >= 2) return `${label.slice(0, room - 1)}…${rest}`;
  return compose("", kept, BAR_CELLS.narrowest).trimStart().slice(0, limit);
}

/** Reports the progress of one evaluation (one model × dataset pair). */
export class ProgressReporter {
  readonly #label: string;
  readonly #options: ProgressOptions;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #start: number;
  readonly #records: boolean;
  #lastDraw = -Infinity;
  #last: ProgressUpdate = { samples: 0, skipped: 0 };
  #currentShard = -1;
  #samplesBeforeShard = 0;
  #completedShards = 0;

  /**
   * @param label Shown in front of every line, e.g. `tiny-clip / fashion_mnist`.
   * @param options Terminal or plain, quiet, output sink.
   */
  constructor(label: string, options: ProgressOptions) {
    this.#label = label;
    this.#options = options;
    this.#write = options.write ?? writeToStderr;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#records = options.records ?? recordsFromEnvironment();
  }

  /** Notes shard changes, from which the total is estimated when no limit gives it. */
  #track(update: ProgressUpdate): void {
    const { shard } = update;
    if (shard === undefined || shard === this.#currentShard) return;
    if (shard > this.#currentShard && this.#currentShard >= 0) {
      this.#completedShards = shard;
      this.#samplesBeforeShard = this.#last.samples;
    }
    this.#currentShard = shard;
  }

  /**
   * The expected number of samples: the limit, else an estimate from the shards read so far
   * (CLIP_benchmark's shards hold equal numbers of samples but for the last), whichever is lower.
   */
  #expectedTotal(update: ProgressUpdate): { total: number; estimated: boolean } | undefined {
    let estimate: number | undefined;
    if (update.nshards !== undefined && this.#completedShards > 0) {
      estimate = Math.max(
        update.samples,
        Math.round((this.#samplesBeforeShard / this.#completedShards) * update.nshards),
      );
    }
    if (update.total !== undefined && (estimate === undefined || update.total <= estimate)) {
      return { total: update.total, estimated: false };
    }
    return estimate === undefined ? undefined : { total: estimate, estimated: true };
  }

  /** The line width (see {@linkcode lineColumns}). */
  #columns(): number {
    return lineColumns(this.#options);
  }

  /**
   * The line describing `update` at the current time; `final` describes the end: the samples
   * actually read as the total, no ETA.
   */
  describe(update: ProgressUpdate, final = false): string {
    const elapsed = (this.#now() - this.#start) / 1000;
    const rate = elapsed > 0 ? update.samples / elapsed : 0;
    const parts: ProgressPart[] = [];
    const expected = this.#expectedTotal(update);
    const bar = this.#options.interactive;
    if (final) {
      // The true total: what was read (an exact total that was reached is shown as n/n).
      const reached = expected !== undefined && !expected.estimated &&
        update.samples >= expected.total;
      if (reached && bar) parts.push({ bar: 1, drop: 4 });
      parts.push({
        text: reached ? `${update.samples}/${expected.total} samples` : `${update.samples} samples`,
      });
      parts.push({ text: `${rate.toFixed(1)}/s`, drop: 3 });
    } else if (expected !== undefined && expected.total > 0) {
      const { total, estimated } = expected;
      const fraction = Math.min(1, update.samples / total);
      if (bar) parts.push({ bar: fraction, drop: 4 });
      parts.push({ text: `${update.samples}/${estimated ? "~" : ""}${total} samples` });
      parts.push({ text: `${rate.toFixed(1)}/s`, drop: 3 });
      if (elapsed >= ETA_MIN_SECONDS && fraction >= ETA_MIN_FRACTION && rate > 0) {
        parts.push({ text: `ETA ${formatDuration((total - update.samples) / rate)}`, drop: 5 });
      }
    } else {
      parts.push({ text: `${update.samples} samples` }, { text: `${rate.toFixed(1)}/s`, drop: 3 });
    }
    if (!final && update.nshards !== undefined && update.shard !== undefined) {
      parts.push({ text: `shard ${update.shard + 1}/${update.nshards}`, drop: 2 });
    }
    if (update.skipped > 0) parts.push({ text: `${update.skipped} skipped` });
    parts.push({ text: `elapsed ${formatDuration(elapsed)}`, drop: 1 });
    return fitProgressLine(this.#label, parts, this.#columns());
  }

  /** Records an update; draws at most every 100 ms (bar) or every interval (lines). */
  update(update: ProgressUpdate): void {
    this.#track(update);
    this.#last = update;
    if (!this.#records && this.#options.quiet) return;
    const now = this.#now();
    const interval = this.#records
      ? 250
      : this.#options.interactive
      ? 100
      : (this.#options.lineIntervalSeconds ?? 10) * 1000;
    if (now - this.#lastDraw < interval) return;
    this.#lastDraw = now;
    this.#draw(false);
  }

  #draw(final: boolean): void {
    if (this.#records) {
      const record: ProgressRecord = {
        label: this.#label,
        samples: this.#last.samples,
        skipped: this.#last.skipped,
        done: final,
      };
      this.#write(`${PROGRESS_RECORD_PREFIX}${JSON.stringify(record)}\n`);
      return;
    }
    const line = this.describe(this.#last, final);
    this.#write(this.#options.interactive ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Draws the final state (the samples read as the total) and ends the bar's line. */
  finish(): void {
    if (!this.#records && this.#options.quiet) return;
    this.#draw(true);
    if (this.#options.interactive && !this.#records) this.#write("\n");
  }
}

/** The record in a line of a worker's stderr, or undefined when the line is not one. */
export function parseProgressRecord(line: string): ProgressRecord | undefined {
  if (!line.startsWith(PROGRESS_RECORD_PREFIX)) return undefined;
  try {
    const value = JSON.parse(line.slice(PROGRESS_RECORD_PREFIX.length));
    if (
      typeof value?.label === "string" && Number.isFinite(value.samples) &&
      Number.isFinite(value.skipped) && typeof value.done === "boolean"
    ) {
      return value as ProgressRecord;
    }
  } catch {
    // Not JSON: an ordinary line.
  }
  return undefined;
}
