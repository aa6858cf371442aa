/**
 * The prompts of zero-shot classification: which class names and templates a run uses (the
 * dataset's `classnames.txt` and `zeroshot_classification_templates.txt`, or overrides of them),
 * each class's prompts (a template filled with the class name, Python `str.format(c=…)`
 * semantics, or the class's own prompts when the templates map class names to prompts, CuPL
 * style), the distinct prompts the text tower encodes, and the templates as the result file
 * lists them.
 *
 * @module
 */

import type { PromptOverrides, ZeroShotTemplates } from "../../src/dataset/prompts.ts";
import type { WebDataset } from "../../src/dataset/wds.ts";
import { DatasetError } from "../../src/errors.ts";
import { joinLocation } from "../../src/io/locations.ts";

/** The dataset's class names file. */
export const CLASSNAMES_FILE = "classnames.txt";
const TEMPLATES_FILE = "zeroshot_classification_templates.txt";

/** The `*_source` value of class names and templates read from the dataset's own files. */
const DATASET_SOURCE = "dataset";

/**
 * Fills a CLIP_benchmark template: `template.format(c=classname)`. `{c}` is replaced, `{{` and
 * `}}` become `{` and `}`; any other replacement field is an error, as it is in Python.
 */
export function fillTemplate(template: string, classname: string): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (match, field: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    if (field === "c") return classname;
    throw new DatasetError(
      `template ${JSON.stringify(template)} has ${JSON.stringify(match)}; only {c} can be filled`,
    );
  });
}

/**
 * The prompts of each class, in class order: every template filled with the class name, or — when
 * `templates` maps class names to prompts — the class's own prompts, verbatim (CLIP_benchmark's
 * `zero_shot_classifier` with a dict).
 *
 * @param templatesSource Names the templates in error messages.
 * @throws {DatasetError} when there are no templates, or a class has no prompts.
 */
export function classPrompts(
  classnames: readonly string[],
  templates: ZeroShotTemplates,
  templatesSource = "templates",
): string[][] {
  if (Array.isArray(templates)) {
    const list = templates as readonly string[];
    if (list.length === 0) throw new DatasetError(`${templatesSource}: no templates`);
    return classnames.map((c) => list.map((t) => fillTemplate(t, c)));
  }
  const byClass = templates as ReadonlyMap<string, readonly string[]>;
  return classnames.map((c, index) => {
    const prompts = byClass.get(c);
    if (prompts === undefined || prompts.length === 0) {
      throw new DatasetError(
        `${templatesSource}: no prompts for class ${JSON.stringify(c)} ` +
          `(class ${index} of ${classnames.length})`,
      );
    }
    return [...prompts];
  });
}

/** Each class's prompts as indices into a list of distinct prompts, first occurrence first. */
export function deduplicatePrompts(
  prompts: readonly (readonly string[])[],
): { unique: string[]; indices: Int32Array[] } {
  const positions = new Map<string, number>();
  const unique: string[] = [];
  const indices = prompts.map((list) =>
    Int32Array.from(list, (prompt) => {
      let index = positions.get(prompt);
      if (index === undefined) {
        index = unique.length;
        positions.set(prompt, index);
        unique.push(prompt);
      }
      return index;
    })
  );
  return { unique, indices };
}

/** The class names and templates a run uses, with their sources ({@linkcode choosePrompts}). */
export interface ChosenPrompts {
  /** The class names, in label order. */
  readonly classnames: readonly string[];
  /** Where they came from: {@linkcode DATASET_SOURCE} or the override's source. */
  readonly classnamesSource: string;
  /** The templates, or class name → prompts. */
  readonly templates: ZeroShotTemplates;
  /** Where they came from: {@linkcode DATASET_SOURCE} or the override's source. */
  readonly templatesSource: string;
  /** Names the templates in error messages: the dataset's templates file, or the override's source. */
  readonly templatesLocation: string;
}

/**
 * The class names and templates to use, with their sources: the dataset's, unless `overrides`
 * replace them (an override without a source is recorded as `"option"`).
 *
 * @throws {DatasetError} when an override's class names differ in number from the dataset's, or
 * the dataset lacks class names or templates and no override replaces them.
 */
export function choosePrompts(dataset: WebDataset, overrides: PromptOverrides): ChosenPrompts {
  const missing = (file: string) => {
    const path = joinLocation(dataset.root, file);
    return new DatasetError(
      `${path} not found: zero-shot classification needs it (or an override of it)`,
      { path },
    );
  };
  let classnames = dataset.classnames;
  let classnamesSource = DATASET_SOURCE;
  if (overrides.classnames !== undefined) {
    classnamesSource = overrides.classnamesSource ?? "option";
    const own = dataset.classnames;
    if (own !== undefined && overrides.classnames.length !== own.length) {
      throw new DatasetError(
        `the class names of ${classnamesSource} are ${overrides.classnames.length}, but ` +
          `${joinLocation(dataset.root, CLASSNAMES_FILE)} has ${own.length}: ` +
          `the dataset's labels index into the class names, so the counts must match`,
        { path: classnamesSource },
      );
    }
    classnames = overrides.classnames;
  }
  if (classnames === undefined) throw missing(CLASSNAMES_FILE);
  let templates: ZeroShotTemplates | undefined = dataset.templates;
  let templatesSource = DATASET_SOURCE;
  if (overrides.templates !== undefined) {
    templates = overrides.templates;
    templatesSource = overrides.templatesSource ?? "option";
  }
  if (templates === undefined) throw missing(TEMPLATES_FILE);
  const templatesLocation = templatesSource === DATASET_SOURCE
    ? joinLocation(dataset.root, TEMPLATES_FILE)
    : templatesSource;
  return { classnames, classnamesSource, templates, templatesSource, templatesLocation };
}

/** Templates as they go into the result file: a list, or an object of class name → prompts. */
export function templatesAsJson(
  templates: ZeroShotTemplates,
): readonly string[] | Readonly<Record<string, readonly string[]>> {
  return Array.isArray(templates)
    ? [...templates]
    : Object.fromEntries(templates as ReadonlyMap<string, readonly string[]>);
}
