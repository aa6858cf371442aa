/**
 * Progress reporting on stderr: a redrawn bar with samples/s and ETA on a terminal, plain
 * periodic lines otherwise (CI logs, pipes), nothing with `quiet`.
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
}

const encoder = new TextEncoder();

/** Writes text to stderr, unbuffered (the default sink of the progress reporters). */
export function writeToStderr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** A text bar of `width` cells, `fraction` (clamped to 1) of them filled: `[####....]`. */
export function progressBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, fraction) * width);
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

/** Reports the progress of one evaluation (one model × dataset pair). */
export class ProgressReporter {
  readonly #label: string;
  readonly #options: ProgressOptions;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #start: number;
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

  /** The line describing `update` at the current time. */
  describe(update: ProgressUpdate): string {
    const elapsed = (this.#now() - this.#start) / 1000;
    const rate = elapsed > 0 ? update.samples / elapsed : 0;
    const parts = [this.#label];
    const expected = this.#expectedTotal(update);
    if (expected !== undefined && expected.total > 0) {
      const { total, estimated } = expected;
      const fraction = Math.min(1, update.samples / total);
      if (this.#options.interactive) parts.push(progressBar(fraction));
      parts.push(`${update.samples}/${estimated ? "~" : ""}${total} samples`);
      parts.push(`${rate.toFixed(1)}/s`);
      parts.push(`ETA ${formatDuration(rate > 0 ? (total - update.samples) / rate : NaN)}`);
    } else {
      parts.push(`${update.samples} samples`, `${rate.toFixed(1)}/s`);
    }
    if (update.nshards !== undefined && update.shard !== undefined) {
      parts.push(`shard ${update.shard + 1}/${update.nshards}`);
    }
    if (update.skipped > 0) parts.push(`${update.skipped} skipped`);
    parts.push(`elapsed ${formatDuration(elapsed)}`);
    return parts.join("  ");
  }

  /** Records an update; draws at most every 100 ms (bar) or every interval (lines). */
  update(update: ProgressUpdate): void {
    this.#track(update);
    this.#last = update;
    if (this.#options.quiet) return;
    const now = this.#now();
    const interval = this.#options.interactive
      ? 100
      : (this.#options.lineIntervalSeconds ?? 10) * 1000;
    if (now - this.#lastDraw < interval) return;
    this.#lastDraw = now;
    this.#draw();
  }

  #draw(): void {
    const line = this.describe(this.#last);
    this.#write(this.#options.interactive ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Draws the final state and ends the bar's line. */
  finish(): void {
    if (this.#options.quiet) return;
    this.#draw();
    if (this.#options.interactive) this.#write("\n");
  }
}
