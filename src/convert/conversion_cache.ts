/**
 * Converted checkpoints kept for reuse: `<cache>/converted/<key>/`, where the key is the SHA-256
 * of what decides the converted files — the converter's version, the precision, the SHA-256 of
 * every weight file, and the config, preprocessor and tokenizer files. The first use converts (into a
 * temporary folder renamed into place); later uses, and concurrent ones that lose the race, find
 * the complete folder. Weight hashes are remembered by path, size and modification time
 * (src/model/file_hashes.ts), so a multi-gigabyte checkpoint is hashed once.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { findWeightFiles } from "../checkpoint/open_checkpoint.ts";
import { defaultCacheDir } from "../io/cache_dir.ts";
import { pathExists } from "../io/path_exists.ts";
import { fileContentHashes } from "../model/file_hashes.ts";
import { OPEN_CLIP_CONFIG } from "./architectures/mod.ts";
import {
  CONVERSION_RECORD,
  convertCheckpoint,
  type ConvertDtype,
  CONVERTER_VERSION,
  type ConvertOptions,
} from "./convert.ts";

/** Small files whose contents also decide the conversion. */
const DECIDING_FILES = [
  "config.json",
  OPEN_CLIP_CONFIG,
  "preprocessor_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.json",
  "merges.txt",
  "vocab.txt",
  "spiece.model",
];

/** Options of {@linkcode convertedModelDir}. */
export interface ConversionCacheOptions extends ConvertOptions {
  /** The cache folder (default: clipbench's, see src/io/cache_dir.ts). */
  readonly cacheDir?: string;
}

/**
 * The converted model folder of the checkpoint in `checkpointDir`, converting it on first use.
 *
 * @throws {ModelError} as {@linkcode convertCheckpoint} does.
 */
export async function convertedModelDir(
  checkpointDir: string,
  options: ConversionCacheOptions = {},
): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const key = await conversionKey(checkpointDir, cacheDir, options.tokenizerDir, options.dtype);
  const dir = join(cacheDir, "converted", key);
  if (await pathExists(join(dir, CONVERSION_RECORD))) return dir;
  await Deno.mkdir(join(cacheDir, "converted"), { recursive: true });
  try {
    await convertCheckpoint(checkpointDir, dir, options);
  } catch (error) {
    // Another process converted the same checkpoint first: use its folder.
    if (await pathExists(join(dir, CONVERSION_RECORD))) return dir;
    throw error;
  }
  return dir;
}

/**
 * The cache key of a checkpoint folder (and the tokenizer folder used with it) converted to
 * `dtype` (default fp32).
 */
export async function conversionKey(
  checkpointDir: string,
  cacheDir: string,
  tokenizerDir?: string,
  dtype: ConvertDtype = "fp32",
): Promise<string> {
  const weights = (await findWeightFiles(checkpointDir)).files;
  const hashes = await fileContentHashes(weights, cacheDir);
  const hash = createHash("sha256");
  hash.update(`clipbench converter ${CONVERTER_VERSION}\n`);
  // fp32 keys stay as they were before fp16 conversions existed.
  if (dtype !== "fp32") hash.update(`dtype ${dtype}\n`);
  weights.forEach((file, i) => hash.update(`weights ${basename(file)} ${hashes[i]}\n`));
  for (const [label, folder] of [["checkpoint", checkpointDir], ["tokenizer", tokenizerDir]]) {
    if (folder === undefined) continue;
    for (const file of DECIDING_FILES) {
      const path = join(folder, file);
      if (!(await pathExists(path))) continue;
      hash.update(`${label} ${file} `);
      hash.update(await Deno.readFile(path));
      hash.update("\n");
    }
  }
  return hash.digest("hex");
}
