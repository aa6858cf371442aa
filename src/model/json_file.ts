/**
 * Reading the JSON files of a model folder (`config.json`, `preprocessor_config.json`,
 * `tokenizer.json`, `tokenizer_config.json`, `vocab.json`, …): each must hold a JSON object, and
 * each failure is a {@linkcode ModelError} naming the file.
 *
 * @module
 */

import { ModelError } from "../errors.ts";

/**
 * Parses `text`, the content of `path`, as a JSON object.
 *
 * @param what How the expected content is described in the error (default "a JSON object").
 * @throws {ModelError} naming `path` for invalid JSON or a value that is not an object.
 */
export function parseJsonObject(
  text: string,
  path: string,
  what = "a JSON object",
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelError(`${path} is not valid JSON: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ModelError(`${path} must hold ${what}`, { path });
  }
  return value as Record<string, unknown>;
}

/**
 * Reads `path` as a JSON object; with `optional`, a missing file gives `undefined`.
 *
 * @throws {ModelError} naming `path` when it cannot be read (or is missing and required), is not
 *   valid JSON, or is not an object.
 */
export async function readJsonObject(path: string): Promise<Record<string, unknown>>;
export async function readJsonObject(
  path: string,
  options: { optional: true },
): Promise<Record<string, unknown> | undefined>;
export async function readJsonObject(
  path: string,
  options: { optional?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && options.optional) return undefined;
    throw new ModelError(`cannot read ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
  return parseJsonObject(text, path);
}
