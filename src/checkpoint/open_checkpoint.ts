/**
 * Finds and opens the weights of a checkpoint folder: transformers' `model.safetensors` /
 * `pytorch_model.bin` (and their sharded `*.index.json` forms), open_clip's
 * `open_clip_model.safetensors` / `open_clip_pytorch_model.bin`, or a single `.pt` / `.pth` /
 * `.bin` / `.safetensors` state dict. Names lose a leading `module.`; a pickle holding
 * `{"state_dict": …}` gives that dict's tensors.
 *
 * @module
 */

import { basename, join } from "node:path";
import { type Checkpoint, CheckpointError, type CheckpointTensor } from "./checkpoint.ts";
import { readSafetensors } from "./safetensors.ts";
import { readTorchFile } from "./torch_bin.ts";

/** The weight files {@linkcode openCheckpoint} reads in a folder. */
export interface WeightFiles {
  /** How they are stored. */
  readonly format: "safetensors" | "torch";
  /** The `*.index.json` of a sharded checkpoint, if it is one. */
  readonly index?: string;
  /** The weight files, in reading order (the shards, in index order, for a sharded one). */
  readonly files: readonly string[];
}

/** Known weight file names, by priority (also how hub repositories are chosen from). */
export const KNOWN_WEIGHT_FILES: readonly {
  name: string;
  format: WeightFiles["format"];
  sharded: boolean;
}[] = [
  { name: "model.safetensors", format: "safetensors", sharded: false },
  { name: "model.safetensors.index.json", format: "safetensors", sharded: true },
  { name: "pytorch_model.bin", format: "torch", sharded: false },
  { name: "pytorch_model.bin.index.json", format: "torch", sharded: true },
  { name: "open_clip_model.safetensors", format: "safetensors", sharded: false },
  { name: "open_clip_pytorch_model.bin", format: "torch", sharded: false },
];

/** Files of a training folder that hold no model weights, never taken as the state dict. */
const NOT_WEIGHTS = new Set([
  "training_args.bin",
  "optimizer.pt",
  "optimizer.bin",
  "scheduler.pt",
  "scheduler.bin",
  "scaler.pt",
  "rng_state.pth",
]);

const LOOSE_WEIGHT_FILE = /\.(pt|pth|bin|safetensors)$/;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * The weight files `folder` holds, by priority: `model.safetensors`,
 * `model.safetensors.index.json`, `pytorch_model.bin`, `pytorch_model.bin.index.json`,
 * `open_clip_model.safetensors`, `open_clip_pytorch_model.bin`, else the one `*.pt` / `*.pth` /
 * `*.bin` / `*.safetensors` file. Reads only an index's `weight_map`, no weights.
 *
 * @throws CheckpointError when there are none, several loose candidates, or a bad index.
 */
export async function findWeightFiles(folder: string): Promise<WeightFiles> {
  for (const known of KNOWN_WEIGHT_FILES) {
    const path = join(folder, known.name);
    if (!(await isFile(path))) continue;
    if (!known.sharded) return { format: known.format, files: [path] };
    const weightMap = await readWeightMap(path);
    const files = [...new Set(weightMap.values())].map((shard) => join(folder, shard));
    return { format: known.format, index: path, files };
  }
  const candidates = await looseCandidates(folder);
  if (candidates.length === 1) {
    const path = join(folder, candidates[0]);
    return { format: path.endsWith(".safetensors") ? "safetensors" : "torch", files: [path] };
  }
  if (candidates.length > 1) {
    throw new CheckpointError(
      `${folder}: several weight files and none of the known names: ${candidates.join(", ")} ` +
        `(keep one, or name it model.safetensors / pytorch_model.bin)`,
      { path: folder },
    );
  }
  throw new CheckpointError(
    `${folder}: no PyTorch weights (looked for ${
      KNOWN_WEIGHT_FILES.map((k) => k.name).join(", ")
    }, or one *.pt / *.pth / *.bin / *.safetensors)`,
    { path: folder },
  );
}

/**
 * Whether `folder` holds PyTorch weights: one of the known weight or index files, or loose
 * `*.pt` / `*.pth` / `*.bin` / `*.safetensors` files. Reads no weights and no index, so a folder
 * with a broken index or several loose candidates answers `true` (and {@linkcode openCheckpoint}
 * then says what is wrong).
 */
export async function hasCheckpointWeights(folder: string): Promise<boolean> {
  for (const known of KNOWN_WEIGHT_FILES) {
    if (await isFile(join(folder, known.name))) return true;
  }
  return (await looseCandidates(folder)).length > 0;
}

/** The names of the loose weight-file candidates in `folder`, sorted. */
async function looseCandidates(folder: string): Promise<string[]> {
  const candidates: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.isDirectory || !LOOSE_WEIGHT_FILE.test(entry.name)) continue;
      if (NOT_WEIGHTS.has(entry.name)) continue;
      candidates.push(entry.name);
    }
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return [];
    throw new CheckpointError(`${folder}: cannot list the checkpoint folder (${cause})`, {
      path: folder,
      cause,
    });
  }
  return candidates.sort();
}

/** An index's `weight_map`: tensor name → shard file name (relative to the index). */
async function readWeightMap(indexPath: string): Promise<Map<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(indexPath));
  } catch (cause) {
    throw new CheckpointError(`${indexPath}: not a readable JSON index (${cause})`, {
      path: indexPath,
      cause,
    });
  }
  const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== "object" || Array.isArray(weightMap)) {
    throw new CheckpointError(`${indexPath}: no "weight_map" object`, { path: indexPath });
  }
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard === "" || shard.includes("/") || shard.includes("\\")) {
      throw new CheckpointError(
        `${indexPath}: weight_map entry for tensor "${name}" is not a shard file name: ` +
          JSON.stringify(shard),
        { path: indexPath, tensor: name },
      );
    }
    map.set(name, shard);
  }
  if (map.size === 0) {
    throw new CheckpointError(`${indexPath}: "weight_map" is empty`, { path: indexPath });
  }
  return map;
}

/** The tensors of one weight file, names as stored. */
async function readWeightFile(
  path: string,
  format: WeightFiles["format"],
): Promise<readonly CheckpointTensor[]> {
  if (format === "safetensors") return (await readSafetensors(path)).tensors;
  return await readTorchFile(path);
}

function stripModulePrefix(tensor: CheckpointTensor): CheckpointTensor {
  if (!tensor.name.startsWith("module.")) return tensor;
  const name = tensor.name.slice("module.".length);
  return {
    name,
    dtype: tensor.dtype,
    shape: tensor.shape,
    file: tensor.file,
    float32: () => tensor.float32(),
  };
}

/**
 * Opens the checkpoint in `folder` (see {@linkcode findWeightFiles} for which files): reads and
 * validates every weight file's header or pickle now, and each tensor's bytes when its
 * `float32()` is called (from disk, so only the tensors in use are in memory).
 *
 * @param options `signal` aborts between files.
 * @throws CheckpointError naming the file (and tensor or global) for any bad weight file, a
 *   sharded index naming a tensor its shard lacks, or a tensor stored twice.
 */
export async function openCheckpoint(
  folder: string,
  options: { signal?: AbortSignal } = {},
): Promise<Checkpoint> {
  const found = await findWeightFiles(folder);
  const weightMap = found.index ? await readWeightMap(found.index) : undefined;
  const tensors = new Map<string, CheckpointTensor>();
  for (const file of found.files) {
    options.signal?.throwIfAborted();
    const stored = await readWeightFile(file, found.format);
    for (const raw of stored) {
      if (
        weightMap && weightMap.get(raw.name) !== undefined &&
        join(folder, weightMap.get(raw.name)!) !== file
      ) {
        throw new CheckpointError(
          `${file}: tensor "${raw.name}" is also here, but ${found.index} puts it in ` +
            weightMap.get(raw.name),
          { path: file, tensor: raw.name },
        );
      }
      const tensor = stripModulePrefix(raw);
      const earlier = tensors.get(tensor.name);
      if (earlier) {
        throw new CheckpointError(
          `${file}: tensor "${tensor.name}" is stored twice (also in ${earlier.file}` +
            `${earlier.name === raw.name ? "" : ", with or without a module. prefix"})`,
          { path: file, tensor: tensor.name },
        );
      }
      tensors.set(tensor.name, tensor);
    }
  }
  options.signal?.throwIfAborted();
  if (weightMap && found.index) {
    for (const [name, shard] of weightMap) {
      const stripped = name.startsWith("module.") ? name.slice("module.".length) : name;
      if (!tensors.has(stripped)) {
        throw new CheckpointError(
          `${join(folder, shard)}: tensor "${name}" listed in ${basename(found.index)} is missing`,
          { path: join(folder, shard), tensor: name },
        );
      }
    }
  }
  const names = [...tensors.keys()];
  return {
    files: found.files,
    names: () => [...names],
    get: (name) => tensors.get(name),
  };
}
