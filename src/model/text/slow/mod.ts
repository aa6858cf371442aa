/**
 * `tokenizer.json` for checkpoints that carry only slow-tokenizer files, built as transformers'
 * slow→fast converters build it, so that clipbench's `tokenizer.json` path gives transformers'
 * ids:
 *
 * - `vocab.json` + `merges.txt`: CLIP's byte-level BPE (`CLIPConverter`), see `clip_bpe.ts`;
 * - `vocab.txt`: BERT WordPiece, e.g. Chinese-CLIP (`BertConverter`), see `wordpiece.ts`;
 * - `spiece.model`: SigLIP's SentencePiece unigram with `SiglipTokenizer`'s text
 *   canonicalisation, see `siglip.ts`.
 *
 * `tokenizer_config.json`, when present, supplies the special tokens and options. When a folder
 * has files of several kinds, the first kind in the order above is used.
 *
 * @module
 */

import { ModelError } from "../../../errors.ts";
import { clipTokenizerJson } from "./clip_bpe.ts";
import { readJsonObject } from "../../json_file.ts";
import { exists, readOptionalBytes, readOptionalText } from "./files.ts";
import { parseSentencePieceModel } from "./sentencepiece_model.ts";
import { siglipTokenizerJson } from "./siglip.ts";
import { bertTokenizerJson } from "./wordpiece.ts";

/** The kinds of slow tokenizer this module builds from. */
export type SlowTokenizerKind = "clip_bpe" | "wordpiece" | "sentencepiece";

/** The files each kind is built from (besides the optional `tokenizer_config.json`). */
const KIND_FILES: ReadonlyArray<readonly [SlowTokenizerKind, readonly string[]]> = [
  ["clip_bpe", ["vocab.json", "merges.txt"]],
  ["wordpiece", ["vocab.txt"]],
  ["sentencepiece", ["spiece.model"]],
];

/** Name of the optional configuration file read with every kind. */
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

async function detectKind(
  folder: string,
): Promise<{ kind: SlowTokenizerKind; files: readonly string[] } | undefined> {
  for (const [kind, files] of KIND_FILES) {
    const present = await Promise.all(files.map((name) => exists(`${folder}/${name}`)));
    if (present.every(Boolean)) return { kind, files };
    if (kind === "clip_bpe" && present.some(Boolean)) {
      const missing = files.filter((_, i) => !present[i]);
      throw new ModelError(
        `${folder}: has ${files.filter((_, i) => present[i]).join(", ")} but no ` +
          `${missing.join(", ")}; a CLIP BPE tokenizer needs both vocab.json and merges.txt`,
        { path: `${folder}/${missing[0]}` },
      );
    }
  }
  return undefined;
}

/**
 * The slow-tokenizer files of `folder` that {@linkcode tokenizerJsonFromSlowFiles} reads, as
 * file names in the folder (the tokenizer's files, then `tokenizer_config.json` when present);
 * `[]` when the folder has none of the supported kinds.
 */
export async function slowTokenizerFiles(folder: string): Promise<string[]> {
  const detected = await detectKind(folder);
  if (detected === undefined) return [];
  const names = [...detected.files];
  if (await exists(`${folder}/${TOKENIZER_CONFIG_FILE}`)) names.push(TOKENIZER_CONFIG_FILE);
  return names;
}

/**
 * Builds the `tokenizer.json` object (Hugging Face `tokenizers` format) from the slow-tokenizer
 * files of `folder`, or returns `undefined` when it has none of `vocab.json` + `merges.txt`,
 * `vocab.txt` or `spiece.model`. Unreadable or malformed files and unsupported options throw a
 * {@linkcode ModelError} naming the file and the option.
 */
export async function tokenizerJsonFromSlowFiles(
  folder: string,
): Promise<Record<string, unknown> | undefined> {
  const detected = await detectKind(folder);
  if (detected === undefined) return undefined;
  const configPath = `${folder}/${TOKENIZER_CONFIG_FILE}`;
  const config = await readJsonObject(configPath, { optional: true }) ?? {};
  const read = async (name: string) => {
    const path = `${folder}/${name}`;
    const text = await readOptionalText(path);
    if (text === undefined) throw new ModelError(`${path} disappeared while reading`, { path });
    return { path, text };
  };
  switch (detected.kind) {
    case "clip_bpe": {
      const vocab = await read("vocab.json");
      const merges = await read("merges.txt");
      return clipTokenizerJson({
        vocabText: vocab.text,
        vocabPath: vocab.path,
        mergesText: merges.text,
        mergesPath: merges.path,
        config,
        configPath,
      });
    }
    case "wordpiece": {
      const vocab = await read("vocab.txt");
      return bertTokenizerJson({
        vocabText: vocab.text,
        vocabPath: vocab.path,
        config,
        configPath,
      });
    }
    case "sentencepiece": {
      const modelPath = `${folder}/spiece.model`;
      const bytes = await readOptionalBytes(modelPath);
      if (bytes === undefined) {
        throw new ModelError(`${modelPath} disappeared while reading`, { path: modelPath });
      }
      const model = parseSentencePieceModel(bytes, modelPath);
      return siglipTokenizerJson({ model, modelPath, config, configPath });
    }
  }
}
