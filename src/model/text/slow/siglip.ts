/**
 * SigLIP's tokenizer as `tokenizer.json`, built from a SentencePiece `spiece.model` (and an
 * optional `tokenizer_config.json`) so that its ids equal those of transformers' slow
 * `SiglipTokenizer`, which has no slow→fast converter of its own. `SiglipTokenizer` tokenises a
 * text as follows, and the pipeline here does the same steps in the same order:
 *
 * 1. U+2581 (SentencePiece's space symbol) in the text becomes a space; the text is lowercased
 *    (`do_lower_case`, default true) → `Replace`, `Lowercase` normalisers;
 * 2. `canonicalize_text`: Python's `string.punctuation` (the 32 ASCII punctuation characters) is
 *    removed, each run of Python whitespace (`\s`, i.e. `str.isspace` characters) becomes one
 *    space, the text is stripped → `Replace` normalisers with an explicit Python-whitespace class;
 * 3. SentencePiece encodes `"<unk>" + "▁" + text` with `add_dummy_prefix` off, and the pieces of
 *    `"<unk>"` are dropped. SentencePiece's normaliser maps the text with the model's compiled
 *    character map (`nmt_nfkc`: NFKC, control characters removed, U+2581 and other spaces to a
 *    space), then drops leading, trailing and repeated spaces and writes spaces as U+2581; so an
 *    empty text gives no piece, and any other text starts with exactly one U+2581 →
 *    `Precompiled` normaliser, `Replace` of repeated and outer spaces, and a `Metaspace`
 *    pre-tokeniser that prepends U+2581 to the first section only (like `"▁" + text`: a text
 *    after a special token gets none);
 * 4. the unigram model's best segmentation (Viterbi; unknown characters score the lowest piece
 *    score minus 10, runs of them fuse into one `<unk>`) → `Unigram` model over all pieces;
 * 5. `</s>` is appended → `TemplateProcessing` `$A </s>`. The pad token (`pad_token`, default
 *    `</s>`) is recorded in `padding.pad_id`.
 *
 * Known limits: tokenizers.js applies its own fixed approximation of `nmt_nfkc` for any
 * `Precompiled` map (Rust `tokenizers` applies the map itself); sentencepiece never matches
 * control or unused pieces inside text while the `Unigram` model of `tokenizer.json` can (after
 * step 2 removed `<`, `>` and `/`, control pieces such as `</s>` cannot occur in text). Models
 * that are not unigram, use byte fallback, suffix whitespace or keep extra whitespace, or have a
 * normaliser other than `nmt_nfkc`, `nfkc` or `identity`, are refused by name.
 *
 * @module
 */

import { ModelError } from "../../../errors.ts";
import {
  PieceType,
  type SentencePieceModel,
  SentencePieceModelType,
} from "./sentencepiece_model.ts";
import { type AddedTokenEntry, checkTokenizerClass, configToken } from "./special_tokens.ts";

/** SentencePiece's space symbol, U+2581. */
export const SPIECE_UNDERLINE = "\u2581";

/** Python's `string.punctuation` as a regular-expression character class. */
export const ASCII_PUNCTUATION_CLASS = "[!-/:-@\\[-`{-~]";

/**
 * One or more characters that Python's `re` matches with `\s` in a `str` pattern (those for
 * which `str.isspace()` is true), written out so that every regex engine agrees.
 */
export const PYTHON_WHITESPACE_RUN =
  "[\t-\r\u001c- \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+";

const SIGLIP_CLASSES = ["SiglipTokenizer", "SiglipTokenizerFast"];
const PRECOMPILED_NORMALIZERS = ["nmt_nfkc", "nfkc"];

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Inputs of {@linkcode siglipTokenizerJson}. */
export interface SiglipSlowFiles {
  /** The decoded `spiece.model`. */
  readonly model: SentencePieceModel;
  /** Path of `spiece.model` (for messages). */
  readonly modelPath: string;
  /** Parsed `tokenizer_config.json` (`{}` when absent). */
  readonly config: Record<string, unknown>;
  /** Path of `tokenizer_config.json` (for messages). */
  readonly configPath: string;
}

/** Checks the SentencePiece settings this pipeline reproduces; refuses others by name. */
function checkModel(model: SentencePieceModel, path: string): void {
  const { trainerSpec, normalizerSpec } = model;
  const refuse = (option: string, value: unknown, why: string) => {
    throw new ModelError(
      `${path}: ${option} = ${JSON.stringify(value)} is not supported (${why})`,
      { path },
    );
  };
  if (trainerSpec.modelType !== SentencePieceModelType.Unigram) {
    const name = SentencePieceModelType[trainerSpec.modelType] ?? trainerSpec.modelType;
    refuse("trainer_spec.model_type", name, "SigLIP's tokenizer is a unigram model");
  }
  if (trainerSpec.byteFallback) refuse("trainer_spec.byte_fallback", true, "no byte pieces");
  if (trainerSpec.treatWhitespaceAsSuffix) {
    refuse("trainer_spec.treat_whitespace_as_suffix", true, "U+2581 must start pieces");
  }
  if (!normalizerSpec.escapeWhitespaces) {
    refuse("normalizer_spec.escape_whitespaces", false, "spaces must become U+2581");
  }
  if (!normalizerSpec.removeExtraWhitespaces) {
    refuse("normalizer_spec.remove_extra_whitespaces", false, "extra spaces must be removed");
  }
  if (
    normalizerSpec.precompiledCharsmap.length > 0 &&
    !PRECOMPILED_NORMALIZERS.includes(normalizerSpec.name)
  ) {
    refuse("normalizer_spec.name", normalizerSpec.name, "supported: nmt_nfkc, nfkc, identity");
  }
  const unkId = trainerSpec.unkId;
  if (!(unkId >= 0 && unkId < model.pieces.length)) {
    refuse("trainer_spec.unk_id", unkId, `there are ${model.pieces.length} pieces`);
  }
}

/**
 * Builds the `tokenizer.json` object that reproduces `SiglipTokenizer` from a decoded
 * `spiece.model` and `tokenizer_config.json`.
 */
export function siglipTokenizerJson(files: SiglipSlowFiles): Record<string, unknown> {
  const { model, modelPath, config, configPath } = files;
  checkTokenizerClass(config, SIGLIP_CLASSES, configPath, "spiece.model");
  checkModel(model, modelPath);

  const lowercase = config.do_lower_case ?? true;
  if (typeof lowercase !== "boolean") {
    throw new ModelError(
      `${configPath}: do_lower_case must be true or false, got ${JSON.stringify(lowercase)}`,
      { path: configPath },
    );
  }
  const ids = new Map<string, number>();
  model.pieces.forEach(({ piece }, id) => {
    if (!ids.has(piece)) ids.set(piece, id);
  });
  const lookUp = (token: { content: string; lstrip?: boolean; rstrip?: boolean }, key: string) => {
    const id = ids.get(token.content);
    if (id === undefined) {
      throw new ModelError(
        `${modelPath} has no piece for ${key} ${JSON.stringify(token.content)}`,
        {
          path: modelPath,
        },
      );
    }
    return { content: token.content, id, lstrip: token.lstrip, rstrip: token.rstrip };
  };
  const special = (key: string, fallback: string) => {
    const token = configToken(config, key, fallback, configPath);
    if (token === undefined) {
      throw new ModelError(`${configPath}: ${key} must not be null`, { path: configPath });
    }
    return lookUp(token, key);
  };
  const eos = special("eos_token", "</s>");
  const unk = special("unk_token", "<unk>");
  const pad = special("pad_token", "</s>");

  // The slow tokenizer's special tokens (SiglipTokenizer makes them strip whitespace on both
  // sides) are matched in the raw text; user-defined pieces, which sentencepiece matches inside
  // the normalised text, are matched there.
  const added = new Map<number, AddedTokenEntry>();
  model.pieces.forEach(({ piece, type }, id) => {
    if (type !== PieceType.UserDefined) return;
    added.set(id, {
      id,
      content: piece,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: false,
    });
  });
  const specials = [eos, unk, pad];
  const extra = config.additional_special_tokens ?? [];
  if (!Array.isArray(extra)) {
    throw new ModelError(`${configPath}: additional_special_tokens must be a list`, {
      path: configPath,
    });
  }
  extra.forEach((entry, index) => {
    const key = `additional_special_tokens[${index}]`;
    const token = configToken({ [key]: entry }, key, undefined, configPath);
    if (token !== undefined) specials.push(lookUp(token, key));
  });
  for (const token of specials) {
    added.set(token.id, {
      id: token.id,
      content: token.content,
      single_word: false,
      lstrip: token.lstrip ?? true,
      rstrip: token.rstrip ?? true,
      normalized: false,
      special: true,
    });
  }

  const normalizers: Record<string, unknown>[] = [
    { type: "Replace", pattern: { String: SPIECE_UNDERLINE }, content: " " },
  ];
  if (lowercase) normalizers.push({ type: "Lowercase" });
  normalizers.push(
    { type: "Replace", pattern: { Regex: ASCII_PUNCTUATION_CLASS }, content: "" },
    { type: "Replace", pattern: { Regex: PYTHON_WHITESPACE_RUN }, content: " " },
  );
  const charsmap = model.normalizerSpec.precompiledCharsmap;
  if (charsmap.length > 0) {
    normalizers.push({ type: "Precompiled", precompiled_charsmap: base64(charsmap) });
  }
  normalizers.push(
    { type: "Replace", pattern: { Regex: " {2,}" }, content: " " },
    { type: "Replace", pattern: { Regex: "^ | $" }, content: "" },
  );

  return {
    version: "1.0",
    truncation: null,
    padding: {
      strategy: "BatchLongest",
      direction: "Right",
      pad_to_multiple_of: null,
      pad_id: pad.id,
      pad_type_id: 0,
      pad_token: pad.content,
    },
    added_tokens: [...added.values()].sort((a, b) => a.id - b.id),
    normalizer: { type: "Sequence", normalizers },
    pre_tokenizer: {
      type: "Metaspace",
      replacement: SPIECE_UNDERLINE,
      prepend_scheme: "first",
      split: false,
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: eos.content, type_id: 0 } },
      ],
      pair: [
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: eos.content, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: eos.content, type_id: 1 } },
      ],
      special_tokens: {
        [eos.content]: { id: eos.content, ids: [eos.id], tokens: [eos.content] },
      },
    },
    decoder: {
      type: "Metaspace",
      replacement: SPIECE_UNDERLINE,
      prepend_scheme: "first",
      split: false,
    },
    model: {
      type: "Unigram",
      unk_id: model.trainerSpec.unkId,
      vocab: model.pieces.map(({ piece, score }) => [piece, score]),
      byte_fallback: false,
    },
  };
}
