/**
 * Evaluation settings: the {@linkcode EvalPlan} that `cli.ts eval` runs, built from flags or from
 * an evalscope `task_cfg` file (JSON or YAML):
 *
 * ```yaml
 * work_dir: outputs
 * eval_backend: RAGEval
 * eval_config:
 *   tool: clip_benchmark
 *   eval:
 *     models: [{ model_name: path/to/model }]
 *     dataset_name: [fashion_mnist]
 *     data_dir: data/{dataset}
 *     split: test
 *     batch_size: 128
 *     num_workers: 1
 *     verbose: true
 *     skip_existing: false
 *     output_dir: outputs
 *     cache_dir: cache
 *     limit: 1000
 * ```
 *
 * Unlike evalscope, which ignores keys it does not know, an unknown or mistyped key is a
 * {@linkcode UsageError} naming the key, so a typo cannot silently change a benchmark.
 *
 * clipbench extensions under `eval`: `shard` (`"i/n"` or `{index, count}`: evaluate one shard
 * and write a partial result) and `shard_count` (the count, with the index from the environment:
 * `CLIPBENCH_SHARD_INDEX` or a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`).
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { UsageError } from "../errors.ts";
import type { HubName } from "../hub/hub_settings.ts";
import { parseHubName } from "../hub/hub_settings.ts";
import type { ModelDtype } from "../model/files.ts";
import type { ExecutionProvider, GraphOptimizationLevel } from "../model/onnx_session.ts";
import type { CropRounding, PreprocessMode } from "../image/preprocess/config.ts";
import type { TextCleaning } from "../model/tokenizer.ts";
import {
  checkShardSpec,
  parseShardSpec,
  shardFromEnvironment,
  type ShardSpec,
} from "../dataset/sharding/shard_spec.ts";

/** Task selection: `auto` reads `dataset_type.txt`, then the dataset name. */
export type TaskChoice = "auto" | "zeroshot_classification" | "zeroshot_retrieval";

/** A model to evaluate: a local folder or a hub repository id, with per-model hub settings. */
export interface ModelSpec {
  /** Local folder, or `org/name` on the hub. */
  readonly id: string;
  /** Revision on the hub (default: the plan's). */
  readonly revision?: string;
  /** Hub (default: the plan's). */
  readonly hub?: HubName;
  /**
   * The name results are filed under (`<output_dir>/<name>/`), instead of the folder's base name
   * or the hub id's last part (`--model-name`, or `models[].name` in a task_cfg).
   */
  readonly name?: string;
}

/** Everything one `eval` run needs. */
export interface EvalPlan {
  /** Models: local folders or hub ids. */
  models: ModelSpec[];
  /** Dataset names. */
  datasets: string[];
  /**
   * Dataset location: a folder or http(s) URL, `{dataset}` replaced by each dataset name; when
   * absent, datasets come from the hub (CLIP_benchmark's `clip-benchmark/wds_<name>`).
   */
  datasetRoot?: string;
  /**
   * A folder or URL prefix that every dataset file, shard URL and redirect must stay within
   * (set by the HTTP handler to the dataset's own allowed folder or URL; unset on the command
   * line).
   */
  datasetBoundary?: string;
  /** Hub for models and datasets given by name: `modelscope` (evalscope's default) or `huggingface`. */
  hub: HubName;
  /** Revision of hub models (default: the hub's main branch). */
  revision?: string;
  /** Base URL replacing the hub's (a mirror; plain http allowed). */
  endpoint?: string;
  /**
   * Use only the caches, never the network; undefined leaves it to the environment
   * (`HF_HUB_OFFLINE`, `TRANSFORMERS_OFFLINE`, read by src/hub/hub_settings.ts).
   */
  offline?: boolean;
  /** Split folder inside the dataset (`test`). */
  split: string;
  /** Task to run. */
  task: TaskChoice;
  /** Images and prompts per batch. */
  batchSize: number;
  /** Decoding workers (evalscope's `num_workers`); undefined = by core count, 0 = in-process. */
  numWorkers?: number;
  /** Run image inference in a worker of its own. */
  inferenceWorker: boolean;
  /** onnxruntime graph optimisation level. */
  graphOptimizationLevel: GraphOptimizationLevel;
  /** onnxruntime's CPU memory arena. */
  memoryArena: boolean;
  /** Execution provider. */
  device: ExecutionProvider;
  /** Neither read nor write the classifier cache. */
  noCache: boolean;
  /**
   * Refuse a model folder with PyTorch weights and no ONNX graphs instead of converting it (see
   * src/convert/): today's behaviour before conversion existed.
   */
  noConvert: boolean;
  /**
   * Tokenizer for models that have none (converted open_clip checkpoints): a folder with
   * `tokenizer.json` or slow tokenizer files, or a hub model id whose tokenizer is fetched. For an
   * open_clip checkpoint without it: Hugging Face's `openai/clip-vit-base-patch32`.
   */
  tokenizer?: string;
  /** Score only the first `limit` samples of each dataset. */
  limit?: number;
  /**
   * Evaluate only this shard of each dataset and write a partial result instead of the result
   * (src/dataset/sharding/shard_reading.ts says which samples; `cli.ts merge` makes the result). Not with `limit`.
   */
  shard?: ShardSpec;
  /**
   * A shard count whose index comes from the environment (`CLIPBENCH_SHARD_INDEX` or a
   * Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`); {@linkcode completePlan} resolves it into
   * `shard` (see src/dataset/sharding/shard_spec.ts).
   */
  shardCount?: number;
  /** Results go to `<outputDir>/<model>/<dataset>_<task>.json`. */
  outputDir: string;
  /**
   * CLIP_benchmark's templated result path (`--output`): `{dataset}`, `{model}` and `{task}`
   * filled in per pair (src/run/output_template.ts); the result goes there instead of under
   * `outputDir` (partial results of a shard still go under `outputDir`).
   */
  outputTemplate?: string;
  /** Skip a model/dataset pair whose result file exists. */
  skipExisting: boolean;
  /** No progress output. */
  quiet: boolean;
  /** Cache folder for hub datasets (evalscope's `cache_dir`); without it they are streamed. */
  cacheDir?: string;
  /** Fail a dataset when more than this fraction of samples is skipped. */
  maxSkippedFraction: number;
  /** onnxruntime intra-op threads (0 = onnxruntime's choice). */
  threads: number;
  /** Which Python preprocessing to reproduce. */
  preprocess: PreprocessMode;
  /** Centre-crop offset rule; undefined = per `preprocess` and model family. */
  cropRounding?: CropRounding;
  /** Text clean-up; undefined = per model family. */
  textCleaning?: TextCleaning;
  /** Precision variant of the ONNX graphs (transformers.js file suffix). */
  dtype: ModelDtype;
  /** The k of the retrieval recall@k metrics. */
  recallK: number[];
  /** File of class names replacing each dataset's `classnames.txt`. */
  classnamesFile?: string;
  /** File of templates (or class-specific prompts) replacing each dataset's templates. */
  templatesFile?: string;
  /** Add the class names used to classification results. */
  dumpClassnames: boolean;
  /** Add the templates used to classification results. */
  dumpTemplates: boolean;
  /**
   * Write each result's per-sample predictions beside it
   * (`<dataset>_<task>.predictions.jsonl`, src/results/predictions/predictions_file.ts).
   */
  savePredictions: boolean;
}

/** The defaults of every optional setting (evalscope's where it has one). */
const DEFAULT_PLAN: Omit<EvalPlan, "models" | "datasets"> = {
  split: "test",
  task: "auto",
  hub: "modelscope",
  batchSize: 128,
  inferenceWorker: false,
  graphOptimizationLevel: "all",
  memoryArena: true,
  device: "cpu",
  noCache: false,
  noConvert: false,
  outputDir: "outputs",
  skipExisting: false,
  quiet: false,
  maxSkippedFraction: 0.01,
  threads: 0,
  preprocess: "hf",
  dtype: "fp32",
  recallK: [1, 5, 10],
  dumpClassnames: false,
  dumpTemplates: false,
  savePredictions: false,
};

/** A non-empty string. */
export function expectString(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") {
    throw new UsageError(`${where} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** `true` or `false`. */
export function expectBoolean(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") {
    throw new UsageError(`${where} must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A positive (or, with `allowZero`, non-negative) integer, from a number or decimal text. */
export function expectInteger(value: unknown, where: string, allowZero = false): number {
  const number = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
    throw new UsageError(
      `${where} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return number;
}

/** A non-empty list of non-empty strings (a single string counts as a list of one). */
function expectStringList(value: unknown, where: string): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new UsageError(
      `${where} must be a non-empty list of strings, got ${JSON.stringify(value)}`,
    );
  }
  return list.map((item, i) => expectString(item, `${where}[${i}]`));
}

/** A JSON object (not null, not a list). */
export function expectObject(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`${where} must be an object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Refuses a key that is not in `allowed`, naming it and the known keys. */
function checkKeys(
  object: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new UsageError(
        `unknown key '${key}' in ${where} (known keys: ${allowed.join(", ")})`,
      );
    }
  }
}

/** Reads an evalscope task configuration file: `.json`, or `.yaml`/`.yml`. */
export async function readTaskConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`cannot read config file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? "YAML" : "JSON"}: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
}

const TOP_LEVEL_KEYS = ["work_dir", "eval_backend", "eval_config"] as const;
const EVAL_CONFIG_KEYS = ["tool", "eval"] as const;
const MODEL_KEYS = ["model_name", "revision", "hub", "name"] as const;

/** evalscope `eval` keys and how each maps onto the plan. */
const EVAL_KEYS: Record<string, (plan: Partial<EvalPlan>, value: unknown, where: string) => void> =
  {
    models: (plan, value, where) => {
      if (!Array.isArray(value) || value.length === 0) {
        throw new UsageError(`${where} must be a non-empty list of {model_name: ...} objects`);
      }
      plan.models = value.map((entry, i) => {
        const model = expectObject(entry, `${where}[${i}]`);
        // evalscope's older `model_name_or_path` is accepted (unlisted) for `model_name`.
        const { model_name_or_path: _older, ...keys } = model;
        checkKeys(keys, MODEL_KEYS, `${where}[${i}]`);
        return {
          id: modelNameOf(model, `${where}[${i}]`),
          revision: model.revision === undefined
            ? undefined
            : expectString(model.revision, `${where}[${i}].revision`),
          hub: model.hub === undefined
            ? undefined
            : parseHubName(expectString(model.hub, `${where}[${i}].hub`), `${where}[${i}].hub`),
          ...(model.name !== undefined &&
            { name: parseModelName(model.name, `${where}[${i}].name`) }),
        };
      });
    },
    dataset_name: (plan, value, where) => (plan.datasets = expectStringList(value, where)),
    data_dir: (plan, value, where) => {
      if (value !== null) plan.datasetRoot = expectString(value, where);
    },
    split: (plan, value, where) => (plan.split = expectString(value, where)),
    task: (plan, value, where) => {
      if (value !== null) plan.task = parseTaskChoice(expectString(value, where), where);
    },
    batch_size: (plan, value, where) => (plan.batchSize = expectInteger(value, where)),
    num_workers: (plan, value, where) => (plan.numWorkers = expectInteger(value, where, true)),
    verbose: (plan, value, where) => (plan.quiet = !expectBoolean(value, where)),
    output_dir: (plan, value, where) => (plan.outputDir = expectString(value, where)),
    cache_dir: (plan, value, where) => {
      if (value !== null) plan.cacheDir = expectString(value, where);
    },
    skip_existing: (plan, value, where) => (plan.skipExisting = expectBoolean(value, where)),
    // clipbench extension: per-sample predictions beside each result.
    save_predictions: (plan, value, where) => (plan.savePredictions = expectBoolean(value, where)),
    limit: (plan, value, where) => {
      if (value !== null) plan.limit = expectInteger(value, where);
    },
    // clipbench extensions: sharded runs (see src/dataset/sharding/shard_spec.ts).
    shard: (plan, value, where) => {
      if (value !== null) plan.shard = parseShardValue(value, where);
    },
    shard_count: (plan, value, where) => {
      if (value !== null) plan.shardCount = expectInteger(value, where);
    },
  };

/**
 * A `models[]` entry's model: `model_name`, or evalscope's older spelling `model_name_or_path`
 * (one of the two, not both).
 */
function modelNameOf(model: Record<string, unknown>, where: string): string {
  if (model.model_name !== undefined && model.model_name_or_path !== undefined) {
    throw new UsageError(
      `${where} gives both model_name and model_name_or_path (the older name of model_name): ` +
        `keep one`,
    );
  }
  return model.model_name_or_path !== undefined
    ? expectString(model.model_name_or_path, `${where}.model_name_or_path`)
    : expectString(model.model_name, `${where}.model_name`);
}

/** A shard as `"i/n"` or `{index, count}` (task_cfg and request bodies). */
export function parseShardValue(value: unknown, where: string): ShardSpec {
  if (typeof value === "string") return parseShardSpec(value, where);
  const object = expectObject(value, where);
  checkKeys(object, ["index", "count"], where);
  return checkShardSpec(object.index, object.count, where);
}

/**
 * A model's result name (`--model-name`, `models[].name`): a non-empty folder name, not `.` or
 * `..`, without `/` or `\\`.
 */
export function parseModelName(value: unknown, where: string): string {
  const name = expectString(value, where);
  if (/[\\/]/.test(name) || name === "." || name === "..") {
    throw new UsageError(
      `${where} must be a folder name (no '/' or '\\', not '.' or '..'), got ${
        JSON.stringify(name)
      }`,
    );
  }
  return name;
}

/** Parses a `--task` value. */
export function parseTaskChoice(value: string, where: string): TaskChoice {
  if (value === "auto" || value === "zeroshot_classification" || value === "zeroshot_retrieval") {
    return value;
  }
  if (value === "image_caption") {
    throw new UsageError(
      `${where}: task 'image_caption' (captioning with an API model) is not supported by clipbench`,
    );
  }
  throw new UsageError(
    `${where} must be auto, zeroshot_classification or zeroshot_retrieval, got '${value}'`,
  );
}

/**
 * Turns a parsed evalscope task configuration into plan settings, checking every key.
 *
 * @param config The parsed file.
 * @param source The file name, for messages.
 * @returns The settings the file gives (models and datasets at least).
 */
export function planFromTaskConfig(config: unknown, source: string): Partial<EvalPlan> {
  const top = expectObject(config, source);
  checkKeys(top, TOP_LEVEL_KEYS, source);
  if (top.eval_backend !== undefined && top.eval_backend !== "RAGEval") {
    throw new UsageError(
      `${source}: eval_backend must be "RAGEval" (evalscope's backend for clip_benchmark), got ${
        JSON.stringify(top.eval_backend)
      }`,
    );
  }
  if (top.work_dir !== undefined) expectString(top.work_dir, `${source}: work_dir`);
  const evalConfig = expectObject(top.eval_config, `${source}: eval_config`);
  checkKeys(evalConfig, EVAL_CONFIG_KEYS, `${source}: eval_config`);
  const tool = typeof evalConfig.tool === "string"
    ? evalConfig.tool.toLowerCase()
    : evalConfig.tool;
  if (tool !== "clip_benchmark") {
    throw new UsageError(
      `${source}: eval_config.tool must be "clip_benchmark", got ${
        JSON.stringify(evalConfig.tool)
      }`,
    );
  }
  const evalSection = expectObject(evalConfig.eval, `${source}: eval_config.eval`);
  checkKeys(evalSection, Object.keys(EVAL_KEYS), `${source}: eval_config.eval`);
  const plan: Partial<EvalPlan> = {};
  for (const [key, value] of Object.entries(evalSection)) {
    EVAL_KEYS[key](plan, value, `${source}: eval_config.eval.${key}`);
  }
  if (!plan.models) throw new UsageError(`${source}: eval_config.eval.models is required`);
  if (!plan.datasets) throw new UsageError(`${source}: eval_config.eval.dataset_name is required`);
  return plan;
}

/**
 * Completes plan settings with the defaults, resolves a `shardCount` with the index from the
 * environment into `shard`, and checks that models and datasets are given and that a limit is not
 * combined with a shard.
 */
export function completePlan(settings: Partial<EvalPlan>): EvalPlan {
  const plan = { ...DEFAULT_PLAN, ...stripUndefined(settings) } as EvalPlan;
  if (plan.shardCount !== undefined) {
    // A count whose index comes from the environment (an orchestrator's).
    plan.shard = shardFromEnvironment({ explicit: plan.shard, count: plan.shardCount });
    delete plan.shardCount;
  }
  if (!plan.models || plan.models.length === 0) {
    throw new UsageError("no model given (--model <dir> or a config file's models)");
  }
  if (!plan.datasets || plan.datasets.length === 0) {
    throw new UsageError("no dataset given (--dataset <name> or a config file's dataset_name)");
  }
  if (plan.shard !== undefined && plan.limit !== undefined) {
    throw new UsageError(
      `a limit (--limit ${plan.limit}) cannot be combined with a shard: a shard cannot know ` +
        `which samples are the dataset's first ${plan.limit} without reading the shards before ` +
        `it; limit an unsharded run instead`,
    );
  }
  if (plan.datasets.length > 1 && plan.datasetRoot && !plan.datasetRoot.includes("{dataset}")) {
    throw new UsageError(
      `${plan.datasets.length} datasets share the dataset root ${plan.datasetRoot}: ` +
        `put {dataset} in it where each dataset's name goes`,
    );
  }
  return plan;
}

function stripUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}
