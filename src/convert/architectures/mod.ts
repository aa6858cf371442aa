/**
 * The checkpoint architectures clipbench converts, and how a checkpoint folder names its own:
 * `open_clip_config.json` → open_clip's `CLIP`; else `config.json`'s `model_type` (`clip`,
 * `chinese_clip`, `siglip`).
 *
 * @module
 */

import { join } from "node:path";
import { ModelError } from "../../errors.ts";
import { pathExists } from "../../io/path_exists.ts";
import type { Architecture } from "../architecture.ts";
import { chineseClipArchitecture } from "./chinese_clip.ts";
import { clipArchitecture } from "./clip.ts";
import { openClipArchitecture } from "./open_clip.ts";
import { siglipArchitecture } from "./siglip.ts";

/** transformers architectures by `model_type`. */
const BY_MODEL_TYPE: ReadonlyMap<string, Architecture> = new Map(
  [clipArchitecture, chineseClipArchitecture, siglipArchitecture].map((a) => [a.name, a]),
);

/** open_clip's config file in its hub layout. */
export const OPEN_CLIP_CONFIG = "open_clip_config.json";

/** A checkpoint folder's architecture and its parsed config. */
export interface DetectedArchitecture {
  /** How to build its graphs. */
  readonly architecture: Architecture;
  /** The parsed config file. */
  readonly config: Record<string, unknown>;
  /** The config file's path. */
  readonly configPath: string;
}

/**
 * The architecture of the checkpoint in `folder`, from its config file.
 *
 * @throws {ModelError} naming the file when there is no config, it is not a JSON object, or its
 *   `model_type` is not one clipbench converts.
 */
export async function detectArchitecture(folder: string): Promise<DetectedArchitecture> {
  const openClipPath = join(folder, OPEN_CLIP_CONFIG);
  if (await pathExists(openClipPath)) {
    return {
      architecture: openClipArchitecture,
      config: await readConfig(openClipPath),
      configPath: openClipPath,
    };
  }
  const configPath = join(folder, "config.json");
  if (!(await pathExists(configPath))) {
    throw new ModelError(
      `${folder}: no config.json or ${OPEN_CLIP_CONFIG} to say which architecture the weights are`,
      { path: configPath },
    );
  }
  const config = await readConfig(configPath);
  const modelType = config.model_type;
  const architecture = typeof modelType === "string" ? BY_MODEL_TYPE.get(modelType) : undefined;
  if (architecture === undefined) {
    throw new ModelError(
      `${configPath}: model_type ${JSON.stringify(modelType)} cannot be converted (clipbench ` +
        `converts ${[...BY_MODEL_TYPE.keys()].join(", ")} and open_clip checkpoints)`,
      { path: configPath },
    );
  }
  return { architecture, config, configPath };
}

async function readConfig(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new ModelError(`${path}: ${(error as Error).message}`, { path, cause: error });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ModelError(`${path} must hold a JSON object`, { path });
  }
  return value as Record<string, unknown>;
}
