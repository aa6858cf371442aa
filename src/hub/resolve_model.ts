/**
 * From a model argument to a folder `ClipModel.load` reads: a local folder passes through
 * untouched; a hub id (`org/name`) is resolved on the chosen hub and exactly the files clipbench
 * needs are brought into the hub's cache:
 *
 * - `config.json`, `preprocessor_config.json`, `tokenizer.json`, and `tokenizer_config.json`
 *   when the repository has one;
 * - the ONNX graphs of the chosen precision (`dtype`, transformers.js file suffixes, see
 *   src/model/files.ts): `onnx/vision_model{suffix}.onnx` and `onnx/text_model{suffix}.onnx`
 *   where present, else the joint `onnx/model{suffix}.onnx`;
 * - each chosen graph's external-data files (`<graph>_data`, `<graph>_data_<n>`).
 *
 * A repository without ONNX graphs but with PyTorch weights (like ModelScope's
 * `AI-ModelScope/chinese-clip-vit-large-patch14-336px`) is a checkpoint: with `checkpoints`, its
 * weights (the file {@linkcode KNOWN_WEIGHT_FILES} puts first, or every shard of its index), its
 * config and tokenizer files are brought into the cache for conversion (src/convert/). Without
 * `checkpoints`, or without weights, it fails with a message that says so, names a known
 * transformers.js export of the same model where there is one, and shows how to export one with
 * optimum. Offline, only the cache is read and every missing file is listed.
 *
 * @module
 */

import { basename, join } from "node:path";
import { ModelError } from "../errors.ts";
import { describeVariants, DTYPE_SUFFIXES, type ModelDtype } from "../model/files.ts";
import type { DownloadProgress } from "./download_progress.ts";
import type { HubName } from "./hub_settings.ts";
import {
  type HubRepository,
  isRepoId,
  openHubRepository,
  type RepositoryOptions,
} from "./hub_repository.ts";
import { KNOWN_WEIGHT_FILES } from "../checkpoint/open_checkpoint.ts";

/** Options of {@linkcode resolveModel}: hub settings plus the precision to fetch. */
export interface ResolveModelOptions extends RepositoryOptions {
  /** Precision variant of the graphs (default `fp32`). */
  readonly dtype?: ModelDtype;
  /** Download progress. */
  readonly progress?: DownloadProgress;
  /** Fetch a repository of PyTorch weights without ONNX graphs, for conversion. */
  readonly checkpoints?: boolean;
}

/** A model folder ready for `ClipModel.load`. */
export interface ResolvedModel {
  /** The folder. */
  readonly dir: string;
  /**
   * The model's name for results: the last part of a hub id (as evalscope names results), or the
   * folder's base name.
   */
  readonly name: string;
  /** `local`, or the hub it came from. */
  readonly source: "local" | HubName;
  /** The hub repository id. */
  readonly id?: string;
  /** The revision asked for. */
  readonly revision?: string;
  /** The commit it resolved to, where the hub has commits (Hugging Face). */
  readonly commit?: string;
  /** Repository paths of the files the folder provides (hub models). */
  readonly files: readonly string[];
}

/** Files every model folder needs. */
const REQUIRED_FILES = ["config.json", "preprocessor_config.json", "tokenizer.json"];

/** Files used when present. */
const OPTIONAL_FILES = ["tokenizer_config.json"];

/** A checkpoint's files besides its weights, fetched when present. */
const CHECKPOINT_SIDE_FILES = [
  "config.json",
  "open_clip_config.json",
  "preprocessor_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.json",
  "merges.txt",
  "vocab.txt",
  "spiece.model",
];

/**
 * transformers.js exports of CLIP-family models, by model name (the part after the namespace):
 * the models its conversion script (`scripts/supported_models.py`) publishes as `Xenova/<name>`
 * on Hugging Face.
 */
export const KNOWN_ONNX_EXPORTS: Readonly<Record<string, string>> = {
  "chinese-clip-vit-base-patch16": "Xenova/chinese-clip-vit-base-patch16",
  "chinese-clip-vit-large-patch14": "Xenova/chinese-clip-vit-large-patch14",
  "chinese-clip-vit-large-patch14-336px": "Xenova/chinese-clip-vit-large-patch14-336px",
  "clip-vit-base-patch16": "Xenova/clip-vit-base-patch16",
  "clip-vit-base-patch32": "Xenova/clip-vit-base-patch32",
  "clip-vit-large-patch14": "Xenova/clip-vit-large-patch14",
  "clip-vit-large-patch14-336": "Xenova/clip-vit-large-patch14-336",
};

/**
 * Resolves a model argument (see the module documentation).
 *
 * @throws {ModelError} for a local path that does not exist, a repository without the files
 *   needed (naming them), without ONNX graphs (with the export advice), without the dtype's
 *   graphs (listing the variants it has), or, offline, files missing from the cache.
 * @throws {UsageError} for bad hub settings.
 */
export async function resolveModel(
  idOrPath: string,
  options: ResolveModelOptions = {},
): Promise<ResolvedModel> {
  if (await isDirectory(idOrPath)) {
    return { dir: idOrPath, name: basename(idOrPath), source: "local", files: [] };
  }
  if (!isRepoId(idOrPath) || /^[.~\/\\]/.test(idOrPath)) {
    throw new ModelError(
      `model folder not found: ${idOrPath} (nor is it a hub id of the form org/name)`,
      { path: idOrPath },
    );
  }
  const dtype = options.dtype ?? "fp32";
  const repo = openHubRepository("model", idOrPath, options);
  const { settings } = repo;
  await repo.pin("config.json");
  const available = settings.offline
    ? await repo.listCached("")
    : (await repo.list("", true)).filter((e) => e.type === "file").map((e) => e.path);
  const selection = selectModelFiles(available, dtype);
  if (selection.onnxFiles.length === 0 && options.checkpoints) {
    const weights = KNOWN_WEIGHT_FILES.find((known) => available.includes(known.name));
    if (weights !== undefined) {
      return await fetchCheckpoint(repo, idOrPath, available, weights, options);
    }
  }
  if (settings.offline) {
    const missing: string[] = [];
    if (selection.missingRequired.length > 0) missing.push(selection.missingRequired.join(", "));
    if (selection.graphs.length === 0) missing.push(selection.wantedGraphs);
    if (missing.length > 0) {
      throw new ModelError(
        `${repo.label} is not fully cached for offline use (${repo.localDir()}); missing: ${
          missing.join("; ")
        }`,
        { path: repo.localDir() },
      );
    }
    return resolved(repo.localDir(), idOrPath, settings, repo.commit, selection.files);
  }
  if (selection.onnxFiles.length === 0) {
    throw new ModelError(
      `${repo.label} has no ONNX graphs (files: ${summarize(available)}); clipbench runs ONNX ` +
        `exports in the transformers.js layout (onnx/*.onnx). ${
          onnxExportAdvice(idOrPath, settings.hub)
        }`,
      { path: repo.fileUrl("") },
    );
  }
  if (selection.graphs.length === 0) {
    const elsewhere = selection.onnxFiles.filter((path) => !path.startsWith("onnx/"));
    const inOnnx = selection.onnxFiles.filter((path) => /^onnx\/[^/]+$/.test(path))
      .map((path) => path.slice("onnx/".length));
    throw new ModelError(
      `${repo.label} has no ${dtype} graphs (${selection.wantedGraphs}); variants in onnx/: ${
        describeVariants(inOnnx)
      }` +
        (elsewhere.length > 0
          ? `; other ONNX files: ${summarize(elsewhere)} (clipbench reads graphs from onnx/)`
          : ""),
      { path: repo.fileUrl(`onnx/vision_model${DTYPE_SUFFIXES[dtype]}.onnx`) },
    );
  }
  if (selection.missingRequired.length > 0) {
    throw new ModelError(
      `${repo.label} has no ${selection.missingRequired.join(", ")} (files: ${
        summarize(available)
      })`,
      { path: repo.fileUrl(selection.missingRequired[0]) },
    );
  }
  for (const path of selection.files) {
    const local = await repo.fetch(path, { progress: options.progress, signal: options.signal });
    if (local === "missing") {
      throw new ModelError(`${repo.label}: ${path} is listed but the hub does not have it`, {
        path: repo.fileUrl(path),
      });
    }
  }
  return resolved(repo.localDir(), idOrPath, settings, repo.commit, selection.files);
}

/** Brings a checkpoint repository's weights (every shard), config and tokenizer files in. */
async function fetchCheckpoint(
  repo: HubRepository,
  id: string,
  available: readonly string[],
  weights: (typeof KNOWN_WEIGHT_FILES)[number],
  options: ResolveModelOptions,
): Promise<ResolvedModel> {
  const fetchOne = async (path: string): Promise<string> => {
    const local = await repo.fetch(path, { progress: options.progress, signal: options.signal });
    if (local === "missing") {
      throw new ModelError(`${repo.label}: ${path} is listed but the hub does not have it`, {
        path: repo.fileUrl(path),
      });
    }
    return local;
  };
  // Offline, the listing is the cache's: files are read where they lie, nothing is fetched.
  const offline = repo.settings.offline;
  const files = CHECKPOINT_SIDE_FILES.filter((path) => available.includes(path));
  files.push(weights.name);
  if (weights.sharded) {
    const index = offline ? join(repo.localDir(), weights.name) : await fetchOne(weights.name);
    for (const shard of await shardsOfIndex(index)) {
      // Offline, a shard missing from the cache is listed with the other missing files below.
      if (!offline && !available.includes(shard)) {
        throw new ModelError(
          `${repo.label}: ${weights.name} names ${shard}, which it does not hold`,
          {
            path: repo.fileUrl(shard),
          },
        );
      }
      files.push(shard);
    }
  }
  if (offline) {
    const missing = files.filter((path) => !available.includes(path));
    if (missing.length > 0) {
      throw new ModelError(
        `${repo.label} is not fully cached for offline use (${repo.localDir()}); missing: ${
          missing.join(", ")
        }`,
        { path: repo.localDir() },
      );
    }
  } else {
    for (const path of files) await fetchOne(path);
  }
  return resolved(repo.localDir(), id, repo.settings, repo.commit, files);
}

/**
 * The shard files a `*.index.json`'s `weight_map` names, once each, in order.
 *
 * @throws {ModelError} for an index that is not JSON, has no (or an empty) `weight_map` object,
 *   or maps a tensor to anything but a file name in the checkpoint's folder (naming the tensor).
 */
async function shardsOfIndex(indexPath: string): Promise<string[]> {
  let weightMap: unknown;
  try {
    weightMap = JSON.parse(await Deno.readTextFile(indexPath)).weight_map;
  } catch (error) {
    throw new ModelError(`${indexPath}: ${(error as Error).message}`, { path: indexPath });
  }
  if (weightMap === null || typeof weightMap !== "object" || Array.isArray(weightMap)) {
    throw new ModelError(`${indexPath} has no weight_map object`, { path: indexPath });
  }
  const entries = Object.entries(weightMap as Record<string, unknown>);
  if (entries.length === 0) {
    throw new ModelError(`${indexPath}: weight_map is empty`, { path: indexPath });
  }
  const isFileName = (shard: unknown): shard is string =>
    typeof shard === "string" && /^[^/\\]+$/.test(shard) && shard !== "." && shard !== "..";
  const shards = new Set<string>();
  for (const [tensor, shard] of entries) {
    if (!isFileName(shard)) {
      throw new ModelError(
        `${indexPath}: weight_map values must be file names; tensor "${tensor}" maps to ` +
          JSON.stringify(shard),
        { path: indexPath },
      );
    }
    shards.add(shard);
  }
  return [...shards];
}

function resolved(
  dir: string,
  id: string,
  settings: { hub: HubName; revision: string },
  commit: string | undefined,
  files: readonly string[],
): ResolvedModel {
  return {
    dir,
    name: id.split("/")[1],
    source: settings.hub,
    id,
    revision: settings.revision,
    commit,
    files,
  };
}

/** What {@linkcode selectModelFiles} finds among a repository's files. */
export interface ModelFileSelection {
  /** The files to fetch: configs, tokenizer files, the graphs and their external data. */
  readonly files: readonly string[];
  /** The graphs chosen for the dtype (empty when it has none). */
  readonly graphs: readonly string[];
  /** The graphs looked for, in words (`onnx/vision_model.onnx and …, or onnx/model.onnx`). */
  readonly wantedGraphs: string;
  /** Required files the repository lacks. */
  readonly missingRequired: readonly string[];
  /** All `.onnx` files of the repository. */
  readonly onnxFiles: readonly string[];
}

/**
 * Chooses the files clipbench needs for `dtype` among a repository's file paths: the required
 * configs, `tokenizer_config.json` when present, each modality's tower (else the joint graph)
 * in `onnx/`, and their external-data files.
 */
export function selectModelFiles(
  available: readonly string[],
  dtype: ModelDtype,
): ModelFileSelection {
  const present = new Set(available);
  const suffix = DTYPE_SUFFIXES[dtype];
  const graph = (base: string) => `onnx/${base}${suffix}.onnx`;
  const joint = present.has(graph("model")) ? graph("model") : undefined;
  const vision = present.has(graph("vision_model")) ? graph("vision_model") : joint;
  const text = present.has(graph("text_model")) ? graph("text_model") : joint;
  const graphs = vision === undefined || text === undefined ? [] : [...new Set([vision, text])];
  const externalData = available.filter((path) =>
    graphs.some((g) => path === `${g}_data` || new RegExp(`^${escape(g)}_data_[0-9]+$`).test(path))
  ).sort();
  const missingRequired = REQUIRED_FILES.filter((path) => !present.has(path));
  return {
    files: [
      ...REQUIRED_FILES.filter((path) => present.has(path)),
      ...OPTIONAL_FILES.filter((path) => present.has(path)),
      ...graphs,
      ...externalData,
    ],
    graphs,
    wantedGraphs: `${graph("vision_model")} and ${graph("text_model")}, or ${graph("model")}`,
    missingRequired,
    onnxFiles: available.filter((path) => path.endsWith(".onnx")),
  };
}

/**
 * The advice for a repository without ONNX graphs: a known export of the same model, and how to
 * export one with optimum.
 */
export function onnxExportAdvice(id: string, hub: HubName): string {
  const name = id.split("/")[1];
  const known = KNOWN_ONNX_EXPORTS[name];
  const lines: string[] = [];
  if (known !== undefined && known !== id) {
    lines.push(
      `An ONNX export of this model exists on Hugging Face: ${known} ` +
        `(--hub huggingface --model ${known}).`,
    );
  }
  const source = hub === "huggingface"
    ? id
    : `<folder with ${id}> (e.g. from \`modelscope download --model ${id} --local_dir <folder>\`)`;
  lines.push(
    `To export one yourself with Hugging Face optimum: \`optimum-cli export onnx --model ${source} ` +
      `<dir>\`, then move <dir>/model.onnx to <dir>/onnx/model.onnx and pass --model <dir>.`,
  );
  return lines.join(" ");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function summarize(paths: readonly string[]): string {
  if (paths.length === 0) return "none";
  const shown = paths.slice(0, 8).join(", ");
  return paths.length > 8 ? `${shown}, … (${paths.length} in all)` : shown;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
