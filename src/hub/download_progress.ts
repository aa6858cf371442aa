/**
 * Progress of hub downloads on stderr, in the style of src/run/progress.ts: on a terminal a redrawn
 * bar with bytes, bytes/s and ETA; otherwise a plain line every `lineIntervalSeconds` and one
 * when each file is done; nothing with `quiet`. Every line fits the width the evaluation's lines
 * fit ({@linkcode fitProgressLine}): the bar narrows, then the resume note, the rate, the bar and
 * the ETA are left out in that order, then the file name is shortened with `…`.
 *
 * ```
 * onnx/model.onnx  [##########..............]  12.6/31.2 MB  4.2 MB/s  ETA 0:04
 * downloaded onnx/model.onnx: 31.2 MB in 7 s (4.5 MB/s)
 * ```
 *
 * @module
 */

import {
  fitProgressLine,
  formatDuration,
  lineColumns,
  type ProgressOptions,
  type ProgressPart,
  writeToStderr,
} from "../run/progress.ts";

/** Receives the progress of downloads (one {@linkcode DownloadTracker} per file). */
export interface DownloadProgress {
  /**
   * A file starts (or resumes) downloading.
   *
   * @param file The file's path in its repository.
   * @param total Its size in bytes, when known.
   * @param resumedFrom Bytes already on disk from an interrupted download.
   */
  begin(file: string, total: number | undefined, resumedFrom: number): DownloadTracker;
}

/** The progress of one file. */
export interface DownloadTracker {
  /** `bytes` more have arrived. */
  advance(bytes: number): void;
  /** The file is complete (or the download gave up). */
  finish(): void;
}

/** Progress that goes nowhere. */
export const SILENT_PROGRESS: DownloadProgress = {
  begin: () => ({ advance() {}, finish() {} }),
};

/** Options of {@linkcode DownloadProgressReporter}: those of the evaluation progress reporter. */
export type DownloadProgressOptions = ProgressOptions;

/** Bytes as B, kB, MB or GB (powers of 1000, one decimal). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Reports downloads on stderr (or `write`). */
export class DownloadProgressReporter implements DownloadProgress {
  readonly #options: DownloadProgressOptions;
  readonly #write: (text: string) => void;
  readonly #now: () => number;

  /**
   * A reporter writing to stderr (or `options.write`).
   *
   * @param options Terminal or plain, quiet, output sink, clock.
   */
  constructor(options: DownloadProgressOptions) {
    this.#options = options;
    this.#write = options.write ?? writeToStderr;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Starts reporting one file. */
  begin(file: string, total: number | undefined, resumedFrom: number): DownloadTracker {
    const options = this.#options;
    const write = this.#write;
    const now = this.#now;
    const start = now();
    const interval = options.interactive ? 100 : (options.lineIntervalSeconds ?? 10) * 1000;
    let received = resumedFrom;
    let lastDraw = start;
    let finished = false;
    const line = (): string => {
      const seconds = (now() - start) / 1000;
      const rate = seconds > 0 ? (received - resumedFrom) / seconds : 0;
      const parts: ProgressPart[] = [];
      const speed = { text: `${formatBytes(rate)}/s`, drop: 1 };
      if (total !== undefined && total > 0) {
        if (options.interactive) parts.push({ bar: received / total, drop: 2 });
        parts.push({ text: `${formatBytes(received)}/${formatBytes(total)}` }, speed);
        parts.push({
          text: `ETA ${formatDuration(rate > 0 ? (total - received) / rate : NaN)}`,
          drop: 3,
        });
      } else {
        parts.push({ text: formatBytes(received) }, speed);
      }
      if (resumedFrom > 0) parts.push({ text: `resumed at ${formatBytes(resumedFrom)}`, drop: 0 });
      return fitProgressLine(file, parts, lineColumns(options));
    };
    return {
      advance(bytes: number) {
        received += bytes;
        if (options.quiet || finished) return;
        const time = now();
        if (time - lastDraw < interval) return;
        lastDraw = time;
        write(options.interactive ? `\r\x1b[2K${line()}` : `${line()}\n`);
      },
      finish() {
        if (finished) return;
        finished = true;
        if (options.quiet) return;
        const seconds = (now() - start) / 1000;
        const rate = seconds > 0 ? (received - resumedFrom) / seconds : 0;
        const summary = `downloaded ${file}: ${formatBytes(received)} in ${
          Math.round(seconds)
        } s (${formatBytes(rate)}/s)`;
        write(options.interactive ? `\r\x1b[2K${summary}\n` : `${summary}\n`);
      },
    };
  }
}
