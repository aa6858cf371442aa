/**
 * Local files, opened as byte streams that fail loudly: a read error, or a file that ends before
 * the size it had when opened (it shrank meanwhile), errors the stream with a
 * {@linkcode DatasetError} that names the location and the byte offset reached. Streams pull
 * only on demand and stop on an abort.
 *
 * **Boundary** ({@linkcode realPathWithin}): with a boundary folder, a file must lie, symbolic
 * links resolved, inside that folder (itself resolved), and the file then opened must be that
 * very file (same device and inode), so that a link swapped in meanwhile is refused. A refusal is
 * a {@linkcode DatasetError} that names the location as requested and nothing it resolves to.
 *
 * @module
 */

import { resolve, sep as SEP } from "node:path";
import { fileURLToPath } from "node:url";
import { DatasetError } from "../errors.ts";
import { messageOf } from "./error_message.ts";
import { URL_SCHEME } from "./locations.ts";
import { emptyStream, type OpenedFile } from "./opened_file.ts";

/**
 * Opens a local file. With `real` (its real path, checked against a boundary), the file opened
 * must be that very file (same device and inode), so that a link swapped in meanwhile is refused.
 */
export async function openLocalFile(
  location: string,
  path: string,
  real: string | undefined,
  method: "GET" | "HEAD",
  offset: number,
  signal: AbortSignal | undefined,
): Promise<OpenedFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "missing", reason: "no such file" };
    throw new DatasetError(`${location}: cannot open: ${messageOf(error)}`, {
      path: location,
      cause: error,
    });
  }
  let info: Deno.FileInfo;
  try {
    info = await file.stat();
    if (real !== undefined) {
      const checked = await Deno.stat(real);
      if (checked.ino !== info.ino || checked.dev !== info.dev) {
        file.close();
        throw new DatasetError(`${location}: refused: outside the dataset's allowed folder`, {
          path: location,
        });
      }
    }
    if (info.isFile && offset > 0) await file.seek(offset, Deno.SeekMode.Start);
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    file.close();
    throw new DatasetError(`${location}: cannot stat: ${messageOf(error)}`, {
      path: location,
      cause: error,
    });
  }
  if (!info.isFile) {
    file.close();
    if (method === "HEAD") return { kind: "missing", reason: "not a regular file" };
    throw new DatasetError(`${location}: not a regular file`, { path: location });
  }
  if (method === "HEAD") {
    file.close();
    return { kind: "found", stream: emptyStream(), size: info.size };
  }
  return {
    kind: "found",
    stream: guardStream(location, file.readable, offset, info.size, signal),
    size: info.size,
  };
}

/**
 * Wraps a local file's byte stream so that read errors and a short read become
 * {@linkcode DatasetError}s naming `location` and the offset reached, and an abort of `signal`
 * stops it. Pulls only on demand (no read-ahead of its own).
 */
function guardStream(
  location: string,
  source: ReadableStream<Uint8Array>,
  start: number,
  size: number,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let position = start;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal?.aborted) {
        await reader.cancel(signal.reason).catch(() => {});
        throw signal.reason;
      }
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw new DatasetError(
          `${location}: read failed after ${position} of ${size} bytes: ${messageOf(error)}`,
          { path: location, offset: position, cause: error },
        );
      }
      if (result.done) {
        if (position !== size) {
          throw new DatasetError(
            `${location}: body cut short: got ${position} of ${size} bytes`,
            { path: location, offset: position },
          );
        }
        controller.close();
        return;
      }
      position += result.value.length;
      controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Whether `path` is `folder` or inside it (both absolute and normalised). */
function isPathWithin(path: string, folder: string): boolean {
  if (path === folder) return true;
  return path.startsWith(folder.endsWith(SEP) ? folder : `${folder}${SEP}`);
}

/**
 * Checks a local file against a boundary folder: its path must lie inside the boundary, and so
 * must its real path (symbolic links resolved) inside the boundary's real path. Returns the
 * real path, or `undefined` when the file does not exist (it is then simply missing).
 *
 * @throws {DatasetError} naming only `location` when the file lies outside.
 */
export async function realPathWithin(
  location: string,
  path: string,
  boundary: string,
): Promise<string | undefined> {
  const refused = () =>
    new DatasetError(`${location}: refused: outside the dataset's allowed folder`, {
      path: location,
    });
  if (URL_SCHEME.test(boundary) && !boundary.toLowerCase().startsWith("file:")) throw refused();
  const folder = resolve(
    boundary.toLowerCase().startsWith("file:") ? fileURLToPath(boundary) : boundary,
  );
  let realFolder: string;
  try {
    realFolder = await Deno.realPath(folder);
  } catch {
    throw refused();
  }
  const lexical = resolve(path);
  if (!isPathWithin(lexical, folder) && !isPathWithin(lexical, realFolder)) throw refused();
  let real: string;
  try {
    real = await Deno.realPath(lexical);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new DatasetError(
      `${location}: cannot open (${error instanceof Error ? error.name : "error"})`,
      {
        path: location,
      },
    );
  }
  if (!isPathWithin(real, realFolder)) throw refused();
  return real;
}
