/**
 * The body of `POST /v1/evaluate`: one model on one dataset, in the vocabulary of the command line
 * and of evalscope's `task_cfg`, as JSON.
 *
 * ```json
 * {
 *   "model": "tiny-clip-demo",
 *   "dataset": "fashion_mnist_1k",
 *   "split": "test",
 *   "task": "auto",
 *   "batch_size": 64,
 *   "limit": 500,
 *   "recall_k": [1, 5, 10]
 * }
 * ```
 *
 * | field                             | meaning (the `eval` flag)                                   |
 * | --------------------------------- | ----------------------------------------------------------- |
 * | `model` (or `model_name`)         | a folder under an allowed model root, or a hub id (`--model`) |
 * | `dataset` (or `dataset_name`)     | dataset name (`--dataset`)                                  |
 * | `dataset_root` (or `data_dir`)    | one of the server's dataset roots, exactly as configured    |
 * | `hub`, `revision`                 | hub and revision for hub models and datasets (allowed hubs only) |
 * | `split`, `task`, `limit`, `batch_size`, `max_skipped`, `recall_k` | as the flags          |
 * |                                   | (`split`, `revision`: plain relative names; `batch_size` at most the server's limit) |
 * | `shard`                           | `"i/n"` or `{"index": i, "count": n}`: answer a partial result |
 * | `dtype`, `preprocess`, `crop_rounding`, `text_cleaning` | as the flags                      |
 * | `classnames`, `templates`         | inline overrides: a list of names; a list of templates or an object class → prompts |
 * | `dump_classnames`, `dump_templates` | as the flags                                              |
 * | `timeout_s`                       | a deadline shorter than the server's                        |
 *
 * Server-side settings (decoding workers, threads, device, caches, hub endpoint, offline mode)
 * are not request fields. An unknown field, a field of the wrong type or value, or a field given
 * under both its names is a {@linkcode RequestError} (400) naming the field.
 *
 * @module
 */

import {
  type EvalPlan,
  expectBoolean,
  expectInteger,
  expectObject,
  expectString,
  parseShardValue,
  parseTaskChoice,
} from "../run/config.ts";
import { UsageError } from "../errors.ts";
import { type HubName, parseHubName } from "../hub/hub_settings.ts";
import { MODEL_DTYPES, type ModelDtype } from "../model/files.ts";
import type { ZeroShotTemplates } from "../dataset/prompts.ts";
import { RequestError } from "./request_error.ts";

/** A validated `POST /v1/evaluate` body. */
export interface EvaluationRequest {
  /** The model as asked for (resolved against the allow-list by src/server/sources.ts). */
  readonly model: string;
  /** The dataset name. */
  readonly dataset: string;
  /** The dataset root asked for (must be one the server allows). */
  readonly datasetRoot?: string;
  /** The hub asked for. */
  readonly hub?: HubName;
  /** Revision of a hub model. */
  readonly revision?: string;
  /** Plan settings: split, task, limit, batch size, shard and the options. */
  readonly settings: Partial<EvalPlan>;
  /** Inline class names. */
  readonly classnames?: readonly string[];
  /** Inline templates or class-specific prompts. */
  readonly templates?: ZeroShotTemplates;
  /** Requested deadline in seconds. */
  readonly timeoutSeconds?: number;
}

/** Field names, each with its alias (the task_cfg name) where it has one. */
const ALIASES: Readonly<Record<string, string>> = {
  model_name: "model",
  dataset_name: "dataset",
  data_dir: "dataset_root",
};

const FIELDS = [
  "model",
  "dataset",
  "dataset_root",
  "hub",
  "revision",
  "split",
  "task",
  "limit",
  "batch_size",
  "shard",
  "recall_k",
  "max_skipped",
  "dtype",
  "preprocess",
  "crop_rounding",
  "text_cleaning",
  "classnames",
  "templates",
  "dump_classnames",
  "dump_templates",
  "timeout_s",
];

function choice<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw new UsageError(
      `${field} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

function fraction(value: unknown, field: string): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new UsageError(`${field} must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function seconds(value: unknown, field: string): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(
      `${field} must be a positive number of seconds, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function strings(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new UsageError(`${field} must be a non-empty list of strings`);
  }
  return value.map((item, i) => {
    if (typeof item !== "string") {
      throw new UsageError(`${field}[${i}] must be a string, got ${JSON.stringify(item)}`);
    }
    return item;
  });
}

/** Plain relative path segments: no `..`, no leading dot, no backslash, no `%`, no scheme. */
const PLAIN_PATH = /^[A-Za-z0-9_][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

/** A path-like field (`split`, `revision`): plain relative segments only. */
function plainPath(value: unknown, field: string): string {
  const text = expectString(value, field);
  if (!PLAIN_PATH.test(text)) {
    throw new UsageError(
      `${field} must be a plain relative name (segments of letters, digits, '_', '.', '-', ` +
        `separated by '/', none starting with a dot); got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

function templates(value: unknown, field: string): ZeroShotTemplates {
  if (Array.isArray(value)) return strings(value, field);
  const object = expectObject(value, field);
  const map = new Map<string, readonly string[]>();
  for (const [name, prompts] of Object.entries(object)) {
    map.set(name, strings(prompts, `${field}.${name}`));
  }
  if (map.size === 0) throw new UsageError(`${field} must not be empty`);
  return map;
}

/** Limits {@linkcode parseEvaluationRequest} applies (see src/server/request_limits.ts). */
export interface ParseLimits {
  /** Largest `batch_size` (default: none). */
  readonly maxBatchSize?: number;
}

/**
 * Validates a parsed `POST /v1/evaluate` body.
 *
 * @throws {RequestError} (400) naming the first field that is unknown, missing, given twice,
 * invalid or beyond a limit.
 */
export function parseEvaluationRequest(
  body: unknown,
  limits: ParseLimits = {},
): EvaluationRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new RequestError(400, "the request body must be a JSON object");
  }
  const fields = new Map<string, unknown>();
  for (const [key, value] of Object.entries(body)) {
    const name = ALIASES[key] ?? key;
    if (!FIELDS.includes(name)) {
      throw new RequestError(400, `unknown field '${key}' (known fields: ${FIELDS.join(", ")})`, {
        field: key,
      });
    }
    if (fields.has(name)) {
      throw new RequestError(400, `field '${name}' is given twice (as '${name}' and its alias)`, {
        field: name,
      });
    }
    if (value !== null) fields.set(name, value);
  }
  /** Runs a field's check, turning its UsageError into a 400 naming the field. */
  const field = <T>(name: string, parse: (value: unknown, where: string) => T): T | undefined => {
    if (!fields.has(name)) return undefined;
    try {
      return parse(fields.get(name), name);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      throw new RequestError(400, error.message, { field: name, cause: error });
    }
  };
  for (const required of ["model", "dataset"]) {
    if (!fields.has(required)) {
      throw new RequestError(400, `field '${required}' is required`, { field: required });
    }
  }
  const settings: Partial<EvalPlan> = {
    split: field("split", plainPath),
    task: field("task", (v, w) => parseTaskChoice(expectString(v, w), w)),
    limit: field("limit", (v, w) => expectInteger(v, w)),
    batchSize: field("batch_size", (v, w) => {
      const size = expectInteger(v, w);
      if (limits.maxBatchSize !== undefined && size > limits.maxBatchSize) {
        throw new UsageError(
          `${w} ${size} is more than this server's limit of ${limits.maxBatchSize} ` +
            `(maxBatchSize, --max-batch-size)`,
        );
      }
      return size;
    }),
    shard: field("shard", parseShardValue),
    recallK: field("recall_k", (v, w) => {
      if (!Array.isArray(v) || v.length === 0) {
        throw new UsageError(`${w} must be a non-empty list of positive integers`);
      }
      return v.map((k, i) => expectInteger(k, `${w}[${i}]`));
    }),
    maxSkippedFraction: field("max_skipped", fraction),
    dtype: field("dtype", (v, w) => choice<ModelDtype>(v, w, MODEL_DTYPES)),
    preprocess: field("preprocess", (v, w) => choice(v, w, ["hf", "openclip"] as const)),
    cropRounding: field("crop_rounding", (v, w) => choice(v, w, ["floor", "round"] as const)),
    textCleaning: field("text_cleaning", (v, w) => choice(v, w, ["open_clip", "none"] as const)),
    dumpClassnames: field("dump_classnames", expectBoolean),
    dumpTemplates: field("dump_templates", expectBoolean),
  };
  if (settings.shard !== undefined && settings.limit !== undefined) {
    throw new RequestError(
      400,
      "limit cannot be combined with shard: a shard cannot know which samples are the " +
        "dataset's first ones",
      { field: "limit" },
    );
  }
  return {
    model: field("model", expectString)!,
    dataset: field("dataset", expectString)!,
    datasetRoot: field("dataset_root", expectString),
    hub: field("hub", (v, w) => parseHubName(expectString(v, w), w)),
    revision: field("revision", plainPath),
    settings,
    classnames: field("classnames", strings),
    templates: field("templates", templates),
    timeoutSeconds: field("timeout_s", seconds),
  };
}
