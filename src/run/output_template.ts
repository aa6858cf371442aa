/**
 * `eval --output PATH`: CLIP_benchmark's templated result path. `{dataset}`, `{model}` and
 * `{task}` in PATH are replaced by each pair's dataset (a `/` in it written `_`, as
 * CLIP_benchmark writes its dataset slug), result name and task (`zeroshot_classification`,
 * `zeroshot_retrieval`); the result of each pair is written there instead of
 * `<output_dir>/<model>/<dataset>_<task>.json`.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { prepareOutputFolder } from "../io/output_folder.ts";

/** The fields a result path template may name. */
export const OUTPUT_TEMPLATE_FIELDS = ["dataset", "model", "task"] as const;

/** What fills a template: one model × dataset pair and its task. */
export interface OutputTemplateValues {
  /** The name the model's results are filed under. */
  readonly model: string;
  /** The dataset name. */
  readonly dataset: string;
  /** The task. */
  readonly task: string;
}

const FIELD = /\{([^{}]*)\}/g;

/** The path of one pair's result: `template` with its fields filled in. */
export function fillOutputTemplate(template: string, values: OutputTemplateValues): string {
  return template.replace(FIELD, (whole, field: string) => {
    switch (field) {
      case "dataset":
        return values.dataset.replaceAll("/", "_");
      case "model":
        return values.model;
      case "task":
        return values.task;
      default:
        return whole;
    }
  });
}

/** The two tasks a pair may turn out to have (known only once its dataset is opened). */
const TASKS = ["zeroshot_classification", "zeroshot_retrieval"] as const;

/**
 * Checks a template before anything runs: only known fields, and no two model × dataset pairs
 * writing to the same file (a template without `{dataset}` for several datasets, or without
 * `{model}` for several models).
 *
 * @param flag How the template is named in messages (e.g. `--output`).
 * @throws {UsageError} naming the unknown field, or the two pairs and the file they share.
 */
export function checkOutputTemplate(
  template: string,
  models: readonly string[],
  datasets: readonly string[],
  flag = "--output",
): void {
  for (const [, field] of template.matchAll(FIELD)) {
    if (!(OUTPUT_TEMPLATE_FIELDS as readonly string[]).includes(field)) {
      throw new UsageError(
        `${flag} ${template}: unknown field {${field}} (known: ${
          OUTPUT_TEMPLATE_FIELDS.map((f) => `{${f}}`).join(", ")
        })`,
      );
    }
  }
  for (const task of TASKS) {
    const owners = new Map<string, string>();
    for (const model of models) {
      for (const dataset of datasets) {
        const path = resolve(fillOutputTemplate(template, { model, dataset, task }));
        const pair = `${model} / ${dataset}`;
        const earlier = owners.get(path);
        if (earlier !== undefined && earlier !== pair) {
          const missing = models.length > 1 && !template.includes("{model}")
            ? "{model}"
            : "{dataset}";
          throw new UsageError(
            `${flag} ${template}: ${earlier} and ${pair} would both write ` +
              `${fillOutputTemplate(template, { model, dataset, task })}; put ${missing} in it`,
          );
        }
        owners.set(path, pair);
      }
    }
  }
}

/**
 * The folders the results of `models` × `datasets` go to under a template, as far as they are
 * known before the tasks are: each pair's folder, cut before the first part that names `{task}`.
 */
export function outputTemplateFolders(
  template: string,
  models: readonly string[],
  datasets: readonly string[],
): string[] {
  const folder = dirname(template);
  const parts = folder.split(/[\\/]/);
  const cut = parts.findIndex((part) => part.includes("{task}"));
  const known = cut < 0 ? folder : parts.slice(0, cut).join("/") || (cut === 0 ? "." : "/");
  const folders = new Set<string>();
  for (const model of models) {
    for (const dataset of datasets) {
      folders.add(fillOutputTemplate(known, { model, dataset, task: "" }));
    }
  }
  return [...folders];
}

/**
 * Creates each folder of {@linkcode outputTemplateFolders} and checks that a file can be written
 * in it, so that a template leading into a file or an unwritable folder fails before any work.
 *
 * @throws {UsageError} naming `--output` and the folder.
 */
export async function prepareOutputTemplateFolders(
  template: string,
  models: readonly string[],
  datasets: readonly string[],
): Promise<void> {
  for (const folder of outputTemplateFolders(template, models, datasets)) {
    await prepareOutputFolder(folder, `--output ${template}`);
  }
}
