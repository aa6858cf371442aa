/**
 * clipbench's command line: `deno run -A cli.ts <command> [flags]`.
 *
 * - `eval`: zero-shot evaluation of models on datasets (flags or an evalscope task_cfg file);
 *   with `--shard i/n` (or an orchestrator's index in the environment) one shard, written as a
 *   partial result; with `--shards n`, n local worker processes and the merge.
 * - `merge`: partial results of all shards → the result file.
 * - `serve`: the HTTP evaluation handler (src/server/handler.ts).
 * - `inspect text` / `inspect image`: token ids and preprocessed tensors, for parity checks
 *   against Python.
 *
 * Exit status: 0 on success, 1 when an evaluation failed, 2 for bad flags or configuration.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  completePlan,
  type EvalPlan,
  expectInteger,
  parseModelName,
  parseTaskChoice,
  planFromTaskConfig,
  readTaskConfigFile,
} from "./src/run/config.ts";
import { ClipbenchError, UsageError } from "./src/errors.ts";
import { CONVERT_DTYPES, convertCheckpoint } from "./src/convert/convert.ts";
import { REPORT_HELP, runReport } from "./src/report/report_command.ts";
import { COMPARE_HELP, runCompare } from "./src/report/compare_command.ts";
import { MODEL_DTYPES } from "./src/model/files.ts";
import { GRAPH_OPTIMIZATION_LEVELS } from "./src/model/onnx_session.ts";
import { parseHubName } from "./src/hub/hub_settings.ts";
import { listDatasets } from "./src/dataset/dataset_list.ts";
import { listDatasetsUnderRoot } from "./src/dataset/root_listing.ts";
import { CUSTOM_DATASET, resultNames, runEvaluations } from "./src/run/evaluate.ts";
import { datasetRepositoryId } from "./src/hub/resolve_dataset.ts";
import { inspectImage, inspectText } from "./src/run/inspect.ts";
import { prepareResultFolders, writeResult } from "./src/results/result.ts";
import { checkModelArgument, checkModelFolder } from "./src/run/model_argument.ts";
import {
  parseShardSpec,
  SHARD_COUNT_ENV,
  shardFromEnvironment,
} from "./src/dataset/sharding/shard_spec.ts";
import { exitWithParent, runLocalShards } from "./src/run/local_shards.ts";
import { mergePartialFilesAndWrite } from "./src/results/partial/merge.ts";
import { serveEvaluations, TOKEN_ENV } from "./src/server/serve.ts";
import type { HubName } from "./src/hub/hub_settings.ts";

import { expandDatasetArguments } from "./src/cli/dataset_arguments.ts";
import { formatSummaryTable } from "./src/results/summary_table.ts";
import { writeMessage } from "./src/run/terminal_wrap.ts";
import { didYouMean } from "./src/cli/did_you_mean.ts";
import { checkOutputTemplate, prepareOutputTemplateFolders } from "./src/run/output_template.ts";
import { findRegisteredDataset, REGISTERED_DATASETS } from "./src/dataset/registry.ts";
import { VERSION } from "./src/version.ts";
import "./tasks/mod.ts";
export { VERSION };

const MAIN_HELP = `clipbench ${VERSION} — zero-shot benchmarks of CLIP-style ONNX models

Usage:
  deno run -A cli.ts eval [flags]              evaluate models on datasets
  deno run -A cli.ts convert DIR --output OUT  convert a PyTorch checkpoint to ONNX
  deno run -A cli.ts report [DIR|FILE...]      one table of all results (Markdown, CSV, JSON)
  deno run -A cli.ts compare A B               compare two models on their shared datasets
  deno run -A cli.ts merge PARTIAL... [flags]  merge the partial results of a sharded run
  deno run -A cli.ts serve [flags]             serve evaluations over HTTP
  deno run -A cli.ts inspect text [flags] TEXT...   print token ids
  deno run -A cli.ts inspect image [flags] FILE     print the preprocessed tensor
  deno run -A cli.ts datasets [flags]          list the 43 CLIP_benchmark datasets
  deno run -A cli.ts help [eval|convert|report|compare|merge|serve|inspect|datasets]  show help
  deno run -A cli.ts --version                 print the version

Run 'deno run -A cli.ts eval --help' for the evaluation flags.
`;

const EVAL_HELP =
  `Usage: deno run -A cli.ts eval --model DIR --dataset NAME... --dataset-root ROOT [flags]
       deno run -A cli.ts eval --config task_cfg.yaml [flags]

Evaluates each model on each dataset and writes
OUTPUT_DIR/<model folder name>/<dataset>_<task>.json (evalscope's result files).
Datasets use CLIP_benchmark's WebDataset layout (ROOT/<split>/nshards.txt, ROOT/<split>/0.tar...,
ROOT/classnames.txt, ROOT/zeroshot_classification_templates.txt, ROOT/dataset_type.txt); the
dataset named 'custom' is a folder with image_queries.jsonl (evalscope's custom retrieval data).

Flags:
  --model DIR|ID          model folder (transformers.js layout: config.json,
                          preprocessor_config.json, tokenizer.json, onnx/*.onnx) or a hub
                          repository id (org/name); repeatable, or several after one flag.
                          A folder or repository with PyTorch weights and no ONNX export
                          (transformers CLIP / Chinese-CLIP / SigLIP, open_clip) is converted
                          on first use into the cache (see 'cli.ts convert')
  --model-name NAME       name results are filed under (outputs/NAME/), paired with --model in
                          order; repeatable. Needed when two models share a base name
  --tokenizer DIR|ID      tokenizer for a model without one (open_clip checkpoints): a folder
                          with tokenizer.json or slow tokenizer files, or a hub model id; an
                          open_clip checkpoint without it uses Hugging Face's
                          openai/clip-vit-base-patch32
  --no-convert            refuse PyTorch checkpoints instead of converting them
  --dataset NAME|FILE     dataset name(s); repeatable, or several after one flag; an existing
                          .txt file lists names, one per line (# comments and blank lines
                          ignored), as CLIP_benchmark's --dataset takes it
  --dataset-root ROOT     folder or http(s) URL of the dataset; {dataset} is replaced by each
                          name (required when several datasets share it). Without it, datasets
                          come from the hub by name (see 'cli.ts datasets')
  --split NAME            split folder (default: test)
  --task TASK             auto (default: dataset_type.txt, then the dataset name),
                          zeroshot_classification or zeroshot_retrieval
  --batch-size N          images and prompts per batch (default: 128)
  --num-workers N         decoding workers (evalscope's num_workers); default min(cores, 4);
                          0 decodes on the main thread
  --inference-worker      run image inference in a worker of its own (costs a second copy of
                          the image graph; helps when reading is slow)
  --limit N               score only the first N samples of each dataset, in shard order
  --output-dir DIR        where result files go (default: outputs)
  --output PATH           write each result to PATH instead, {dataset}, {model} and {task}
                          replaced (CLIP_benchmark's templated --output), e.g.
                          results/{model}/{dataset}_{task}.json; folders are created
  --skip-existing         skip a model/dataset pair whose result file was made with the same
                          settings (model files, split, limit, dtype, preprocessing, prompts,
                          task options); otherwise run it again and say why
  --quiet                 no progress output
  --config FILE           evalscope task_cfg (.json, .yaml, .yml); flags given as well override it
  --hub HUB               modelscope (default, as evalscope) or huggingface, for hub models and
                          datasets
  --revision REV          revision of hub models (default: the hub's main branch)
  --endpoint URL          base URL replacing the hub's (a mirror; plain http allowed); also
                          CLIPBENCH_HUB_ENDPOINT, HF_ENDPOINT, MODELSCOPE_DOMAIN
  --offline               use only the caches (also HF_HUB_OFFLINE=1); says what is missing
  --cache-dir DIR         evalscope's cache_dir: hub datasets are downloaded here on first use
                          and read from here next time (without it they are streamed)
  --max-skipped FRACTION  fail a dataset when more than this fraction of its samples cannot be
                          used (undecodable image, missing label or captions); default 0.01
  --recall-k K...         the k of retrieval's recall@k metrics (default: 1 5 10; evalscope
                          reports 5)
  --classnames FILE       class names replacing each dataset's classnames.txt: one per line,
                          or CLIP_benchmark's JSON {dataset: [names]}
  --templates FILE        templates replacing each dataset's zeroshot_classification_templates.txt:
                          one per line, or CLIP_benchmark's JSON {dataset: [templates] or
                          {class: [prompts]}}
  --dump-classnames       add the class names used to classification results
  --dump-templates        add the templates used to classification results
  --save-predictions      write each result's per-sample predictions beside it
                          (<dataset>_<task>.predictions.jsonl: for report's bootstrap intervals
                          and compare's paired tests)
  --dtype DTYPE           ONNX variant by transformers.js file suffix: fp32 (default), fp16, q8,
                          int8, uint8, q4, q4f16, bnb4
  --preprocess MODE       hf (transformers' image processor, default) or openclip (open_clip /
                          CLIP_benchmark: resize and crop before the RGB conversion, crop offset
                          rounded)
  --crop-rounding MODE    override the centre-crop offset rule: floor (transformers) or round
                          (open_clip / torchvision CenterCrop)
  --text-cleaning MODE    open_clip (HTML-unescape texts as open_clip does; default for clip and
                          mobileclip models) or none (as Hugging Face tokenizers do)
  --threads N             onnxruntime intra-op threads (default: 0 = one per core)
  --graph-opt LEVEL       onnxruntime graph optimisation: disabled, basic, extended, all
                          (default)
  --no-arena              disable onnxruntime's CPU memory arena
  --device DEVICE         cpu (default) or cuda (needs onnxruntime-node's CUDA libraries)
  --no-cache              do not read or write the classifier cache (text-tower results, kept
                          under --cache-dir or ~/.cache/clipbench, keyed by model and prompts);
                          converted checkpoints are cached there too, keyed by their weights
  --shard I/N             evaluate only shard I of N (0-based) of each dataset and write a partial
                          result, OUTPUT_DIR/<model>/<dataset>_<task>.shard-I-of-N.partial, for
                          'cli.ts merge' (tar shards I, I+N, ...; with fewer tar shards than N,
                          slices of them); not with --limit
  --shard-count N         shard count N, the index taken from CLIPBENCH_SHARD_INDEX or
                          JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); also
                          CLIPBENCH_SHARD_COUNT
  --shards N              run N worker processes here, one shard each, and merge their partial
                          results into the result files (not with --limit or --skip-existing)
  -h, --help              this help
`;

const CONVERT_HELP =
  `Usage: deno run -A cli.ts convert CHECKPOINT_DIR --output OUT_DIR [--dtype fp32|fp16|int8]
       [--tokenizer DIR] [--quiet]

Converts a PyTorch checkpoint into a model folder in the transformers.js layout, with the ONNX
graphs built here (no Python): OUT_DIR/onnx/vision_model.onnx (pixel_values → image_embeds),
OUT_DIR/onnx/text_model.onnx (input_ids [+ attention_mask, token_type_ids] → text_embeds),
weights in .onnx_data files for a tower above 1 GiB, config.json, preprocessor_config.json, the
tokenizer (tokenizer.json, or built from vocab.json + merges.txt, vocab.txt or spiece.model) and
clipbench_conversion.json (what was converted). OUT_DIR must not exist or be empty; it appears
only when complete.

Checkpoints: transformers CLIPModel, ChineseCLIPModel and SiglipModel folders (config.json with
model.safetensors, pytorch_model.bin, or their sharded *.index.json forms), and open_clip's
(open_clip_config.json with open_clip_model.safetensors, open_clip_pytorch_model.bin or a .pt
state dict). float32, float16 and bfloat16 weights are computed in float32, or in float16 with
--dtype fp16 (the graphs are then named *_fp16.onnx, as transformers.js names them, and 'eval
--dtype fp16' loads them). --dtype int8 quantises the linear layers' weights to int8 per output
column and runs them as onnxruntime's DynamicQuantizeMatMul (activations quantised per call):
*_int8.onnx, loaded by 'eval --dtype int8'; faster on CPUs with int8 kernels (AVX-512 VNNI,
AVX2), at a small accuracy cost the README measures.

Flags:
  --output DIR            the model folder to write (required)
  --dtype DTYPE           fp32 (default), fp16 or int8
  --tokenizer DIR         tokenizer files to use when the checkpoint has none (open_clip); without
                          one such a model converts, and 'eval' then needs --tokenizer
  --quiet                 no progress output
  -h, --help              this help
`;

const MERGE_HELP = `Usage: deno run -A cli.ts merge PARTIAL... [--output-dir DIR] [--quiet]

Merges the partial results of shards 0/N ... (N-1)/N of one model/dataset evaluation
('eval --shard I/N') into its result file, OUTPUT_DIR/<model>/<dataset>_<task>.json, with exactly
the numbers of an unsharded run. Refuses partials of different models, datasets, templates or
options (naming what differs), missing or duplicated shards, and corrupted files.

Flags:
  --output-dir DIR        where the result file goes (default: outputs)
  --quiet                 do not print the result table
  -h, --help              this help
`;

const SERVE_HELP = `Usage: deno run -A cli.ts serve [flags]

Serves evaluations over HTTP: POST /v1/evaluate (a JSON body: model, dataset, task, split, limit,
batch_size, shard, ...; Accept: application/x-ndjson streams progress), GET /v1/health,
GET /v1/datasets. Requests carry 'Authorization: Bearer <token>', the token read from
${TOKEN_ENV} (or --token-env). Models and datasets come only from the roots and hubs given here.

Flags:
  --host HOST             address to listen on (default: 127.0.0.1)
  --port N                port (default: 8080; 0 picks a free one)
  --model-root DIR        a folder whose model folders requests may name; repeatable
  --dataset-root ROOT     a folder or http(s) URL of datasets ({dataset} where the name goes);
                          repeatable
  --hub HUB               allow models and datasets from this hub (modelscope, huggingface);
                          repeatable; the first is the default
  --no-auth               serve without a token (loopback addresses only)
  --token-env NAME        the environment variable holding the token (default: ${TOKEN_ENV})
  --max-body BYTES        largest request body (default: 65536)
  --deadline SECONDS      longest evaluation (default: 900); a request's timeout_s may shorten it
  --max-concurrent N      evaluations at once (default: 2); more are answered 503
  --header-timeout SECONDS
                          a request's line and headers must arrive within this after the
                          connection (default: 10); slower clients get 408 and are disconnected
  --body-timeout SECONDS  a request's body must arrive within this after its headers
                          (default: 30); 408 and disconnected beyond
  --max-connections N     connections open at once (default: 256; keep it under 'ulimit -n');
                          more are answered 503 and closed
  --model-cache N         models kept loaded between requests (default: 2)
  --max-batch-size N      largest batch_size a request may ask for (default: 256)
  --max-prompts N         most zero-shot prompts (classes x templates) a request may make
                          (default: 100000)
  --max-prompt-length N   longest prompt once {c} is filled, in characters (default: 2000)
  --max-prompt-chars N    most characters of a request's prompts together (default: 8000000)
  --batch-size N          default batch size (default: 128)
  --num-workers N         decoding workers per evaluation
  --threads N             onnxruntime intra-op threads
  --device DEVICE         cpu (default) or cuda
  --cache-dir DIR         hub dataset and classifier cache
  --no-cache              do not use the classifier cache
  --endpoint URL          hub mirror
  --offline               use only the caches
  -h, --help              this help
`;

const DATASETS_HELP =
  `Usage: deno run -A cli.ts datasets [--hub modelscope|huggingface] [--cache-dir DIR]
                                      [--split NAME]
       deno run -A cli.ts datasets --dataset-root ROOT [--split NAME]

Lists the datasets clipbench knows by name (CLIP_benchmark's WebDataset repositories
clip-benchmark/wds_<name>): task, ModelScope and Hugging Face repository ids, and how much of the
split (default test) is in the cache of the chosen hub (default modelscope; --cache-dir as for eval).

With --dataset-root, lists the datasets found under a folder or http(s) URL instead, as
'eval --dataset-root' reads them: ROOT with {dataset} where the name goes (data/{dataset}), or
the folder or URL holding one folder per dataset. A folder's entries are looked at; an HTTP root
is probed for the registered names. Each row: name, task, shards of the split, location.
`;

const INSPECT_HELP = `Usage:
  deno run -A cli.ts inspect text --model DIR [--text-cleaning MODE] TEXT...
      prints the token ids (padded to the context length) and attention mask of each TEXT
  deno run -A cli.ts inspect image --model DIR [--preprocess MODE] [--crop-rounding MODE] FILE
      [--out FILE.f32]
      decodes FILE, preprocesses it with the model's preprocessor_config.json and prints the
      tensor's shape and statistics; --out writes its raw little-endian float32 values
      (C order, [3, height, width]) for comparison with numpy.fromfile(..., dtype="<f4")
`;

const LIST_FLAGS = new Set(["--model", "--model-name", "--dataset", "--recall-k"]);

/**
 * Lets a list flag take several values (`--dataset a b c`) by repeating the flag for each
 * following value that is not itself a flag.
 */
export function expandListFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  let listFlag: string | undefined;
  let taken = 0;
  for (const arg of args) {
    if (arg.startsWith("-")) {
      const name = arg.split("=", 1)[0];
      listFlag = LIST_FLAGS.has(name) ? name : undefined;
      taken = arg.includes("=") ? 1 : 0;
      out.push(arg);
      continue;
    }
    if (listFlag && taken > 0) out.push(listFlag);
    if (listFlag) taken++;
    out.push(arg);
  }
  return out;
}

function parseFraction(value: string, flag: string): number {
  const number = Number(value);
  if (value.trim() === "" || !(number >= 0 && number <= 1)) {
    throw new UsageError(`${flag} must be a number from 0 to 1, got '${value}'`);
  }
  return number;
}

function parseChoice<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got '${value}'`);
  }
  return value as T;
}

/**
 * Joins a string flag and a following value that looks like a negative number (`--limit -5`) into
 * `--limit=-5`, which node:util's parseArgs would otherwise refuse as ambiguous; the flag's own
 * check then says what is wrong with the value.
 */
export function joinNegativeValues(
  args: readonly string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const option = arg.startsWith("--") && !arg.includes("=") ? options[arg.slice(2)] : undefined;
    const next = args[i + 1];
    if (option?.type === "string" && next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

function parse(args: string[], options: NonNullable<ParseArgsConfig["options"]>) {
  try {
    return parseArgs({
      args: joinNegativeValues(args, options),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // node:util's messages run over several lines; the first says what is wrong.
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    const flag = /^Option '(-[^' ]+)/.exec(message)?.[1];
    if (flag !== undefined && /argument (missing|is ambiguous)/.test(message)) {
      throw new UsageError(
        `${flag} needs a value (one starting with '-' is written ${flag}=VALUE)`,
      );
    }
    const unknown = /^Unknown option '(--[^'=]+)/.exec(message)?.[1];
    if (unknown !== undefined) {
      const known = Object.keys(options).map((name) => `--${name}`);
      throw new UsageError(`${message.split("\n")[0].trim()}${didYouMean(unknown, known)}`);
    }
    throw new UsageError(message.split("\n")[0].trim());
  }
}

/** Builds the plan of `eval` from its flags (and the config file they name). */
export async function planFromFlags(
  args: string[],
  onExtras?: (extras: EvalFlagExtras) => void,
): Promise<EvalPlan | "help"> {
  const { values, positionals } = parse(expandListFlags(args), {
    model: { type: "string", multiple: true },
    "model-name": { type: "string", multiple: true },
    dataset: { type: "string", multiple: true },
    "dataset-root": { type: "string" },
    split: { type: "string" },
    task: { type: "string" },
    "batch-size": { type: "string" },
    "num-workers": { type: "string" },
    limit: { type: "string" },
    "output-dir": { type: "string" },
    output: { type: "string" },
    "skip-existing": { type: "boolean" },
    quiet: { type: "boolean" },
    config: { type: "string" },
    "cache-dir": { type: "string" },
    "max-skipped": { type: "string" },
    threads: { type: "string" },
    dtype: { type: "string" },
    preprocess: { type: "string" },
    "crop-rounding": { type: "string" },
    "text-cleaning": { type: "string" },
    "recall-k": { type: "string", multiple: true },
    classnames: { type: "string" },
    templates: { type: "string" },
    "dump-classnames": { type: "boolean" },
    "dump-templates": { type: "boolean" },
    "save-predictions": { type: "boolean" },
    hub: { type: "string" },
    revision: { type: "string" },
    endpoint: { type: "string" },
    offline: { type: "boolean" },
    "inference-worker": { type: "boolean" },
    "graph-opt": { type: "string" },
    "no-arena": { type: "boolean" },
    device: { type: "string" },
    "no-cache": { type: "boolean" },
    "no-convert": { type: "boolean" },
    tokenizer: { type: "string" },
    shard: { type: "string" },
    "shard-count": { type: "string" },
    shards: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}' (see 'cli.ts eval --help')`);
  }
  const fromFile = values.config
    ? planFromTaskConfig(await readTaskConfigFile(values.config as string), values.config as string)
    : {};
  /** The value of a string flag run through `parse`, or undefined when the flag is absent. */
  const option = <T>(name: string, parse: (value: string, flag: string) => T): T | undefined => {
    const value = values[name] as string | undefined;
    return value === undefined ? undefined : parse(value, `--${name}`);
  };
  const text = (value: string) => value;
  const integer = (value: string, flag: string) => expectInteger(value, flag);
  const count = (value: string, flag: string) => expectInteger(value, flag, true);
  const list = (name: string) =>
    (values[name] as string[] | undefined)?.flatMap((v) => v.split(",")).filter(Boolean);
  const datasetValues = list("dataset");
  const flags: Partial<EvalPlan> = {
    models: list("model")?.map((id) => ({ id })),
    datasets: datasetValues && await expandDatasetArguments(datasetValues),
    datasetRoot: option("dataset-root", text),
    split: option("split", text),
    task: option("task", parseTaskChoice),
    batchSize: option("batch-size", integer),
    numWorkers: option("num-workers", count),
    limit: option("limit", integer),
    outputDir: option("output-dir", text),
    outputTemplate: option("output", text),
    skipExisting: values["skip-existing"] ? true : undefined,
    quiet: values.quiet ? true : undefined,
    cacheDir: option("cache-dir", text),
    maxSkippedFraction: option("max-skipped", parseFraction),
    threads: option("threads", count),
    dtype: option("dtype", (v, flag) => parseChoice(v, flag, MODEL_DTYPES)),
    preprocess: option(
      "preprocess",
      (v, flag) => parseChoice(v, flag, ["hf", "openclip"] as const),
    ),
    cropRounding: option(
      "crop-rounding",
      (v, flag) => parseChoice(v, flag, ["floor", "round"] as const),
    ),
    textCleaning: option(
      "text-cleaning",
      (v, flag) => parseChoice(v, flag, ["open_clip", "none"] as const),
    ),
    recallK: list("recall-k")?.map((k) => expectInteger(k, "--recall-k")),
    classnamesFile: option("classnames", text),
    templatesFile: option("templates", text),
    dumpClassnames: values["dump-classnames"] ? true : undefined,
    dumpTemplates: values["dump-templates"] ? true : undefined,
    savePredictions: values["save-predictions"] ? true : undefined,
    hub: option("hub", parseHubName),
    revision: option("revision", text),
    endpoint: option("endpoint", text),
    offline: values.offline ? true : undefined,
    inferenceWorker: values["inference-worker"] ? true : undefined,
    graphOptimizationLevel: option(
      "graph-opt",
      (v, flag) => parseChoice(v, flag, GRAPH_OPTIMIZATION_LEVELS),
    ),
    memoryArena: values["no-arena"] ? false : undefined,
    device: option("device", (v, flag) => parseChoice(v, flag, ["cpu", "cuda"] as const)),
    noCache: values["no-cache"] ? true : undefined,
    noConvert: values["no-convert"] ? true : undefined,
    tokenizer: option("tokenizer", text),
    shard: option("shard", parseShardSpec),
    shardCount: option("shard-count", integer),
  };
  const merged = { ...fromFile };
  for (const [key, value] of Object.entries(flags)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  const modelNames = list("model-name");
  if (modelNames !== undefined) {
    const models = merged.models ?? [];
    if (modelNames.length !== models.length) {
      throw new UsageError(
        `--model-name is given ${modelNames.length} time(s) for ${models.length} model(s): ` +
          `give one name per --model, in the same order`,
      );
    }
    merged.models = models.map((model, i) => ({
      ...model,
      name: parseModelName(modelNames[i], "--model-name"),
    }));
  }
  const localShards = option("shards", integer);
  if (localShards !== undefined) {
    const conflict = merged.shard !== undefined
      ? "--shard"
      : merged.shardCount !== undefined
      ? "--shard-count (or shard_count)"
      : Deno.env.get(SHARD_COUNT_ENV)
      ? SHARD_COUNT_ENV
      : merged.limit !== undefined
      ? "--limit"
      : merged.skipExisting
      ? "--skip-existing"
      : undefined;
    if (conflict !== undefined) {
      throw new UsageError(`--shards runs its own workers; it cannot be combined with ${conflict}`);
    }
  } else {
    merged.shard = shardFromEnvironment({ explicit: merged.shard, count: merged.shardCount });
  }
  delete merged.shardCount;
  onExtras?.({
    localShards,
    threadsGiven: merged.threads !== undefined,
    numWorkersGiven: merged.numWorkers !== undefined,
  });
  return completePlan(merged);
}

/** What the `eval` flags ask for besides the plan. */
export interface EvalFlagExtras {
  /** `--shards N`: run N local worker processes and merge. */
  readonly localShards?: number;
  /** Whether the threads were set (by a flag or the config file). */
  readonly threadsGiven: boolean;
  /** Whether the decoding workers were set. */
  readonly numWorkersGiven: boolean;
}

/** The arguments without the given flags (and their values). */
function withoutFlags(args: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].split("=", 1)[0];
    if (flags.includes(name)) {
      if (!args[i].includes("=")) i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}

/**
 * What is checked before any evaluation: every model argument (a folder or a hub id), the names
 * of datasets that come from a hub, and every folder a result will be written to (created, and
 * written to once).
 *
 * @throws {UsageError} naming the model, the dataset or the folder.
 */
async function checkBeforeEvaluating(plan: EvalPlan): Promise<void> {
  for (const model of plan.models) await checkModelArgument(model.id);
  if (plan.datasetRoot === undefined) {
    // Datasets by name come from a hub: an unknown name is a configuration error.
    for (const name of plan.datasets) {
      if (name === CUSTOM_DATASET) continue;
      if (!name.includes("/") && findRegisteredDataset(name) === undefined) {
        const known = REGISTERED_DATASETS.map((dataset) => dataset.name);
        throw new UsageError(
          `unknown dataset '${name}'${didYouMean(name, known)}: not one of the ${known.length} ` +
            `registered datasets (\`cli.ts datasets\` lists them); give a hub repository id ` +
            `(org/name) or --dataset-root for other data`,
        );
      }
      datasetRepositoryId(name, plan.hub);
    }
  }
  const names = resultNames(plan.models);
  await prepareResultFolders(plan.outputDir, names, plan.datasets);
  if (plan.outputTemplate !== undefined) {
    checkOutputTemplate(plan.outputTemplate, names, plan.datasets);
    await prepareOutputTemplateFolders(plan.outputTemplate, names, plan.datasets);
  }
}

/** The exit status for failed evaluations: 2 when one failed on its configuration, else 1. */
function failureStatus(errors: readonly unknown[]): number {
  return errors.some((error) => error instanceof ClipbenchError && error.exitCode === 2) ? 2 : 1;
}

async function runEval(args: string[]): Promise<number> {
  // A worker of `--shards` ends when its parent does (the parent's pipe on stdin closes).
  exitWithParent();
  let extras: EvalFlagExtras | undefined;
  const plan = await planFromFlags(args, (e) => (extras = e));
  if (plan === "help") {
    console.log(EVAL_HELP);
    return 0;
  }
  await checkBeforeEvaluating(plan);
  if (extras?.localShards !== undefined) {
    const outcome = await runLocalShards({
      args: withoutFlags(expandListFlags(args), ["--shards", "--output-dir", "--output"]),
      count: extras.localShards,
      outputDir: plan.outputDir,
      outputTemplate: plan.outputTemplate,
      threadsGiven: extras.threadsGiven,
      numWorkersGiven: extras.numWorkersGiven,
      quiet: plan.quiet,
    });
    if (outcome.results.length > 0) console.log(formatSummaryTable(outcome.results));
    if (outcome.failures.length > 0) {
      writeMessage(`${outcome.failures.length} failure(s):`);
      for (const f of outcome.failures) writeMessage(`  ${f.what}: ${f.error.message}`);
      return 1;
    }
    return 0;
  }
  // Messages are wrapped at a terminal's width (so the progress bar's line is never wrapped).
  const { summary, reused, failures } = await runEvaluations(plan, {
    log: (message) => plan.quiet || writeMessage(message),
  });
  if (summary.length > 0) console.log(formatSummaryTable(summary, new Set(reused)));
  if (failures.length > 0) {
    writeMessage(`${failures.length} evaluation(s) failed:`);
    for (const f of failures) {
      writeMessage(`  ${f.model} / ${f.dataset}: ${(f.error as Error).message}`);
    }
    return failureStatus(failures.map((f) => f.error));
  }
  return 0;
}

async function runInspect(args: string[]): Promise<number> {
  const [what, ...rest] = args;
  if (what === undefined || what === "--help" || what === "-h") {
    console.log(INSPECT_HELP);
    return 0;
  }
  const { values, positionals } = parse(rest, {
    model: { type: "string" },
    out: { type: "string" },
    preprocess: { type: "string" },
    "crop-rounding": { type: "string" },
    "text-cleaning": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(INSPECT_HELP);
    return 0;
  }
  if (what !== "text" && what !== "image") {
    throw new UsageError(`unknown inspect target '${what}' (text or image)`);
  }
  const model = values.model as string | undefined;
  if (!model) throw new UsageError("inspect needs --model DIR");
  await checkModelFolder(model);
  if (what === "text") {
    if (positionals.length === 0) throw new UsageError("inspect text needs at least one TEXT");
    const cleaning = values["text-cleaning"] as string | undefined;
    console.log(
      await inspectText(model, positionals, {
        textCleaning: cleaning === undefined
          ? undefined
          : parseChoice(cleaning, "--text-cleaning", ["open_clip", "none"] as const),
      }),
    );
    return 0;
  }
  // what === "image"
  if (positionals.length !== 1) throw new UsageError("inspect image needs exactly one FILE");
  const rounding = values["crop-rounding"] as string | undefined;
  const preprocess = values.preprocess as string | undefined;
  console.log(
    await inspectImage(model, positionals[0], {
      out: values.out as string | undefined,
      preprocess: preprocess === undefined
        ? undefined
        : parseChoice(preprocess, "--preprocess", ["hf", "openclip"] as const),
      cropRounding: rounding === undefined
        ? undefined
        : parseChoice(rounding, "--crop-rounding", ["floor", "round"] as const),
    }),
  );
  return 0;
}

async function runMerge(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    "output-dir": { type: "string" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(MERGE_HELP);
    return 0;
  }
  if (positionals.length === 0) {
    throw new UsageError(
      "merge needs the partial files of every shard (see 'cli.ts merge --help')",
    );
  }
  const outputDir = (values["output-dir"] as string | undefined) ?? "outputs";
  await prepareResultFolders(outputDir, [], []);
  const { result, path, predictionsPath } = await mergePartialFilesAndWrite(
    positionals,
    (merged) => writeResult(outputDir, merged),
  );
  if (!values.quiet) {
    console.error(`merged ${positionals.length} partial(s): wrote ${path}`);
    if (predictionsPath) console.error(`merged their predictions: wrote ${predictionsPath}`);
    console.log(formatSummaryTable([result]));
  }
  return 0;
}

async function runServe(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    host: { type: "string" },
    port: { type: "string" },
    "model-root": { type: "string", multiple: true },
    "dataset-root": { type: "string", multiple: true },
    hub: { type: "string", multiple: true },
    "no-auth": { type: "boolean" },
    "token-env": { type: "string" },
    "max-body": { type: "string" },
    deadline: { type: "string" },
    "max-concurrent": { type: "string" },
    "header-timeout": { type: "string" },
    "body-timeout": { type: "string" },
    "max-connections": { type: "string" },
    "model-cache": { type: "string" },
    "max-batch-size": { type: "string" },
    "max-prompts": { type: "string" },
    "max-prompt-length": { type: "string" },
    "max-prompt-chars": { type: "string" },
    "batch-size": { type: "string" },
    "num-workers": { type: "string" },
    threads: { type: "string" },
    device: { type: "string" },
    "cache-dir": { type: "string" },
    "no-cache": { type: "boolean" },
    endpoint: { type: "string" },
    offline: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const text = (name: string) => values[name] as string | undefined;
  const number = (name: string, allowZero = false) => {
    const value = text(name);
    return value === undefined ? undefined : expectInteger(value, `--${name}`, allowZero);
  };
  const seconds = text("deadline");
  if (seconds !== undefined && !(Number(seconds) > 0)) {
    throw new UsageError(`--deadline must be a positive number of seconds, got '${seconds}'`);
  }
  const milliseconds = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!(Number(value) > 0 && Number(value) <= 86_400)) {
      throw new UsageError(`--${name} must be a number of seconds in (0, 86400], got '${value}'`);
    }
    return Math.ceil(Number(value) * 1000);
  };
  const tokenEnv = text("token-env") ?? TOKEN_ENV;
  const hubs = ((values.hub as string[] | undefined) ?? []).map((hub) =>
    parseHubName(hub, "--hub")
  ) as HubName[];
  const device = text("device");
  const controller = new AbortController();
  const stop = () => controller.abort();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, stop);
    } catch {
      // SIGTERM cannot be listened to on Windows.
    }
  }
  await serveEvaluations({
    hostname: text("host") ?? "127.0.0.1",
    port: number("port", true) ?? 8080,
    modelRoots: values["model-root"] as string[] | undefined,
    datasetRoots: values["dataset-root"] as string[] | undefined,
    hubs,
    auth: values["no-auth"] ? false : true,
    token: Deno.env.get(tokenEnv) || undefined,
    maxBodyBytes: number("max-body"),
    deadlineSeconds: seconds === undefined ? undefined : Number(seconds),
    maxConcurrent: number("max-concurrent"),
    headerTimeoutMs: milliseconds("header-timeout"),
    bodyTimeoutMs: milliseconds("body-timeout"),
    maxConnections: number("max-connections"),
    modelCacheSize: number("model-cache"),
    maxBatchSize: number("max-batch-size"),
    maxPrompts: number("max-prompts"),
    maxPromptLength: number("max-prompt-length"),
    maxPromptChars: number("max-prompt-chars"),
    settings: {
      batchSize: number("batch-size"),
      numWorkers: number("num-workers", true),
      threads: number("threads", true),
      device: device === undefined
        ? undefined
        : parseChoice(device, "--device", ["cpu", "cuda"] as const),
      cacheDir: text("cache-dir"),
      noCache: values["no-cache"] ? true : undefined,
      endpoint: text("endpoint"),
      offline: values.offline ? true : undefined,
      hub: hubs[0],
    },
    signal: controller.signal,
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.error(`clipbench serving on http://${host}:${port}/ (Ctrl-C stops)`);
    },
  });
  return 0;
}

async function runConvert(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    output: { type: "string", short: "o" },
    dtype: { type: "string" },
    tokenizer: { type: "string" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(CONVERT_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "convert needs the checkpoint folder (see 'cli.ts convert --help')"
        : `unexpected argument '${positionals[1]}' (one checkpoint folder per conversion)`,
    );
  }
  const output = values.output as string | undefined;
  if (output === undefined) throw new UsageError("convert needs --output DIR");
  const dtype = values.dtype === undefined
    ? undefined
    : parseChoice(values.dtype as string, "--dtype", CONVERT_DTYPES);
  const record = await convertCheckpoint(positionals[0], output, {
    dtype,
    tokenizerDir: values.tokenizer as string | undefined,
    log: values.quiet ? undefined : (line) => console.error(line),
  });
  if (!values.quiet) {
    console.error(
      `wrote ${output} (${record.architecture}; tokenizer: ${record.tokenizer}` +
        (record.unused_tensors.length > 0
          ? `; unused tensors: ${record.unused_tensors.join(", ")}`
          : "") +
        ")",
    );
  }
  return 0;
}

async function runDatasets(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    hub: { type: "string" },
    "cache-dir": { type: "string" },
    split: { type: "string" },
    "dataset-root": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(DATASETS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const root = values["dataset-root"] as string | undefined;
  if (root !== undefined) {
    if (values.hub !== undefined || values["cache-dir"] !== undefined) {
      throw new UsageError(
        "--dataset-root lists a root's datasets; --hub and --cache-dir do not apply",
      );
    }
    console.log(await listDatasetsUnderRoot(root, { split: values.split as string | undefined }));
    return 0;
  }
  const hub = values.hub === undefined ? undefined : parseHubName(values.hub as string, "--hub");
  console.log(
    await listDatasets({
      hub,
      cacheDir: values["cache-dir"] as string | undefined,
      split: values.split as string | undefined,
    }),
  );
  return 0;
}

/** The commands of {@linkcode main}. */
const COMMANDS = [
  "eval",
  "convert",
  "report",
  "compare",
  "merge",
  "serve",
  "inspect",
  "datasets",
  "help",
];

/** Runs the command line and returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "eval":
        return await runEval(rest);
      case "convert":
        return await runConvert(rest);
      case "report":
        return await runReport(rest);
      case "compare":
        return await runCompare(rest);
      case "merge":
        return await runMerge(rest);
      case "serve":
        return await runServe(rest);
      case "inspect":
        return await runInspect(rest);
      case "datasets":
        return await runDatasets(rest);
      case "help":
        console.log(
          rest[0] === "eval"
            ? EVAL_HELP
            : rest[0] === "convert"
            ? CONVERT_HELP
            : rest[0] === "report"
            ? REPORT_HELP
            : rest[0] === "compare"
            ? COMPARE_HELP
            : rest[0] === "merge"
            ? MERGE_HELP
            : rest[0] === "serve"
            ? SERVE_HELP
            : rest[0] === "inspect"
            ? INSPECT_HELP
            : rest[0] === "datasets"
            ? DATASETS_HELP
            : MAIN_HELP,
        );
        return 0;
      case "--version":
      case "-V":
        console.log(`clipbench ${VERSION}`);
        return 0;
      case undefined:
      case "--help":
      case "-h":
        console.log(MAIN_HELP);
        return 0;
      default:
        throw new UsageError(
          `unknown command '${command}'${didYouMean(command, COMMANDS)} (${COMMANDS.join(", ")})`,
        );
    }
  } catch (error) {
    if (error instanceof ClipbenchError) {
      console.error(`clipbench: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
