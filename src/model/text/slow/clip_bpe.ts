/**
 * CLIP's byte-level BPE tokenizer as `tokenizer.json`, built from the slow `CLIPTokenizer` files
 * (`vocab.json`, `merges.txt`, optional `tokenizer_config.json`) the way transformers'
 * `CLIPConverter` builds it:
 *
 * - model: BPE over `vocab.json`'s ids with the merges of `merges.txt` (its first line, the
 *   `#version` header, skipped and at most 48,894 merges kept, as `CLIPTokenizer` reads it),
 *   end-of-word suffix `</w>`, `unk_token` from the config (default `<|endoftext|>`);
 * - normaliser: NFC, whitespace runs to one space, lowercase;
 * - pre-tokeniser: CLIP's split pattern (contractions, letter runs, single digits, other symbol
 *   runs; transformers 4.x also lists the two special tokens first), then byte-level mapping;
 * - post-processor: `RobertaProcessing` with `<|startoftext|>` before and `<|endoftext|>` after;
 * - decoder: byte-level.
 *
 * @module
 */

import { ModelError } from "../../../errors.ts";
import { parseJsonObject } from "../../json_file.ts";
import {
  type AddedTokenEntry,
  addedTokensDecoder,
  checkTokenizerClass,
  configToken,
} from "./special_tokens.ts";

/** How many merges `CLIPTokenizer` keeps from `merges.txt` (49152 − 256 − 2). */
export const CLIP_MAX_MERGES = 49152 - 256 - 2;

/** CLIP's pre-tokenisation pattern as transformers 4.x's `CLIPConverter` writes it. */
export const CLIP_SPLIT_PATTERN =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|" +
  "[^\\s\\p{L}\\p{N}]+";

const CLIP_CLASSES = ["CLIPTokenizer", "CLIPTokenizerFast"];

/** Parses `vocab.json` (`text`, read from `path`): an object of token → non-negative id. */
export function parseBpeVocab(text: string, path: string): Map<string, number> {
  const value = parseJsonObject(text, path, "a JSON object of token → id");
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(value)) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
      throw new ModelError(
        `${path}: the id of token ${JSON.stringify(token)} must be a non-negative integer, ` +
          `got ${JSON.stringify(id)}`,
        { path },
      );
    }
    vocab.set(token, id);
  }
  return vocab;
}

/**
 * Parses `merges.txt` (`text`, read from `path`) as `CLIPTokenizer` does: the stripped text's
 * lines after the first, at most {@linkcode CLIP_MAX_MERGES}, each exactly two tokens separated
 * by whitespace. Returns the merges as `"left right"` strings.
 */
export function parseClipMerges(text: string, path: string): string[] {
  const lines = text.trim().split("\n").slice(1, 1 + CLIP_MAX_MERGES);
  return lines.map((line, index) => {
    const parts = line.trim().split(/\s+/u).filter((part) => part !== "");
    if (parts.length !== 2) {
      throw new ModelError(
        `${path}: line ${index + 2} must hold two tokens separated by a space, got ` +
          JSON.stringify(line),
        { path },
      );
    }
    return `${parts[0]} ${parts[1]}`;
  });
}

function tokenId(vocab: Map<string, number>, token: string, what: string, path: string): number {
  const id = vocab.get(token);
  if (id === undefined) {
    throw new ModelError(`${path} has no ${what} ${JSON.stringify(token)}`, { path });
  }
  return id;
}

/** Inputs of {@linkcode clipTokenizerJson}. */
export interface ClipSlowFiles {
  /** Content of `vocab.json`. */
  readonly vocabText: string;
  /** Path of `vocab.json` (for messages). */
  readonly vocabPath: string;
  /** Content of `merges.txt`. */
  readonly mergesText: string;
  /** Path of `merges.txt` (for messages). */
  readonly mergesPath: string;
  /** Parsed `tokenizer_config.json` (`{}` when absent). */
  readonly config: Record<string, unknown>;
  /** Path of `tokenizer_config.json` (for messages). */
  readonly configPath: string;
}

/** Builds CLIP's `tokenizer.json` object from the slow `CLIPTokenizer` files. */
export function clipTokenizerJson(files: ClipSlowFiles): Record<string, unknown> {
  const { config, configPath, vocabPath } = files;
  checkTokenizerClass(config, CLIP_CLASSES, configPath, "vocab.json + merges.txt");
  const vocab = parseBpeVocab(files.vocabText, vocabPath);
  const merges = parseClipMerges(files.mergesText, files.mergesPath);
  const bos = configToken(config, "bos_token", "<|startoftext|>", configPath);
  const eos = configToken(config, "eos_token", "<|endoftext|>", configPath);
  const unk = configToken(config, "unk_token", "<|endoftext|>", configPath);
  const pad = configToken(config, "pad_token", "<|endoftext|>", configPath);
  if (bos === undefined || eos === undefined || unk === undefined) {
    throw new ModelError(`${configPath}: bos_token, eos_token and unk_token must not be null`, {
      path: configPath,
    });
  }
  const bosId = tokenId(vocab, bos.content, "bos_token", vocabPath);
  const eosId = tokenId(vocab, eos.content, "eos_token", vocabPath);
  tokenId(vocab, unk.content, "unk_token", vocabPath);

  let addedTokens = addedTokensDecoder(config, configPath);
  if (addedTokens === undefined) {
    // Legacy configs (no added_tokens_decoder): the layout of OpenAI's published CLIP
    // tokenizer.json, <|startoftext|> matched after normalisation, <|endoftext|> before it.
    const entries = new Map<string, AddedTokenEntry>();
    const add = (content: string, normalized: boolean) => {
      if (entries.has(content)) return;
      const id = tokenId(vocab, content, "special token", vocabPath);
      entries.set(content, {
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized,
        special: true,
      });
    };
    add(bos.content, bos.normalized ?? true);
    add(eos.content, false);
    add(unk.content, false);
    if (pad !== undefined) add(pad.content, false);
    addedTokens = [...entries.values()].sort((a, b) => a.id - b.id);
  }

  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "NFC" },
        { type: "Replace", pattern: { Regex: "\\s+" }, content: " " },
        { type: "Lowercase" },
      ],
    },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: { Regex: CLIP_SPLIT_PATTERN },
          behavior: "Removed",
          invert: true,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: "RobertaProcessing",
      sep: [eos.content, eosId],
      cls: [bos.content, bosId],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: unk.content,
      continuing_subword_prefix: "",
      end_of_word_suffix: "</w>",
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}
