/**
 * Class-name and prompt-template overrides for zero-shot classification, read from files.
 *
 * By default a dataset's own `classnames.txt` and `zeroshot_classification_templates.txt` are used
 * (as in CLIP_benchmark since its issue #109). An override file replaces them, in one of two
 * formats, chosen by the file name:
 *
 * - **Plain text** (any name not ending in `.json`): one class name or one template per line, read
 *   exactly like the dataset's own files (`[line.strip() for line in text.splitlines()]`, see
 *   {@linkcode splitTextLines}); the same list applies to every dataset.
 * - **JSON** (`.json`, any case): CLIP_benchmark's `--custom_classname_file` /
 *   `--custom_template_file` format, an object keyed by dataset name. For class names each value
 *   is a list of names. For templates each value is either a list of templates with `{c}`, or an
 *   object mapping each class name to its own list of prompts (class-specific prompts such as
 *   CuPL's, used as they are, without `{c}` filling). The entry is looked up, as CLIP_benchmark
 *   does, under the dataset name's last `/`-separated part; a templates file without that entry
 *   falls back to its `imagenet1k` entry (CLIP_benchmark's default template), a class-names file
 *   has no fallback.
 *
 * Files are local paths or `http(s)://` URLs, UTF-8, at most 16 MiB. A file that cannot be read,
 * is not valid JSON, or does not have the shape above is a {@linkcode UsageError} naming the file
 * (and the key and index involved); so is a JSON file without an entry for a dataset.
 *
 * @module
 */

import { readText } from "../io/byte_source.ts";
import { splitTextLines } from "./wds.ts";
import { ClipbenchError, UsageError } from "../errors.ts";

/**
 * Zero-shot prompts: templates whose `{c}` is filled with each class name, or each class name's
 * own prompts (used verbatim).
 */
export type ZeroShotTemplates = readonly string[] | ReadonlyMap<string, readonly string[]>;

/**
 * Class names and templates that replace a dataset's own, with where they came from. This is the
 * shape {@linkcode promptOverridesFor} returns and zero-shot classification's options accept.
 */
export interface PromptOverrides {
  /** Class names in label order, replacing the dataset's `classnames.txt`. */
  readonly classnames?: readonly string[];
  /** Where `classnames` came from (a path or URL); recorded as the result's `classnames_source`. */
  readonly classnamesSource?: string;
  /** Templates or class-specific prompts, replacing `zeroshot_classification_templates.txt`. */
  readonly templates?: ZeroShotTemplates;
  /** Where `templates` came from; recorded as the result's `templates_source`. */
  readonly templatesSource?: string;
}

/** An override file, parsed once; {@linkcode PromptFile.forDataset} picks a dataset's entry. */
export interface PromptFile<T> {
  /** The path or URL as given. */
  readonly path: string;
  /**
   * The values for one dataset: the whole list of a plain-text file, or the dataset's entry of a
   * JSON file.
   *
   * @throws {UsageError} when a JSON file has no entry for the dataset (nor, for templates, an
   * `imagenet1k` entry).
   */
  forDataset(datasetName: string): T;
}

/** Options of {@linkcode readClassnamesFile} and {@linkcode readTemplatesFile}. */
export interface ReadPromptFileOptions {
  /** Cancels the read. */
  readonly signal?: AbortSignal;
}

/** CLIP_benchmark's fallback entry of a templates file. */
const DEFAULT_TEMPLATES_KEY = "imagenet1k";

/**
 * Reads a class-names override file (plain text, or JSON keyed by dataset name).
 *
 * @throws {UsageError} naming the file when it cannot be read or has the wrong shape.
 */
export async function readClassnamesFile(
  path: string,
  options: ReadPromptFileOptions = {},
): Promise<PromptFile<readonly string[]>> {
  const text = await readOverrideText(path, "class-names", options);
  if (!isJsonPath(path)) return sameForEveryDataset(path, splitTextLines(text));
  const entries = datasetEntries(path, text, "class-names");
  const byDataset = new Map<string, readonly string[]>();
  for (const [key, value] of entries) {
    byDataset.set(key, stringList(value, `${path}: entry "${key}"`));
  }
  return keyedByDataset(path, "class names", byDataset, undefined);
}

/**
 * Reads a templates override file (plain text, or JSON keyed by dataset name whose values are
 * template lists or class → prompts objects).
 *
 * @throws {UsageError} naming the file when it cannot be read or has the wrong shape.
 */
export async function readTemplatesFile(
  path: string,
  options: ReadPromptFileOptions = {},
): Promise<PromptFile<ZeroShotTemplates>> {
  const text = await readOverrideText(path, "templates", options);
  if (!isJsonPath(path)) return sameForEveryDataset(path, splitTextLines(text));
  const entries = datasetEntries(path, text, "templates");
  const byDataset = new Map<string, ZeroShotTemplates>();
  for (const [key, value] of entries) {
    const where = `${path}: entry "${key}"`;
    if (Array.isArray(value)) {
      byDataset.set(key, stringList(value, where));
    } else if (isPlainObject(value)) {
      const prompts = new Map<string, readonly string[]>();
      for (const [classname, list] of Object.entries(value)) {
        const classWhere = `${where}, class "${classname}"`;
        const strings = stringList(list, classWhere);
        if (strings.length === 0) throw new UsageError(`${classWhere} has no prompts`);
        prompts.set(classname, strings);
      }
      byDataset.set(key, prompts);
    } else {
      throw new UsageError(
        `${where} must be a list of templates or an object of class name → prompts, ` +
          `found ${describeJson(value)}`,
      );
    }
  }
  return keyedByDataset(path, "templates", byDataset, DEFAULT_TEMPLATES_KEY);
}

/**
 * The overrides for one dataset from the files given (either may be absent), ready to pass to
 * zero-shot classification: values and their sources.
 *
 * @throws {UsageError} when a JSON file has no entry for the dataset.
 */
export function promptOverridesFor(
  datasetName: string,
  files: {
    readonly classnames?: PromptFile<readonly string[]>;
    readonly templates?: PromptFile<ZeroShotTemplates>;
  },
): PromptOverrides {
  return {
    ...(files.classnames && {
      classnames: files.classnames.forDataset(datasetName),
      classnamesSource: files.classnames.path,
    }),
    ...(files.templates && {
      templates: files.templates.forDataset(datasetName),
      templatesSource: files.templates.path,
    }),
  };
}

async function readOverrideText(
  path: string,
  what: string,
  options: ReadPromptFileOptions,
): Promise<string> {
  try {
    return await readText(path, { signal: options.signal });
  } catch (error) {
    if (!(error instanceof ClipbenchError)) throw error;
    throw new UsageError(`cannot read the ${what} file ${path}: ${error.message}`, {
      cause: error,
    });
  }
}

/** Whether the file name (of a path or URL, without query or fragment) ends in `.json`. */
function isJsonPath(path: string): boolean {
  return /\.json$/i.test(path.replace(/[?#].*$/s, ""));
}

function sameForEveryDataset<T>(path: string, values: T): PromptFile<T> {
  return { path, forDataset: () => values };
}

function keyedByDataset<T>(
  path: string,
  what: string,
  byDataset: ReadonlyMap<string, T>,
  fallbackKey: string | undefined,
): PromptFile<T> {
  return {
    path,
    forDataset(datasetName: string): T {
      const key = datasetName.split("/").pop()!;
      const value = byDataset.get(key) ??
        (fallbackKey === undefined ? undefined : byDataset.get(fallbackKey));
      if (value !== undefined) return value;
      const keys = [...byDataset.keys()];
      throw new UsageError(
        `${path} has no ${what} for dataset "${key}"` +
          (fallbackKey === undefined ? "" : ` and no "${fallbackKey}" entry to fall back to`) +
          ` (its entries: ${keys.slice(0, 20).map((k) => `"${k}"`).join(", ") || "none"}${
            keys.length > 20 ? `, … ${keys.length} in all` : ""
          })`,
      );
    },
  };
}

/** The entries of a JSON object keyed by dataset name. */
function datasetEntries(path: string, text: string, what: string): [string, unknown][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `the ${what} file ${path} is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!isPlainObject(parsed)) {
    throw new UsageError(
      `the ${what} file ${path} must hold a JSON object keyed by dataset name ` +
        `(CLIP_benchmark's format), found ${describeJson(parsed)}`,
    );
  }
  return Object.entries(parsed);
}

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) {
    throw new UsageError(`${where} must be a list of strings, found ${describeJson(value)}`);
  }
  for (const [index, item] of value.entries()) {
    if (typeof item !== "string") {
      throw new UsageError(`${where}: item ${index} is ${describeJson(item)}, not a string`);
    }
  }
  return value as string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}
