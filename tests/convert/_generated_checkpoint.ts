/**
 * Tiny checkpoints for the conversion tests, made by the model generator: a transformers
 * `CLIPModel` folder (`model.safetensors`, config, processor and tokenizer files) and, for
 * comparison, the ONNX model folder of the same weights.
 *
 * @module
 */

import { join } from "node:path";
import { generateClipModel } from "../../tools/generate_clip_model.ts";
import { CLIP_PRESETS } from "../../tools/clip_model/presets.ts";

/** Writes the tiny preset's checkpoint (seed `seed`) into `folder`; returns `folder`. */
export async function tinyCheckpoint(folder: string, seed = 0): Promise<string> {
  await generateClipModel({ out: folder, shape: CLIP_PRESETS.tiny, seed, format: "safetensors" });
  return folder;
}

/** Writes the tiny preset's ONNX model folder (seed `seed`) into `folder`; returns `folder`. */
export async function tinyOnnxModel(folder: string, seed = 0): Promise<string> {
  await generateClipModel({ out: folder, shape: CLIP_PRESETS.tiny, seed });
  return folder;
}

/** Runs `body` in a fresh temporary folder, removed afterwards. */
export async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "clipbench_convert_" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The entries of `folder`, sorted. */
export async function entries(folder: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name).sort();
}

/** `folder/name`. */
export const at = join;
