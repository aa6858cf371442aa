/**
 * What the `clipbench` block (src/results/provenance.ts) takes from a live run: the loaded model's
 * fingerprint and files (and, for a converted checkpoint, the checkpoint's weight hashes, from the
 * `clipbench_conversion.json` the converter writes), and the runtime.
 *
 * @module
 */

import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { CONVERSION_RECORD, type ConversionRecord } from "../convert/convert.ts";
import { jpegDecoderDescription } from "../image/decode/jpeg_decoder.ts";
import { fileContentHashes } from "../model/file_hashes.ts";
import type { ClipModel } from "../model/model.ts";
import { pathExists } from "../io/path_exists.ts";
import { modelFingerprint } from "./partial/fingerprint.ts";
import {
  type ConversionProvenance,
  type ModelProvenance,
  modelProvenanceOf,
  type RuntimeInfo,
} from "./provenance.ts";

/**
 * The checkpoint a converted model folder came from, with its weight files' SHA-256 (`null` for
 * a file no longer at the converted path), or `undefined` for a folder that was not converted.
 */
export async function conversionProvenance(
  modelDir: string,
  cacheDir: string,
): Promise<ConversionProvenance | undefined> {
  let record: ConversionRecord;
  try {
    record = JSON.parse(await Deno.readTextFile(join(modelDir, CONVERSION_RECORD)));
  } catch {
    return undefined;
  }
  const weights: Record<string, string | null> = {};
  for (const name of record.weights ?? []) {
    const path = join(record.source, name);
    weights[name] = await pathExists(path) ? (await fileContentHashes([path], cacheDir))[0] : null;
  }
  return {
    source: record.source,
    architecture: record.architecture,
    converter_version: record.converter_version,
    weights,
  };
}

/**
 * The model fingerprint of a loaded model (src/results/partial/fingerprint.ts) and the block's
 * `model` part built from it.
 *
 * @param identity The model as given, and the name its results are filed under.
 * @param cacheDir Where file hashes are remembered.
 */
export async function loadedModelProvenance(
  model: ClipModel,
  identity: { given: string | null; name: string },
  cacheDir: string,
): Promise<{ fingerprint: Record<string, unknown>; provenance: ModelProvenance }> {
  const fingerprint = await modelFingerprint(model, cacheDir);
  const convertedFrom = await conversionProvenance(model.dir, cacheDir);
  return {
    fingerprint,
    provenance: modelProvenanceOf(fingerprint, { ...identity, convertedFrom }),
  };
}

/**
 * The runtime of this process, with the execution provider and thread count asked for, and the
 * JPEG decoder this process (and so each of its decode workers) chooses.
 */
export async function runtimeInfo(
  executionProvider: string,
  threads: number,
): Promise<RuntimeInfo> {
  return {
    deno: Deno.version.deno,
    onnxruntime_node: ort.env.versions.node ?? ort.env.versions.common,
    execution_provider: executionProvider,
    threads,
    cores: navigator.hardwareConcurrency,
    jpeg_decoder: await jpegDecoderDescription(),
  };
}
