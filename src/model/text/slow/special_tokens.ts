/**
 * Special tokens from `tokenizer_config.json`, as transformers' slow tokenizers read them: each
 * one a string or an `AddedToken` object (`{"content", "lstrip", "rstrip", "normalized",
 * "single_word", "special"}`), and the `added_tokens_decoder` table that transformers ≥ 4.34
 * writes (id → `AddedToken`). From these the `added_tokens` list of `tokenizer.json` is made.
 *
 * @module
 */

import { ModelError } from "../../../errors.ts";

/** One entry of `tokenizer.json`'s `added_tokens`. */
export interface AddedTokenEntry {
  /** Vocabulary id. */
  readonly id: number;
  /** The token's text. */
  readonly content: string;
  /** Matched only as a whole word. */
  readonly single_word: boolean;
  /** Eats the whitespace on its left. */
  readonly lstrip: boolean;
  /** Eats the whitespace on its right. */
  readonly rstrip: boolean;
  /** Matched in the normalised text (true) or in the raw text (false). */
  readonly normalized: boolean;
  /** A special token (skipped when decoding with `skip_special_tokens`). */
  readonly special: boolean;
}

/** A special token of `tokenizer_config.json`: its text and the flags it was given, if any. */
export interface ConfigToken {
  /** The token's text. */
  readonly content: string;
  /** `normalized` of an `AddedToken` entry; `undefined` for a plain string. */
  readonly normalized?: boolean;
  /** `lstrip` of an `AddedToken` entry. */
  readonly lstrip?: boolean;
  /** `rstrip` of an `AddedToken` entry. */
  readonly rstrip?: boolean;
  /** `single_word` of an `AddedToken` entry. */
  readonly single_word?: boolean;
}

function optionalBoolean(
  value: unknown,
  what: string,
  source: string,
): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    throw new ModelError(`${source}: ${what} must be true or false, got ${JSON.stringify(value)}`, {
      path: source,
    });
  }
  return value;
}

/**
 * The special token `key` of `tokenizer_config.json` (`config`, read from `source`): the
 * configured string or `AddedToken`, else `fallback` (transformers' default for the class);
 * `undefined` when the key is `null` or absent without a fallback.
 */
export function configToken(
  config: Record<string, unknown>,
  key: string,
  fallback: string | undefined,
  source: string,
): ConfigToken | undefined {
  const entry = config[key];
  if (entry === undefined) return fallback === undefined ? undefined : { content: fallback };
  if (entry === null) return undefined;
  if (typeof entry === "string") return { content: entry };
  if (typeof entry === "object" && !Array.isArray(entry)) {
    const record = entry as Record<string, unknown>;
    if (typeof record.content === "string") {
      return {
        content: record.content,
        normalized: optionalBoolean(record.normalized, `${key}.normalized`, source),
        lstrip: optionalBoolean(record.lstrip, `${key}.lstrip`, source),
        rstrip: optionalBoolean(record.rstrip, `${key}.rstrip`, source),
        single_word: optionalBoolean(record.single_word, `${key}.single_word`, source),
      };
    }
  }
  throw new ModelError(
    `${source}: ${key} must be a string or an AddedToken object, got ${JSON.stringify(entry)}`,
    { path: source },
  );
}

/**
 * The `added_tokens_decoder` table of `tokenizer_config.json` as `added_tokens` entries in id
 * order, or `undefined` when the config has none.
 */
export function addedTokensDecoder(
  config: Record<string, unknown>,
  source: string,
): AddedTokenEntry[] | undefined {
  const table = config.added_tokens_decoder;
  if (table === undefined || table === null) return undefined;
  if (typeof table !== "object" || Array.isArray(table)) {
    throw new ModelError(`${source}: added_tokens_decoder must be an object of id → AddedToken`, {
      path: source,
    });
  }
  const entries: AddedTokenEntry[] = [];
  for (const [key, value] of Object.entries(table as Record<string, unknown>)) {
    const id = Number(key);
    const record = value as Record<string, unknown> | null;
    if (
      !/^\d+$/.test(key) || !Number.isSafeInteger(id) || record === null ||
      typeof record !== "object" || typeof record.content !== "string"
    ) {
      throw new ModelError(
        `${source}: added_tokens_decoder entry ${JSON.stringify(key)} must map an id to an ` +
          `AddedToken with a content string`,
        { path: source },
      );
    }
    const flag = (name: string, fallback: boolean) =>
      optionalBoolean(record[name], `added_tokens_decoder.${key}.${name}`, source) ?? fallback;
    entries.push({
      id,
      content: record.content,
      single_word: flag("single_word", false),
      lstrip: flag("lstrip", false),
      rstrip: flag("rstrip", false),
      normalized: flag("normalized", false),
      special: flag("special", false),
    });
  }
  return entries.sort((a, b) => a.id - b.id);
}

/**
 * Checks `tokenizer_class` of `tokenizer_config.json` against the classes a builder reproduces;
 * an absent class is accepted.
 */
export function checkTokenizerClass(
  config: Record<string, unknown>,
  accepted: readonly string[],
  source: string,
  builtFrom: string,
): void {
  const name = config.tokenizer_class;
  if (name === undefined || name === null) return;
  if (typeof name !== "string" || !accepted.includes(name)) {
    throw new ModelError(
      `${source}: tokenizer_class ${JSON.stringify(name)} is not supported with ${builtFrom} ` +
        `(supported: ${accepted.join(", ")})`,
      { path: source },
    );
  }
}
