/**
 * Reading the slow-tokenizer files of a checkpoint folder: optional text and binary files, each
 * failure a {@linkcode ModelError} naming the file (JSON files: src/model/json_file.ts).
 *
 * @module
 */

import { ModelError } from "../../../errors.ts";

/** The text of `path`, or `undefined` when it does not exist. */
export async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ModelError(`cannot read ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
}

/** The bytes of `path`, or `undefined` when it does not exist. */
export async function readOptionalBytes(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ModelError(`cannot read ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
}

/** Whether `path` exists (as anything). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new ModelError(`cannot read ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
}
