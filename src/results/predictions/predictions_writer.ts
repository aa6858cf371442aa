/**
 * Writing a predictions file (src/results/predictions/predictions_file.ts) as a run goes: the
 * header when the task knows its kind, then each batch's rows as the batch is scored, so memory
 * does not grow with the dataset. The rows go to a temporary file beside the final one, renamed
 * when the result is written ({@linkcode PredictionsWriter.commit}); an interrupted or failed run
 * leaves no predictions file that looks complete.
 *
 * @module
 */

import { dirname } from "node:path";
import { ClipbenchError } from "../../errors.ts";
import type { TaskName } from "../result.ts";
import { predictionsHeader, type TaskPredictionsHeader } from "./predictions_file.ts";

/** Where a task's rows go: the header first, then rows in scoring order. */
export interface PredictionSink {
  /** Writes the header; called once, before any row. */
  start(header: TaskPredictionsHeader): Promise<void>;
  /** Appends rows. */
  write(rows: readonly object[]): Promise<void>;
}

const encoder = new TextEncoder();

/** A predictions file being written. */
export class PredictionsWriter implements PredictionSink {
  readonly #file: Deno.FsFile;
  readonly #temporary: string;
  #started = false;
  #closed = false;

  private constructor(
    /** The file's final path. */
    readonly path: string,
    readonly base: { dataset: string; model: string; task: TaskName; shard?: string },
    file: Deno.FsFile,
    temporary: string,
  ) {
    this.#file = file;
    this.#temporary = temporary;
  }

  /**
   * Opens the temporary file of the predictions file `path` (creating its folder).
   *
   * @param base The header's dataset, model, task (and shard, for a shard's file).
   * @throws {ClipbenchError} naming the path when it cannot be created.
   */
  static async create(
    path: string,
    base: { dataset: string; model: string; task: TaskName; shard?: string },
  ): Promise<PredictionsWriter> {
    const temporary = `${path}.${Deno.pid}.tmp`;
    try {
      await Deno.mkdir(dirname(path), { recursive: true });
      const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
      return new PredictionsWriter(path, base, file, temporary);
    } catch (error) {
      throw new ClipbenchError(
        `cannot write the predictions ${path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async #append(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
  }

  /** Writes the header. */
  async start(header: TaskPredictionsHeader): Promise<void> {
    if (this.#started) throw new Error("the predictions header was written already");
    this.#started = true;
    await this.#append(JSON.stringify(predictionsHeader(this.base, header)) + "\n");
  }

  /** Appends rows, one JSON line each. */
  async write(rows: readonly object[]): Promise<void> {
    if (!this.#started) throw new Error("predictions rows before the header");
    if (rows.length === 0) return;
    await this.#append(rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
  }

  /**
   * Closes the file and gives it its final name.
   *
   * @returns the final path.
   * @throws {ClipbenchError} when no header was written or the rename fails.
   */
  async commit(): Promise<string> {
    this.#close();
    if (!this.#started) {
      await this.discard();
      throw new ClipbenchError(`${this.path}: the task wrote no predictions`);
    }
    try {
      await Deno.rename(this.#temporary, this.path);
    } catch (error) {
      await this.discard();
      throw new ClipbenchError(
        `cannot write the predictions ${this.path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return this.path;
  }

  /** Closes and removes the temporary file (after a failure); harmless after a commit. */
  async discard(): Promise<void> {
    this.#close();
    await Deno.remove(this.#temporary).catch(() => {});
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}
