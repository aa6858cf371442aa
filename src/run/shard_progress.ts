/**
 * The one progress line of `eval --shards n`: the workers' progress records
 * (src/run/progress.ts) combined per model × dataset pair — samples read and skipped by all
 * workers together, the combined rate, and how many workers have finished the pair. A pair's
 * line becomes permanent once every worker has finished it. Other lines (the workers' messages)
 * are written above the progress line (wrapped at its width on a terminal), which is redrawn
 * after them.
 *
 * @module
 */

import {
  fitProgressLine,
  formatDuration,
  lineColumns,
  type ProgressOptions,
  type ProgressPart,
  type ProgressRecord,
  writeToStderr,
} from "./progress.ts";
import { wrapText } from "./terminal_wrap.ts";

/** Options of {@linkcode CombinedProgress}: those of one reporter's lines, and the worker count. */
export interface CombinedProgressOptions extends Omit<ProgressOptions, "records"> {
  /** Number of workers. */
  readonly workers: number;
}

/** One pair's progress across the workers. */
interface PairProgress {
  readonly start: number;
  readonly byWorker: Map<number, ProgressRecord>;
  finished: boolean;
}

/** Combines the workers' progress records into one line (see the module documentation). */
export class CombinedProgress {
  readonly #options: CombinedProgressOptions;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #pairs = new Map<string, PairProgress>();
  #current: string | undefined;
  #lastDraw = -Infinity;
  /** Whether a redrawn line is on the screen (to be cleared before a message). */
  #drawn = false;

  /**
   * Creates the combined line.
   *
   * @param options Workers, terminal or plain, sink.
   */
  constructor(options: CombinedProgressOptions) {
    this.#options = options;
    this.#write = options.write ?? writeToStderr;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Records worker `worker`'s record and redraws (at most every 100 ms, or every interval). */
  update(worker: number, record: ProgressRecord): void {
    let pair = this.#pairs.get(record.label);
    if (pair === undefined) {
      pair = { start: this.#now(), byWorker: new Map(), finished: false };
      this.#pairs.set(record.label, pair);
    }
    pair.byWorker.set(worker, record);
    if (pair.finished) return;
    this.#current = record.label;
    const done = [...pair.byWorker.values()].filter((r) => r.done).length;
    if (done >= this.#options.workers) {
      pair.finished = true;
      this.#show(record.label, true);
      this.#current = undefined;
      return;
    }
    const now = this.#now();
    const interval = this.#options.interactive
      ? 100
      : (this.#options.lineIntervalSeconds ?? 10) * 1000;
    if (now - this.#lastDraw < interval) return;
    this.#lastDraw = now;
    this.#show(record.label, false);
  }

  /** Writes a message line above the progress line (then redraws it on a terminal). */
  message(line: string): void {
    if (this.#drawn) this.#write("\r\x1b[2K");
    this.#write(`${this.#options.interactive ? wrapText(line, this.#columns()) : line}\n`);
    this.#drawn = false;
    if (this.#options.interactive && this.#current !== undefined) this.#show(this.#current, false);
  }

  /** The line of a pair now. */
  describe(label: string): string {
    const pair = this.#pairs.get(label);
    if (pair === undefined) return label;
    const records = [...pair.byWorker.values()];
    const samples = records.reduce((sum, r) => sum + r.samples, 0);
    const skipped = records.reduce((sum, r) => sum + r.skipped, 0);
    const done = records.filter((r) => r.done).length;
    const elapsed = (this.#now() - pair.start) / 1000;
    const parts: ProgressPart[] = [
      { text: `${samples} samples` },
      { text: `${(elapsed > 0 ? samples / elapsed : 0).toFixed(1)}/s`, drop: 3 },
      { text: `${done}/${this.#options.workers} shards done`, drop: 2 },
      ...(skipped > 0 ? [{ text: `${skipped} skipped` }] : []),
      { text: `elapsed ${formatDuration(elapsed)}`, drop: 1 },
    ];
    return fitProgressLine(label, parts, this.#columns());
  }

  #columns(): number {
    return lineColumns(this.#options);
  }

  #show(label: string, final: boolean): void {
    if (this.#options.quiet) return;
    const line = this.describe(label);
    if (this.#options.interactive) {
      this.#write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
      this.#drawn = !final;
    } else {
      this.#write(`${line}\n`);
    }
  }

  /**
   * Ends the display: the line of every pair not yet shown as finished (workers that failed or
   * were stopped never finish theirs) is written once more, as it stands.
   */
  finish(): void {
    for (const [label, pair] of this.#pairs) {
      if (pair.finished) continue;
      pair.finished = true;
      this.#show(label, true);
    }
    if (this.#drawn && this.#options.interactive) this.#write("\n");
    this.#drawn = false;
    this.#current = undefined;
  }
}
