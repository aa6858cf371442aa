/**
 * The fingerprint a partial result carries: everything its numbers depend on, so that the merge
 * can refuse partials that do not belong together, and say what differs.
 *
 * - `model`: the SHA-256 of every file the model was loaded from (the graphs of the chosen
 *   precision with their external-data files, `config.json`, `preprocessor_config.json`,
 *   `tokenizer.json`, `tokenizer_config.json`), by path within the model folder; the precision;
 *   the family; the effective image preprocessing (after defaults and `--preprocess` /
 *   `--crop-rounding`); the effective tokenizer settings (context length, pad id, text cleaning,
 *   padding); the execution provider and graph optimisation level (thread counts are left out:
 *   they do not change a CPU run's arithmetic here).
 * - `dataset`: its name, split, task, declared type and tar shard count. The location is not part
 *   of it (the same data may be mounted at different paths on different workers).
 * - `task`: the task's own inputs — class names, templates and the SHA-256 of the classifier's
 *   weights, or the recall@k list (see the task modules).
 * - `options`: the batch size, the skipped-sample threshold and the limit.
 *
 * The model's file hashes are remembered between runs in the classifier cache's
 * `file_hashes.json` (keyed by path, size and modification time), so a large graph is read once.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { fileContentHashes, graphFiles } from "../../model/file_hashes.ts";
import type { ClipModel } from "../../model/model.ts";

/** What a partial's numbers depend on, in four groups (see the module documentation). */
export interface PartialFingerprint {
  /** The model: file hashes and effective settings. */
  readonly model: Readonly<Record<string, unknown>>;
  /** The dataset: name, split, task, type, tar shards. */
  readonly dataset: Readonly<Record<string, unknown>>;
  /** The task's inputs: prompts and classifier hash, or recall@k. */
  readonly task: Readonly<Record<string, unknown>>;
  /** Run options that change the outcome. */
  readonly options: Readonly<Record<string, unknown>>;
}

async function existing(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    try {
      if ((await Deno.stat(path)).isFile) found.push(path);
    } catch {
      // Optional file that is absent.
    }
  }
  return found;
}

/**
 * The `model` group of a fingerprint (see the module documentation).
 *
 * @param cacheDir Where file hashes are remembered (`file_hashes.json`).
 */
export async function modelFingerprint(
  model: ClipModel,
  cacheDir: string,
): Promise<Record<string, unknown>> {
  const graphs = [...new Set([model.vision.path, model.text.path])];
  const files = [
    ...new Set([
      ...(await Promise.all(graphs.map(graphFiles))).flat(),
      ...await existing(
        ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"]
          .map((name) => join(model.dir, name)),
      ),
    ]),
  ];
  const hashes = await fileContentHashes(files, cacheDir);
  const tokenizer = model.tokenizer;
  const session = model.sessionSettings;
  return {
    files: Object.fromEntries(
      files.map((path, i) => [relative(model.dir, path).replaceAll("\\", "/"), hashes[i]]),
    ),
    dtype: model.dtype,
    family: model.family.name,
    preprocessing: model.preprocessor.settings,
    tokenizer: {
      context_length: tokenizer.contextLength,
      pad_id: tokenizer.padId,
      text_cleaning: tokenizer.textCleaning,
      padding: tokenizer.padding,
    },
    image_output: model.vision.outputName,
    text_output: model.text.outputName,
    execution_provider: session.executionProvider ?? "cpu",
    graph_optimization_level: session.graphOptimizationLevel ?? "all",
  };
}

/** JSON with object keys sorted, so that equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) =>
      item !== null && typeof item === "object" && !Array.isArray(item)
        ? Object.fromEntries(Object.keys(item).sort().map((key) => [key, item[key]]))
        : item,
  );
}

/** SHA-256 of the canonical JSON of a fingerprint. */
export function fingerprintSha256(fingerprint: PartialFingerprint): string {
  return createHash("sha256").update(canonicalJson(fingerprint)).digest("hex");
}

function short(value: unknown): string {
  const text = value === undefined ? "nothing" : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * The first place where two fingerprint values differ, as a path and the two values, or
 * `undefined` when they are equal.
 */
export function firstDifference(
  a: unknown,
  b: unknown,
  path = "",
): { path: string; left: string; right: string } | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const step = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
        ? (path === "" ? key : `.${key}`)
        : `[${JSON.stringify(key)}]`;
      const found = firstDifference(a[key], b[key], `${path}${step}`);
      if (found) return found;
    }
    return undefined;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      const found = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (canonicalJson(a) === canonicalJson(b)) return undefined;
  return { path, left: short(a), right: short(b) };
}
