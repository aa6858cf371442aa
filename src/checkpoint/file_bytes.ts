/**
 * Byte ranges of a weight file read on demand: a checkpoint's tensors are read from disk when
 * they are asked for, so converting a model never holds the whole file in memory beside its
 * converted tensors. Reads are synchronous (a tensor's `float32()` is) and check that the file
 * still holds the range (a file truncated after it was opened gives a {@linkcode CheckpointError}).
 *
 * @module
 */

import { CheckpointError } from "./checkpoint.ts";

/** A weight file whose byte ranges are read on demand. */
export class FileBytes {
  /** The file's path. */
  readonly path: string;
  /** Its size in bytes when it was opened. */
  readonly size: number;
  #handle: Deno.FsFile | undefined;

  private constructor(path: string, size: number) {
    this.path = path;
    this.size = size;
  }

  /**
   * Opens `path` for reading ranges (the size is read now; nothing else is read).
   *
   * @throws CheckpointError when it is missing or not a regular file.
   */
  static async open(path: string): Promise<FileBytes> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (cause) {
      throw new CheckpointError(`${path}: cannot read the weight file (${errorText(cause)})`, {
        path,
        cause,
      });
    }
    if (!info.isFile) {
      throw new CheckpointError(`${path}: not a regular file`, { path });
    }
    return new FileBytes(path, info.size);
  }

  /**
   * Keeps one handle open until {@linkcode FileBytes.release} (for many small reads in a row, as
   * when an index is parsed); otherwise every read opens and closes the file.
   */
  hold(): void {
    if (!this.#handle) this.#handle = this.#openHandle();
  }

  /** Closes the handle {@linkcode FileBytes.hold} opened, if any. */
  release(): void {
    this.#handle?.close();
    this.#handle = undefined;
  }

  /**
   * The `length` bytes at `offset`, in a buffer of their own (offset 0, so aligned for any
   * element type).
   *
   * @param what What the range holds, for the error message (e.g. `tensor "x"`).
   * @param tensor The tensor it holds, if any (the error's `tensor`).
   * @throws CheckpointError when the range is outside the file (it is truncated).
   */
  read(offset: number, length: number, what: string, tensor?: string): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new CheckpointError(
        `${this.path}: truncated: ${what} needs bytes ${offset}..${offset + length} ` +
          `but the file has ${this.size}`,
        { path: this.path, tensor },
      );
    }
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const handle = this.#handle ?? this.#openHandle();
    try {
      handle.seekSync(offset, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < length) {
        const n = handle.readSync(out.subarray(filled));
        if (n === null || n === 0) {
          throw new CheckpointError(
            `${this.path}: truncated: ${what} needs bytes ${offset}..${offset + length} ` +
              `but the file ends at ${offset + filled}`,
            { path: this.path, tensor },
          );
        }
        filled += n;
      }
    } finally {
      if (handle !== this.#handle) handle.close();
    }
    return out;
  }

  #openHandle(): Deno.FsFile {
    try {
      return Deno.openSync(this.path, { read: true });
    } catch (cause) {
      throw new CheckpointError(
        `${this.path}: cannot read the weight file (${errorText(cause)})`,
        { path: this.path, cause },
      );
    }
  }
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
