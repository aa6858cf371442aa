/**
 * Limits on what one evaluation request may ask of the server, so that no request can hold the
 * event loop or the memory for long: the batch size, and the zero-shot prompts (count, length of
 * one prompt after its `{c}` is filled, and all prompts' characters together). They are checked
 * before any model is loaded or any text tokenised, from the class names and templates alone (the
 * prompts are not built to be measured), for inline `classnames` / `templates` and for the
 * dataset's own files alike. Exceeding one is a {@linkcode RequestError} 400 naming the limit and
 * the field.
 *
 * @module
 */

import type { ZeroShotTemplates } from "../dataset/prompts.ts";
import { RequestError } from "./request_error.ts";

/** The limits of {@linkcode checkPromptLimits} and the largest `batch_size`. */
export interface RequestLimits {
  /** Largest `batch_size` a request may ask for. */
  readonly maxBatchSize: number;
  /** Most zero-shot prompts (class names × templates, or the class-specific prompts). */
  readonly maxPrompts: number;
  /** Longest prompt once its `{c}` is filled, in characters (CLIP reads 77 tokens of it). */
  readonly maxPromptLength: number;
  /** Most characters of all prompts together. */
  readonly maxPromptChars: number;
}

/** The defaults: generous for ImageNet's 1,000 classes × 80 templates (~3.5 M characters). */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxBatchSize: 256,
  maxPrompts: 100_000,
  maxPromptLength: 2_000,
  maxPromptChars: 8_000_000,
};

/** The option names, for messages. */
const OPTION_NAMES: Readonly<Record<keyof RequestLimits, string>> = {
  maxBatchSize: "maxBatchSize, --max-batch-size",
  maxPrompts: "maxPrompts, --max-prompts",
  maxPromptLength: "maxPromptLength, --max-prompt-length",
  maxPromptChars: "maxPromptChars, --max-prompt-chars",
};

/** The error for `limit` exceeded by `field`. */
function limitError(
  limit: keyof RequestLimits,
  limits: RequestLimits,
  field: string,
  what: string,
): RequestError {
  return new RequestError(
    400,
    `${field}: ${what}, more than this server's limit of ${limits[limit]} ` +
      `(${OPTION_NAMES[limit]})`,
    { field },
  );
}

/** A template's length without its `{c}` fields (`{{`, `}}` counting one) and its `{c}` count. */
function templateShape(template: string): { literal: number; slots: number } {
  let literal = 0;
  let slots = 0;
  let last = 0;
  for (const match of template.matchAll(/\{\{|\}\}|\{c\}/g)) {
    literal += match.index - last;
    if (match[0] === "{c}") slots++;
    else literal++;
    last = match.index + match[0].length;
  }
  return { literal: literal + template.length - last, slots };
}

/**
 * Checks the prompts `classnames` and `templates` make against the limits, without building
 * them. `field` names the request field to blame (the inline templates or class names, else
 * `dataset`).
 *
 * @throws {RequestError} 400 naming the limit and the field.
 */
export function checkPromptLimits(
  classnames: readonly string[],
  templates: ZeroShotTemplates,
  limits: RequestLimits,
  field: string,
): void {
  let count = 0;
  let longest = 0;
  let total = 0;
  if (Array.isArray(templates)) {
    const list = templates as readonly string[];
    let classChars = 0;
    let longestClass = 0;
    for (const name of classnames) {
      classChars += name.length;
      longestClass = Math.max(longestClass, name.length);
    }
    count = classnames.length * list.length;
    for (const template of list) {
      const { literal, slots } = templateShape(template);
      longest = Math.max(longest, literal + slots * longestClass);
      total += literal * classnames.length + slots * classChars;
    }
  } else {
    const byClass = templates as ReadonlyMap<string, readonly string[]>;
    for (const name of classnames) {
      for (const prompt of byClass.get(name) ?? []) {
        count++;
        longest = Math.max(longest, prompt.length);
        total += prompt.length;
      }
    }
  }
  if (count > limits.maxPrompts) {
    throw limitError("maxPrompts", limits, field, `${count} prompts`);
  }
  if (longest > limits.maxPromptLength) {
    throw limitError(
      "maxPromptLength",
      limits,
      field,
      `a prompt of ${longest} characters once {c} is filled`,
    );
  }
  if (total > limits.maxPromptChars) {
    throw limitError("maxPromptChars", limits, field, `${total} prompt characters in all`);
  }
}
