/**
 * Flag parsing for `report` and `compare` with node:util's `parseArgs`, its multi-line errors
 * turned into one-line {@linkcode UsageError}s.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

/** The output formats of `report` and `compare`. */
export type ReportFormat = "markdown" | "csv" | "json";

/**
 * Parses `args` against `options` (positionals allowed, unknown flags refused).
 *
 * @throws {UsageError} with node:util's first line (unknown flag, missing value).
 */
export function parseFlags(
  args: readonly string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new UsageError(message.split("\n")[0].trim());
  }
}

/**
 * Checks `--format`.
 *
 * @throws {UsageError} naming the allowed formats.
 */
export function parseFormat<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--format must be one of ${allowed.join(", ")}, got '${value}'`);
  }
  return value as T;
}

/**
 * Writes `text` to `path`, or to stdout when there is no path.
 *
 * @throws {UsageError} naming `--output` and the path when it cannot be written.
 */
export async function writeOutput(text: string, path: string | undefined): Promise<void> {
  if (path === undefined) {
    await Deno.stdout.write(new TextEncoder().encode(text));
    return;
  }
  try {
    await Deno.writeTextFile(path, text);
  } catch (error) {
    throw new UsageError(`--output ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function nonNegativeInteger(value: string | boolean | undefined, flag: string, least: number) {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
    throw new UsageError(`${flag} must be a whole number, got '${value}'`);
  }
  if (number < least) throw new UsageError(`${flag} must be at least ${least}, got ${number}`);
  return number;
}

/**
 * `--seed N` and `--resamples N` of the bootstrap (absent flags: the defaults).
 *
 * @throws {UsageError} for a value that is not a whole number below 2^53 (resamples: at least
 *   1).
 */
export function bootstrapFlags(
  values: Record<string, string | boolean | undefined>,
): { seed?: number; resamples?: number } {
  const seed = nonNegativeInteger(values.seed, "--seed", 0);
  const resamples = nonNegativeInteger(values.resamples, "--resamples", 1);
  return {
    ...(seed !== undefined && { seed }),
    ...(resamples !== undefined && { resamples }),
  };
}
